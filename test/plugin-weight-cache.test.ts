// The on-disk cache of converted NPU weights on the software NPU: the second load reads every NPU copy from the
// cache and generates the same text, a truncated entry is detected and rebuilt, a changed model file does not
// hit stale entries, the size cap holds, and RKNPU_WEIGHT_CACHE=off writes nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { completion, e2eModel, pluginPath, tool } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-wcache-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

const prompt = 'The kernel is responsible for managing the memory of the system and the processes that run on it.';
const run = (model: string, env: Record<string, string>) =>
  completion(['-m', model, '-no-cnv', '-p', prompt, '-n', '8', '--temp', '0', '-t', '2', '-v'], {
    GGML_BACKEND_PATH: pluginPath(),
    RKNPU_DEVICE: 'sim',
    ...env,
  });
const count = (stderr: string, re: RegExp) => (stderr.match(new RegExp(re, 'g')) ?? []).length;
const stored = (s: string) => count(s, /RKNPU: \S+: NPU copy converted and cached/);
const hits = (s: string) => count(s, /RKNPU: \S+: NPU copy read from the weight cache/);
const entries = (dir: string) =>
  fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.npuw')) : ([] as string[]);
const dirBytes = (dir: string) => entries(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);

t.test('second load: every NPU copy from the cache, the same text; a truncated entry is rebuilt', (t) => {
  const dir = path.join(tmp, 'c1');
  const first = run(e2eModel(), { RKNPU_WEIGHT_CACHE: dir });
  t.equal(first.status, 0, first.stderr.slice(-400));
  const n = stored(first.stderr);
  t.ok(n > 0 && hits(first.stderr) === 0, `first load: ${n} weights converted and cached`);
  t.equal(entries(dir).length, n, 'one file per weight');
  t.same(
    fs.readdirSync(dir).filter((f) => f.includes('.tmp')),
    [],
    'no temporary files left',
  );

  const second = run(e2eModel(), { RKNPU_WEIGHT_CACHE: dir });
  t.equal(second.status, 0, second.stderr.slice(-400));
  t.equal(hits(second.stderr), n, 'second load: all read from the cache');
  t.equal(stored(second.stderr), 0, 'nothing converted');
  t.equal(second.stdout, first.stdout, 'the same text');

  const victim = entries(dir)
    .map((f) => path.join(dir, f))
    .sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0];
  const size = fs.statSync(victim).size;
  fs.truncateSync(victim, Math.floor(size / 2));
  const third = run(e2eModel(), { RKNPU_WEIGHT_CACHE: dir });
  t.equal(third.status, 0, third.stderr.slice(-400));
  t.match(
    third.stderr,
    /weight cache entry \S+ of \S+ unusable \(.*truncated or corrupt.*\): removed, converting again/,
  );
  t.ok(stored(third.stderr) === 1 && hits(third.stderr) === n - 1, 'that one converted again, the others read');
  t.equal(fs.statSync(victim).size, size, 'and written whole again');
  t.equal(third.stdout, first.stdout, 'the same text');
  t.end();
});

t.test('a changed model file (same path) does not use stale entries', (t) => {
  const dir = path.join(tmp, 'c2');
  const model = path.join(tmp, 'model.gguf');
  fs.copyFileSync(e2eModel(), model);
  const first = run(model, { RKNPU_WEIGHT_CACHE: dir });
  t.equal(first.status, 0, first.stderr.slice(-400));
  const n = stored(first.stderr);
  // The same path, other bytes: requantized to Q5_0 (its weights change type and bytes).
  const q = tool('llama-quantize', ['--allow-requantize', e2eModel(), model, 'Q5_0']);
  t.equal(q.status, 0, q.stderr.slice(-400));
  const changed = run(model, { RKNPU_WEIGHT_CACHE: dir });
  t.equal(changed.status, 0, changed.stderr.slice(-400));
  const conv = stored(changed.stderr);
  // A tensor the requantization leaves byte for byte as it was may hit: its NPU copy is the same.
  t.ok(conv >= n - 1 && conv + hits(changed.stderr) === n, `changed weights converted (${conv} of ${n})`);
  const cpu = run(model, { RKNPU_DEVICE: 'off' });
  t.equal(changed.stdout, cpu.stdout, 'the text equals the CPU run of the new file');
  t.end();
});

t.test('the default directory, the size cap, and the off switch', (t) => {
  const xdg = path.join(tmp, 'xdg');
  const def = path.join(xdg, 'rosenblatt', 'npu-weights');
  const a = run(e2eModel(), { XDG_CACHE_HOME: xdg, RKNPU_WEIGHT_CACHE: '', RKNPU_WEIGHT_CACHE_MAX: '1M' });
  t.equal(a.status, 0, a.stderr.slice(-400));
  t.ok(entries(def).length > 0, 'entries under $XDG_CACHE_HOME/rosenblatt/npu-weights');
  t.ok(dirBytes(def) <= 1 << 20, `at most RKNPU_WEIGHT_CACHE_MAX bytes kept (${dirBytes(def)})`);
  t.match(a.stderr, /weight cache over 1048576 bytes: removed/, 'the least recently used were removed');

  const offXdg = path.join(tmp, 'xdg-off');
  const off = run(e2eModel(), { XDG_CACHE_HOME: offXdg, RKNPU_WEIGHT_CACHE: 'off' });
  t.equal(off.status, 0, off.stderr.slice(-400));
  t.ok(stored(off.stderr) === 0 && hits(off.stderr) === 0, 'off: nothing cached or read');
  t.notOk(fs.existsSync(offXdg), 'off: no cache directory made');
  const bad = run(e2eModel(), { RKNPU_WEIGHT_CACHE_MAX: 'lots' });
  t.match(bad.stderr, /invalid RKNPU_WEIGHT_CACHE_MAX='lots'/, 'an invalid cap is a config error');
  t.end();
});
