// The plugin loads through koffi (ggml_backend_load) and registers the RKNPU registry; without an
// NPU it registers no device and says why; the simulator is only used when asked for, and says so.
// (This file's runtime is on a machine without an NPU: RKNPU_ACCEL_DIR points nowhere.)
import t from 'tap';
import { Runtime } from '../ts/runtime/llama.js';
import { logSink } from '../ts/runtime/log.js';
import { binDir, cli, pluginPath } from './helpers.js';

const noAccel = { RKNPU_ACCEL_DIR: '/nonexistent-accel' };

t.test('load through koffi', (t) => {
  process.env.RKNPU_ACCEL_DIR = noAccel.RKNPU_ACCEL_DIR;
  const rt = new Runtime({ binDir: binDir(), verbose: true });
  const echoed: string[] = [];
  logSink.echo = (l) => echoed.push(l);
  t.throws(
    () => rt.loadPlugin('/nonexistent/libggml-rknpu.so', { device: 'auto' }),
    /backend plugin not found/,
    'missing plugin: clear error',
  );
  const plugin = rt.loadPlugin(pluginPath(), { device: 'auto' });
  t.equal(plugin.registry, 'RKNPU', 'registry name');
  t.equal(process.env.RKNPU_DEVICE, 'auto', 'the settings were given to the plugin');
  t.same(
    { ...plugin.status, reason: '' },
    { present: false, configError: false, isSimulator: false, reason: '', description: '' },
    'auto without an NPU: no device, and no error',
  );
  t.match(plugin.status.reason, /no rocket NPU found \(\/nonexistent-accel/, 'the status says why');
  rt.init();
  const regs = rt.registries();
  t.ok(
    regs.find((r) => r.name === 'RKNPU' && r.devices === 0),
    'RKNPU registry listed, without devices',
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
    () => rt.loadPlugin(pluginPath(), { device: 'sim' }),
    /already, with other settings/,
    'the plugin reads its settings once per process: other settings later are an error',
  );
  t.end();
});

t.test('device selection is explicit', (t) => {
  const auto = cli(['devices'], { ...noAccel, RKNPU_DEVICE: 'auto' });
  t.equal(auto.status, 0, auto.stderr);
  t.match(auto.stdout, /^plugin registry: RKNPU \(no device: .*no rocket NPU found \(\/nonexistent-accel/m);
  t.notMatch(auto.stdout + auto.stderr, /SIMULATOR/i, 'auto never picks the simulator');
  const unset = cli(['devices'], { ...noAccel, RKNPU_DEVICE: '' });
  t.notMatch(unset.stdout + unset.stderr, /SIMULATOR/i, 'devices lists what there is: no simulator unless asked');
  const sim = cli(['devices'], { RKNPU_DEVICE: 'sim' });
  t.match(sim.stdout, /RKNPU0 +ACCEL +RK3588 NPU SOFTWARE SIMULATOR .*not real hardware/, 'the simulator says so');
  const simLog = cli(['devices', '-v'], { RKNPU_DEVICE: 'sim' });
  t.match(simLog.stderr, /RKNPU: RKNPU0 = RK3588 NPU SOFTWARE SIMULATOR/, "-v: the plugin's load line");
  const off = cli(['devices'], { RKNPU_DEVICE: 'off' });
  t.equal(off.status, 0);
  t.match(off.stdout, /\(no device: RKNPU_DEVICE=off\)/);
  const bad = cli(['devices'], { RKNPU_DEVICE: 'gpu' });
  t.equal(bad.status, 1);
  t.match(bad.stderr, /unknown RKNPU_DEVICE='gpu'/);
  t.end();
});
