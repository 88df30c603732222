// The CLI as a user runs it: the text on stdout (streamed as it is generated), one summary line on
// stderr (after the simulator line, when the simulator is used for want of an NPU), llama.cpp's log
// only with -v, errors as one readable line, and a non-zero exit whenever something asked for
// explicitly cannot be had.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { binDir, cli, cliPath, defaultModel } from './helpers.js';

const noAccel = { RKNPU_DEVICE: '', RKNPU_ACCEL_DIR: '/nonexistent-accel' };
const SIM_LINE = /^rosenblatt-dl: no NPU on this machine \(\/nonexistent-accel absent\): .*SOFTWARE SIMULATOR/;
const SUMMARY = /^prompt: \d+ tokens in \d+ ms \([\d.]+ tokens\/s\); generated (\d+) tokens at [\d.]+ tokens\/s; (.*)$/;
// Lines llama.cpp and the plugin log while loading a model (shown with -v only).
const LLAMA_LOG = /llama_model_loader: |load_tensors: |RKNPU: RKNPU0 = |load_backend: /;

const lines = (s: string) => s.split('\n').filter((l) => l !== '');

t.test('default output: the text on stdout; the simulator line and one summary line on stderr', (t) => {
  const r = cli(['-n', '12'], noAccel);
  t.equal(r.status, 0, r.stderr);
  t.ok(r.stdout.trim().length > 0, 'prints generated text');
  const err = lines(r.stderr);
  t.equal(err.length, 2, `two lines on stderr:\n${r.stderr}`);
  t.match(err[0], SIM_LINE, 'first: the simulator is used, and why');
  const m = SUMMARY.exec(err[1] ?? '');
  t.ok(m, `then the summary: ${err[1]}`);
  t.equal(m?.[1], '12', 'generated 12 tokens');
  t.match(
    m?.[2] ?? '',
    /^NPU \(SOFTWARE SIMULATOR\): [1-9]\d* matmuls \(\d+ tasks, \d+ jobs\)/,
    'which device ran the NPU work',
  );
  t.notMatch(r.stderr, LLAMA_LOG, 'no llama.cpp or plugin log lines');
  t.end();
});

t.test('-v adds the log of llama.cpp and the plugin; stdout is the same text', (t) => {
  const quiet = cli(['-n', '8'], { RKNPU_DEVICE: 'sim' });
  const loud = cli(['-n', '8', '-v'], { RKNPU_DEVICE: 'sim' });
  t.equal(loud.status, 0, loud.stderr.slice(-500));
  t.equal(lines(quiet.stderr).length, 1, `an explicit RKNPU_DEVICE=sim: only the summary line\n${quiet.stderr}`);
  t.match(quiet.stderr, /NPU \(SOFTWARE SIMULATOR\)/, 'and it says the simulator ran');
  t.equal(loud.stdout, quiet.stdout, 'stdout is only the text');
  t.match(loud.stderr, /RKNPU: RKNPU0 = RK3588 NPU SOFTWARE SIMULATOR/, "the plugin's load line");
  t.match(loud.stderr, /llama_model_loader: /, "llama.cpp's log");
  t.match(loud.stderr, /^loading model \(converting weights for the NPU\): 100%$/m, 'progress, naming the conversion');
  t.match(lines(loud.stderr).pop() ?? '', SUMMARY, 'the summary line last');
  t.end();
});

t.test('without an NPU device there is no weight conversion to announce', (t) => {
  const r = cli(['-n', '4', '-v'], { RKNPU_DEVICE: 'off' });
  t.equal(r.status, 0, r.stderr.slice(-500));
  t.notMatch(r.stderr, /converting weights/);
  t.match(r.stderr, /^loading model: 100%$/m);
  t.match(lines(r.stderr).pop() ?? '', /; no NPU \(RKNPU_DEVICE=off\): all on the CPU$/);
  const cpu = cli(['-n', '4', '--no-backend'], noAccel);
  t.equal(cpu.status, 0, cpu.stderr);
  t.equal(lines(cpu.stderr).length, 1, '--no-backend: no simulator line, only the summary');
  t.match(cpu.stderr, /; CPU only \(--no-backend\)$/m);
  t.end();
});

t.test('greedy run is deterministic and echoes a raw prompt', (t) => {
  const a = cli(['run', '-m', defaultModel(), '--no-chat', '-p', 'Open drivers', '-n', '10']);
  const b = cli(['run', '-m', defaultModel(), '--no-chat', '-p', 'Open drivers', '-n', '10']);
  t.equal(a.status, 0, a.stderr);
  t.ok(a.stdout.startsWith('Open drivers'), 'raw prompt echoed');
  t.equal(a.stdout, b.stdout, 'same text twice');
  t.end();
});

t.test('the text streams to stdout while it is generated', async (t) => {
  const child = spawn(process.execPath, [cliPath, '--no-chat', '-p', 'Stream', '-n', '400'], {
    env: { ...process.env, RKNPU_DEVICE: 'sim' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  // Stop the child as soon as the first generated piece arrives (past the echoed prompt): if the text
  // were written at the end, generation would be over by then and the summary line already written.
  let stopped = false;
  const firstPiece = new Promise<void>((resolve) =>
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!stopped && stdout.length > 'Stream'.length) {
        stopped = child.kill('SIGSTOP');
        resolve();
      }
    }),
  );
  await firstPiece;
  const atStop = stdout.length;
  await new Promise((r) => setTimeout(r, 200));
  t.notMatch(stderr, /generated \d+ tokens/, 'generation is still running when the first piece arrives');
  child.kill('SIGCONT');
  t.equal(await exited, 0, stderr);
  t.ok(stdout.length > atStop, `more text followed (${atStop} then ${stdout.length} bytes)`);
  t.match(stderr, /generated 400 tokens/);
});

