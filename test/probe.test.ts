// rosenblatt-dl probe (Phase-1 milestone) on the software NPU: int8 and fp16, 1 and 3 cores; the
// simulator only when asked for or announced for want of an accel node; never with auto.
import t from 'tap';
import { cli } from './helpers.js';

for (const dtype of ['int8', 'fp16']) {
  for (const cores of [1, 3]) {
    t.test(`probe --sim --dtype ${dtype} --cores ${cores}`, (tt) => {
      const r = cli(['probe', '--sim', '--dtype', dtype, '--cores', String(cores), '--json', '--seed', '7']);
      tt.equal(r.status, 0, r.stderr.slice(-800));
      const j = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
      tt.ok(j.pass ?? j.ok, 'the probe reports a pass');
      tt.match(r.stderr + r.stdout, /SIMULATOR|simulator/i, 'says it ran on the simulator');
      tt.end();
    });
  }
}

t.test('RKNPU_DEVICE=auto without an NPU: a clear error, not the simulator', (tt) => {
  const r = cli(['probe'], { RKNPU_DEVICE: 'auto', RKNPU_ACCEL_DIR: '/nonexistent-accel' });
  tt.not(r.status, 0);
  tt.match(r.stderr, /no rocket NPU/i);
  tt.notMatch(r.stderr, /SIMULATOR/);
  tt.end();
});

t.test('no accel node and no RKNPU_DEVICE: the simulator, said first', (tt) => {
  const r = cli(['probe', '--json'], { RKNPU_DEVICE: '', RKNPU_ACCEL_DIR: '/nonexistent-accel' });
  tt.equal(r.status, 0, r.stderr.slice(-800));
  tt.match(r.stderr.split('\n')[0], /^rosenblatt-dl: no NPU on this machine \(\/nonexistent-accel absent\)/);
  tt.equal(JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}').driver, 'npusim');
  const off = cli(['probe'], { RKNPU_DEVICE: 'off' });
  tt.equal(off.status, 1);
  tt.match(off.stderr, /probe runs the NPU, but RKNPU_DEVICE=off asks for none/);
  tt.end();
});
