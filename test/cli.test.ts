// The CLI as a user runs it: text on stdout, diagnostics on stderr, errors as one readable line.
import t from 'tap';
import { cli, defaultModel } from './helpers.js';

t.test('run with no arguments uses the embedded model', (t) => {
  const r = cli(['-n', '12']);
  t.equal(r.status, 0, r.stderr);
  t.ok(r.stdout.trim().length > 0, 'prints generated text');
  t.match(r.stderr, /model: .*rosenblatt-tiny-qwen2-q4_k_m\.gguf/, 'names the model');
  t.match(r.stderr, /generated 12 tokens/);
  t.end();
});

t.test('greedy run is deterministic and echoes a raw prompt', (t) => {
  const a = cli(['run', '-m', defaultModel, '--no-chat', '-p', 'Open drivers', '-n', '10']);
  const b = cli(['run', '-m', defaultModel, '--no-chat', '-p', 'Open drivers', '-n', '10']);
  t.equal(a.status, 0, a.stderr);
  t.ok(a.stdout.startsWith('Open drivers'), 'raw prompt echoed');
  t.equal(a.stdout, b.stdout, 'same text twice');
  t.end();
});

t.test('devices', (t) => {
  const r = cli(['devices', '--json']);
  t.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.equal(j.plugin, 'RKNPU');
  t.ok(j.registries.some((x: { name: string }) => x.name === 'RKNPU'));
  t.ok(j.devices.some((d: { type: string }) => d.type === 'CPU'));
  t.end();
});

t.test('errors are one readable line, no stack', (t) => {
  const missing = cli(['-m', '/nonexistent/model.gguf']);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /rosenblatt-dl: error: model file not found: \/nonexistent\/model\.gguf/);
  t.notMatch(missing.stderr, /\n\s+at /, 'no stack trace');
  const plugin = cli(['--backend', '/nonexistent/libggml-rknpu.so', '-n', '1']);
  t.equal(plugin.status, 1);
  t.match(plugin.stderr, /backend plugin not found/);
  const usage = cli(['frobnicate']);
  t.equal(usage.status, 1);
  t.end();
});