t.test('devices', (t) => {
  const r = cli(['devices', '--json'], { RKNPU_DEVICE: 'sim' });
  t.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.equal(j.plugin, 'RKNPU');
  t.same(j.plugin_status, {
    present: true,
    configError: false,
    isSimulator: true,
    reason: '',
    description: j.devices.find((d: { name: string }) => d.name === 'RKNPU0')?.description,
  });
  t.ok(j.devices.some((d: { type: string }) => d.type === 'CPU'));
  t.end();
});

t.test('errors are one readable line, no stack', (t) => {
  const missing = cli(['-m', '/nonexistent/model.gguf'], { RKNPU_DEVICE: 'sim' });
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

// One error line naming the setting, once (the plugin's own log line is not repeated), and no text.
function refused(t: Test, r: ReturnType<typeof cli>, reason: RegExp, what: string) {
  t.equal(r.status, 1, `${what}: exit 1`);
  t.equal(r.stdout, '', `${what}: no text generated`);
  const errs = lines(r.stderr).filter((l) => l.startsWith('rosenblatt-dl: error: '));
  t.equal(errs.length, 1, `${what}: one error line`);
  t.match(errs[0] ?? '', reason, `${what}: the reason`);
  t.equal(lines(r.stderr).filter((l) => reason.test(l)).length, 1, `${what}: said once\n${r.stderr}`);
}

t.test('a setting asked for explicitly that cannot be had: exit 1 with the reason', (t) => {
  refused(
    t,
    cli(['-n', '4'], { RKNPU_DEVICE: 'rocket', RKNPU_ACCEL_DIR: '/nonexistent-accel' }),
    /RKNPU_DEVICE=rocket .*no rocket NPU found/,
    'RKNPU_DEVICE=rocket without a rocket device',
  );
  refused(t, cli(['-n', '4'], { RKNPU_MODE: 'int4' }), /RKNPU_MODE='int4'/, 'invalid RKNPU_MODE');
  for (const v of ['abc', '0', '-8'])
    refused(t, cli(['-n', '4'], { RKNPU_MIN_BATCH: v }), new RegExp(`RKNPU_MIN_BATCH='${v}'`), `RKNPU_MIN_BATCH=${v}`);
  refused(t, cli(['-n', '4'], { RKNPU_CLOCK_MHZ: 'fast' }), /RKNPU_CLOCK_MHZ='fast'/, 'invalid RKNPU_CLOCK_MHZ');
  refused(t, cli(['-n', '4'], { RKNPU_ATTENTION: 'gpu' }), /RKNPU_ATTENTION='gpu'/, 'unknown RKNPU_ATTENTION');
  for (const v of ['1', '9', 'fast'])
    refused(t, cli(['-n', '4'], { RKNPU_PIPELINE: v }), new RegExp(`RKNPU_PIPELINE='${v}'`), `RKNPU_PIPELINE=${v}`);
  refused(t, cli(['-n', '4'], { RKNPU_DEVICE: 'gpu' }), /unknown RKNPU_DEVICE='gpu'/, 'unknown RKNPU_DEVICE');
  // selftest and devices load the plugin the same way
  refused(t, cli(['selftest'], { RKNPU_MODE: 'int4' }), /RKNPU_MODE='int4'/, 'selftest, invalid RKNPU_MODE');
  const dev = cli(['devices'], { RKNPU_DEVICE: 'rocket', RKNPU_ACCEL_DIR: '/nonexistent-accel' });
  t.equal(dev.status, 1, 'devices with RKNPU_DEVICE=rocket and no rocket device: exit 1');
  t.end();
});

t.test('--backend at a file that is not the plugin: exit 1 with the reason', (t) => {
  const cpu = fs.readdirSync(binDir()).find((f) => /^libggml-cpu.*\.so$/.test(f));
  t.ok(cpu, 'the pinned build has a CPU backend library');
  refused(
    t,
    cli(['--backend', path.join(binDir(), cpu!), '-n', '4'], { RKNPU_DEVICE: 'sim' }),
    /is not the Rosenblatt NPU plugin: it is the ggml backend 'CPU', without ggml_backend_rknpu_get_status/,
    'another ggml backend',
  );
  refused(
    t,
    cli(['--backend', path.join(binDir(), 'libllama.so'), '-n', '4'], { RKNPU_DEVICE: 'sim' }),
    /could not load .*libllama\.so as a ggml backend: .*ggml_backend_init/,
    'a library that is no ggml backend',
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-cli-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const text = path.join(dir, 'libggml-rknpu.so');
  fs.writeFileSync(text, 'not a shared library\n');
  refused(
    t,
    cli(['--backend', text, '-n', '4'], { RKNPU_DEVICE: 'sim' }),
    /could not load .*libggml-rknpu\.so as a ggml backend/,
    'a text file',
  );
  t.end();
});
