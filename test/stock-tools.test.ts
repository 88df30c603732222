// The plugin in the stock tools of the pinned build, loaded through GGML_BACKEND_PATH.
import t from 'tap';
import { defaultModel, pluginPath, tool } from './helpers.js';

const env = () => ({ GGML_BACKEND_PATH: pluginPath() });

t.test('llama-completion loads the plugin and completes', (t) => {
  const r = tool(
    'llama-completion',
    ['-m', defaultModel(), '-no-cnv', '-p', 'hi', '-n', '8', '-t', '2', '--no-warmup'],
    { ...env(), RKNPU_DEVICE: 'auto', RKNPU_ACCEL_DIR: '/nonexistent-accel' },
  );
  t.equal(r.status, 0, r.stderr.slice(-400));
  t.match(r.stderr, /RKNPU: .*no device registered/, 'the plugin says what it found');
  // stdout is not checked: the pinned llama-completion sometimes drops the tail of its log (TODO.md).
  t.end();
});

t.test('llama-cli lists devices with the plugin', (t) => {
  const r = tool('llama-cli', ['--list-devices'], { ...env(), RKNPU_DEVICE: 'sim' });
  t.equal(r.status, 0, r.stderr.slice(-400));
  t.match(r.stderr, /RKNPU: RKNPU0 = RK3588 NPU SOFTWARE SIMULATOR/);
  t.match(r.stdout, /RKNPU0: RK3588 NPU SOFTWARE SIMULATOR/, 'listed');
  t.end();
});

t.test('llama-cli answers a single turn with RKNPU0 on the simulator', (t) => {
  const r = tool(
    'llama-cli',
    [
      '-m',
      defaultModel(),
      '-st',
      '-p',
      'The weights are converted once when the model is loaded',
      '-n',
      '8',
      '-t',
      '2',
    ],
    { ...env(), RKNPU_DEVICE: 'sim' },
  );
  t.equal(r.status, 0, r.stderr.slice(-400));
  t.match(r.stderr, /RKNPU: RKNPU0 = RK3588 NPU SOFTWARE SIMULATOR/);
  t.match(r.stdout, /Prompt: [\d.]+ t\/s \| Generation: [\d.]+ t\/s/, 'a turn was generated');
  t.end();
});

t.test('test-backend-ops sees the registry', (t) => {
  const r = tool('test-backend-ops', ['-o', 'MUL_MAT', '-b', 'RKNPU0'], env());
  t.match(r.stdout + r.stderr, /RKNPU/, 'plugin loaded');
  t.end();
});
