// MUL_MAT_ID (mixture of experts) on RKNPU0, the simulator, through test-backend-ops: every case the device
// accepts passes against the CPU backend, the rest are declined, none fails. With RKNPU_MIN_BATCH=1 every
// expert that gets a row runs on the NPU; with the default threshold (8 rows per expert) a subset runs with
// experts on both sides of it (the smaller ones on the CPU inside the node). docs/hardware/ggml-backend.md §3.5.
import t from 'tap';
import { pluginPath, tool } from './helpers.js';

// All 943 cases take minutes of CPU (mostly test-backend-ops quantizing its random weights); two workers.
t.setTimeout(30 * 60_000);
const TBO_TIMEOUT_MS = 25 * 60_000;
const sim = () => ({ GGML_BACKEND_PATH: pluginPath(), RKNPU_DEVICE: 'sim' });

function run(env: Record<string, string>, filter: string[] = []) {
  const r = tool('test-backend-ops', ['-o', 'MUL_MAT_ID', '-b', 'RKNPU0', '-j', '2', ...filter], env, TBO_TIMEOUT_MS);
  const m = /(\d+)\/(\d+) tests passed/.exec(r.stdout);
  const lines = r.stdout.split('\n').filter((l) => /^\s*MUL_MAT_ID\(/.test(l));
  return {
    r,
    passed: Number(m?.[1] ?? -1),
    total: Number(m?.[2] ?? -2),
    declined: lines.filter((l) => /not supported/.test(l)),
    failed: lines.filter((l) => /FAIL/.test(l)),
  };
}

t.test('test-backend-ops -o MUL_MAT_ID, RKNPU_MIN_BATCH=1: every accepted case passes', (t) => {
  const x = run({ ...sim(), RKNPU_MIN_BATCH: '1' });
  t.equal(x.r.status, 0, 'exit status 0', { stderr: x.r.stderr.slice(-600) });
  t.same(x.failed, [], 'no case fails');
  t.ok(x.passed === x.total && x.total > 700, `${x.passed}/${x.total} accepted cases pass`);
  // What is declined: 8-bit activations forbidden in int8 mode (the amax = 1e5 cases), or fewer than one
  // row per expert expected (tokens x n_used < n_expert).
  const unexplained = x.declined.filter((l) => {
    const p = /type_a=(\w+),.*n_mats=(\d+),n_used=(\d+),.*,n=(\d+),.*amax=([\d.e+]+)/.exec(l);
    if (!p) return true;
    const [, type, mats, used, n, amax] = p;
    const float = ['f32', 'f16', 'bf16'].includes(type);
    return !(Number(n) * Number(used) < Number(mats) || (!float && Number(amax) > 65504));
  });
  t.same(unexplained, [], `${x.declined.length} declined, each for a stated reason`);
  t.match(x.r.stdout, /Backend RKNPU: .*OK/);
  t.end();
});

t.test('test-backend-ops -o MUL_MAT_ID, default threshold: experts on both sides of it', (t) => {
  const x = run(sim(), ['-p', 'type_a=(q4_K|q8_0|f16),']);
  t.equal(x.r.status, 0, 'exit status 0', { stderr: x.r.stderr.slice(-600) });
  t.same(x.failed, [], 'no case fails');
  t.ok(x.passed === x.total && x.total >= 30, `${x.passed}/${x.total} accepted cases pass`);
  t.end();
});
