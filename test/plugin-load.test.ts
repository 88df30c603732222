// The plugin loads through koffi (ggml_backend_load) and registers the RKNPU registry; without an
// NPU it registers no device and says why; the simulator is only used when asked for, and says so.
// (This file's runtime is on a machine without an NPU and RKNPU_DEVICE unset or auto.)
import t from 'tap';
import { Runtime } from '../ts/lib/llama.js';
import { logSink } from '../ts/lib/log.js';
import { binDir, cli, pluginPath } from './helpers.js';

t.test('load through koffi', (t) => {
  process.env.RKNPU_DEVICE = 'auto';
  const rt = new Runtime({ binDir });
  const echoed: string[] = [];
  logSink.echo = (l) => echoed.push(l);
  t.equal(rt.loadBackend(pluginPath), 'RKNPU', 'registry name');
  rt.init();
  const regs = rt.registries();
  t.ok(
    regs.find((r) => r.name === 'RKNPU'),
    'RKNPU registry listed',
  );
  t.ok(
    regs.find((r) => r.name === 'CPU' && r.devices === 1),
    'CPU registry with one device',
  );
  t.notOk(
    rt.devices().some((d) => d.registry === 'RKNPU'),
    'no RKNPU device on a machine without an NPU',
  );
  t.match(echoed.join(''), /RKNPU: .*no rocket NPU found.*no device registered/, 'the load line says what was found');
  t.throws(
    () => rt.loadBackend('/nonexistent/libggml-rknpu.so'),
    /backend plugin not found/,
    'missing plugin: clear error',
  );
  t.end();
});

t.test('device selection is explicit', (t) => {
  const auto = cli(['devices'], { RKNPU_DEVICE: 'auto', RKNPU_ACCEL_DIR: '/nonexistent-accel' });
  t.equal(auto.status, 0);
  t.match(auto.stderr, /no rocket NPU found \(\/nonexistent-accel/);
  t.notMatch(auto.stderr, /simulator/, 'auto never picks the simulator');
  const sim = cli(['devices'], { RKNPU_DEVICE: 'sim' });
  t.match(sim.stderr, /RKNPU0 = RK3588 NPU SOFTWARE SIMULATOR .*not real hardware/, 'the simulator says so');
  t.match(sim.stdout, /RKNPU0 +ACCEL +RK3588 NPU SOFTWARE SIMULATOR/, 'and is listed as a device');
  const off = cli(['devices'], { RKNPU_DEVICE: 'off' });
  t.match(off.stderr, /RKNPU_DEVICE=off/);
  const bad = cli(['devices'], { RKNPU_DEVICE: 'gpu' });
  t.match(bad.stderr, /unknown RKNPU_DEVICE='gpu'/);
  t.end();
});
