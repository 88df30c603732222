// rosenblatt-dl selftest: the table over FFI, on the simulator when the machine has no NPU.
import t from 'tap';
import { cli } from './helpers.js';

t.test('selftest passes every built-in case and says it ran on the simulator', (t) => {
  const r = cli(['selftest'], { RKNPU_DEVICE: '', RKNPU_ACCEL_DIR: '/nonexistent-accel' });
  t.equal(r.status, 0, r.stdout.slice(-1500) + r.stderr.slice(-500));
  t.match(r.stderr, /SOFTWARE SIMULATOR/);
  for (const ty of ['f32', 'f16', 'q8_0', 'q4_0', 'q4_K', 'q6_K', 'kq', 'fa'])
    t.match(r.stdout, new RegExp(`^${ty} .* ok$`, 'm'), `${ty} rows`);
  t.match(r.stdout, /^27 passed, 0 failed$/m);
  t.match(r.stdout, /timing MODEL at 200 MHz \(optimistic-pessimistic, fitted to published measurements\)/);
  t.match(r.stdout, /^q4_K .* [0-9.]+-[0-9.]+ .* ok$/m, 'rows carry both MODEL bounds');
  t.end();
});

t.test('selftest --json and --case', (t) => {
  const r = cli(
    ['selftest', '--json', '--case', 'q4_K:512x100x3', '--case', 'f16:64x1x1', '--case', 'fa:256x300x8x8x2'],
    { RKNPU_DEVICE: 'sim' },
  );
  t.equal(r.status, 0, r.stderr.slice(-500));
  const j = JSON.parse(r.stdout);
  t.equal(j.results.length, 3);
  t.ok(j.results.every((x: { ok: boolean; nmse: number }) => x.ok && x.nmse <= j.bound));
  t.ok(
    j.results.every((x: { modelMs200: number[] }) => x.modelMs200[0] > 0 && x.modelMs200[0] <= x.modelMs200[1]),
    'MODEL bounds per case',
  );
  t.end();
});

t.test('selftest without a device is an error, not a CPU run', (t) => {
  const off = cli(['selftest'], { RKNPU_DEVICE: 'off' });
  t.equal(off.status, 1);
  t.match(off.stderr, /selftest runs the NPU, but RKNPU_DEVICE=off asks for none/);
  const auto = cli(['selftest'], { RKNPU_DEVICE: 'auto', RKNPU_ACCEL_DIR: '/nonexistent-accel' });
  t.equal(auto.status, 1);
  t.match(auto.stderr, /no RKNPU0 device: .*no rocket NPU found/);
  t.equal(auto.stdout, '', 'no table');
  t.end();
});
