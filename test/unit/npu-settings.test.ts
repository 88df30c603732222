// The plugin's settings as one value: read from the environment, turned into the plugin's variables
// in one place, given to tools through their env, and the one choice between real NPU and simulator.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import {
  chooseDevice,
  npuSettingsFromEnv,
  pluginEnv,
  pluginVarsSet,
  requireNpuDevice,
  toolEnv,
} from '../../ts/runtime/npu-settings.js';

const accel = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-accel-'));
t.teardown(() => fs.rmSync(accel, { recursive: true, force: true }));
const absent = path.join(accel, 'absent');

t.test('settings from the environment: as given, empty = unset, an unknown device refused', (t) => {
  t.same(npuSettingsFromEnv({}), { device: 'auto' });
  t.same(npuSettingsFromEnv({ RKNPU_DEVICE: '', RKNPU_MODE: '' }), { device: 'auto' });
  t.same(
    npuSettingsFromEnv({ RKNPU_DEVICE: 'sim', RKNPU_MODE: 'int4', RKNPU_MIN_BATCH: 'abc', RKNPU_CLOCK_MHZ: '1000' }),
    { device: 'sim', mode: 'int4', minBatch: 'abc', clockMhz: '1000' },
    'values the plugin checks are passed through untouched',
  );
  t.same(
    npuSettingsFromEnv({ RKNPU_ENVELOPE: 'fast', RKNPU_PROFILE: '/x/p.json' }),
    { device: 'auto', envelope: 'fast', profile: '/x/p.json' },
    'the envelope and the profile too',
  );
  t.same(
    npuSettingsFromEnv({
      RKNPU_CPU_SHARE: '0.3',
      RKNPU_PIPELINE: '4',
      RKNPU_ATTENTION: 'cpu',
      RKNPU_MAX_MEM: '4G',
      RKNPU_WEIGHT_CACHE: 'off',
      RKNPU_WEIGHT_CACHE_MAX: '1G',
    }),
    {
      device: 'auto',
      cpuShare: '0.3',
      pipeline: '4',
      attention: 'cpu',
      maxMem: '4G',
      weightCache: 'off',
      weightCacheMax: '1G',
    },
    'the split, pipeline, attention, memory and cache settings too',
  );
  t.throws(
    () => npuSettingsFromEnv({ RKNPU_DEVICE: 'gpu' }),
    /unknown RKNPU_DEVICE='gpu' \(accepted: auto, rocket, sim, off\)/,
  );
  t.end();
});

t.test('the plugin variables: every one named, unset ones undefined', (t) => {
  t.same(pluginEnv({ device: 'rocket', minBatch: '16', profile: '/p.json' }), {
    RKNPU_DEVICE: 'rocket',
    RKNPU_MODE: undefined,
    RKNPU_MIN_BATCH: '16',
    RKNPU_CLOCK_MHZ: undefined,
    RKNPU_ENVELOPE: undefined,
    RKNPU_PROFILE: '/p.json',
    RKNPU_CPU_SHARE: undefined,
    RKNPU_PIPELINE: undefined,
    RKNPU_ATTENTION: undefined,
    RKNPU_MAX_MEM: undefined,
    RKNPU_WEIGHT_CACHE: undefined,
    RKNPU_WEIGHT_CACHE_MAX: undefined,
  });
  t.same(pluginVarsSet({ device: 'sim', clockMhz: '1000' }), { RKNPU_DEVICE: 'sim', RKNPU_CLOCK_MHZ: '1000' });
  t.end();
});

t.test("a tool's environment: this process's, the plugin variables replaced, process.env untouched", (t) => {
  const before = { ...process.env };
  process.env.RKNPU_MODE = 'fp16';
  t.teardown(() => {
    if (before.RKNPU_MODE === undefined) delete process.env.RKNPU_MODE;
    else process.env.RKNPU_MODE = before.RKNPU_MODE;
  });
  const env = toolEnv({ device: 'off' }, { GGML_BACKEND_PATH: '/x/libggml-rknpu.so' });
  t.equal(env.RKNPU_DEVICE, 'off');
  t.notOk('RKNPU_MODE' in env, 'a setting the value does not have is removed, not inherited');
  t.equal(env.GGML_BACKEND_PATH, '/x/libggml-rknpu.so');
  t.equal(env.PATH, process.env.PATH, 'everything else inherited');
  t.equal(process.env.RKNPU_MODE, 'fp16', 'this process keeps its own');
  t.notOk('RKNPU_DEVICE' in process.env && process.env.RKNPU_DEVICE === 'off');
  t.end();
});

t.test('real NPU or simulator', (t) => {
  const said: string[] = [];
  const say = (l: string) => said.push(l);
  t.same(chooseDevice({ env: { RKNPU_ACCEL_DIR: absent }, say }), { device: 'sim' }, 'no accel node: the simulator');
  t.equal(said.length, 1, 'announced once');
  t.match(said[0], new RegExp(`no NPU on this machine \\(${absent} absent\\).*SOFTWARE SIMULATOR`));
  said.length = 0;
  t.same(chooseDevice({ env: { RKNPU_ACCEL_DIR: accel }, say }), { device: 'auto' }, 'an accel node: auto');
  t.same(
    chooseDevice({ env: { RKNPU_ACCEL_DIR: absent, RKNPU_DEVICE: 'auto' }, say }),
    { device: 'auto' },
    'an explicit RKNPU_DEVICE is kept, even without an accel node',
  );
  t.same(chooseDevice({ env: { RKNPU_ACCEL_DIR: absent, RKNPU_DEVICE: 'off' }, say }), { device: 'off' });
  t.same(
    chooseDevice({
      requested: 'sim',
      env: { RKNPU_ACCEL_DIR: accel, RKNPU_DEVICE: 'rocket', RKNPU_MODE: 'fp16' },
      say,
    }),
    { device: 'sim', mode: 'fp16' },
    'the command line wins over RKNPU_DEVICE; the other settings stay',
  );
  t.same(said, [], 'nothing announced when the choice was the user’s');
  t.throws(() => requireNpuDevice({ device: 'off' }, 'bench'), /bench runs the NPU, but RKNPU_DEVICE=off/);
  t.same(requireNpuDevice({ device: 'sim' }, 'bench'), { device: 'sim' });
  t.end();
});
