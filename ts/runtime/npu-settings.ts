// The plugin's settings as one value that commands pass down: which NPU device, and how the plugin
// runs on it. The plugin reads them from its environment once, when it is loaded; pluginEnv() is the
// one place that turns the value into those variables, both for this process (set right before the
// plugin is loaded in-process) and for the tools it starts (spawn's env option).
import fs from 'node:fs';

export const NPU_DEVICES = ['auto', 'rocket', 'sim', 'off'] as const;
export type NpuDevice = (typeof NPU_DEVICES)[number];

/**
 * The values are passed to the plugin as the user gave them; the plugin checks them and reports a bad
 * one through its status (config_error), which the runtime turns into an error.
 */
export interface NpuSettings {
  /** RKNPU_DEVICE: auto = the rocket NPU when present, never the simulator. */
  device: NpuDevice;
  /** RKNPU_MODE: auto | int8 | int8-had | fp16. */
  mode?: string;
  /** RKNPU_MIN_BATCH: batches with fewer tokens stay on the CPU. */
  minBatch?: string;
  /** RKNPU_CLOCK_MHZ: the NPU clock the timing model assumes. */
  clockMhz?: string;
  /** RKNPU_ENVELOPE: auto | safe | vendor | board (what the planner may emit). */
  envelope?: string;
  /** RKNPU_PROFILE: the board profile the plugin reads (default: the user's config directory). */
  profile?: string;
  /** RKNPU_CPU_SHARE: auto | a decimal in [0, 1): the CPU's share of each weight matmul's rows. */
  cpuShare?: string;
  /** RKNPU_PIPELINE: auto | off | 2..8 row chunks per large matmul. */
  pipeline?: string;
  /** RKNPU_ATTENTION: npu | cpu (where attention's KV-cache products run). */
  attention?: string;
  /** RKNPU_MAX_MEM: bytes of NPU weight copies (K/M/G suffix). */
  maxMem?: string;
  /** RKNPU_WEIGHT_CACHE: off | a directory for converted weights. */
  weightCache?: string;
  /** RKNPU_WEIGHT_CACHE_MAX: bytes the weight cache may hold. */
  weightCacheMax?: string;
}

const PLUGIN_VARS: Record<keyof NpuSettings, string> = {
  device: 'RKNPU_DEVICE',
  mode: 'RKNPU_MODE',
  minBatch: 'RKNPU_MIN_BATCH',
  clockMhz: 'RKNPU_CLOCK_MHZ',
  envelope: 'RKNPU_ENVELOPE',
  profile: 'RKNPU_PROFILE',
  cpuShare: 'RKNPU_CPU_SHARE',
  pipeline: 'RKNPU_PIPELINE',
  attention: 'RKNPU_ATTENTION',
  maxMem: 'RKNPU_MAX_MEM',
  weightCache: 'RKNPU_WEIGHT_CACHE',
  weightCacheMax: 'RKNPU_WEIGHT_CACHE_MAX',
};

export class SettingsError extends Error {}

/** An empty variable counts as unset, as in the plugin. */
function given(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

function parseDevice(v: string): NpuDevice {
  if (!(NPU_DEVICES as readonly string[]).includes(v))
    throw new SettingsError(`unknown RKNPU_DEVICE='${v}' (accepted: ${NPU_DEVICES.join(', ')})`);
  return v as NpuDevice;
}

/** The settings the user gave in the environment; no RKNPU_DEVICE means auto. */
export function npuSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): NpuSettings {
  const device = given(env, PLUGIN_VARS.device);
  const s: NpuSettings = { device: device === undefined ? 'auto' : parseDevice(device) };
  for (const key of Object.keys(PLUGIN_VARS) as (keyof NpuSettings)[]) {
    if (key === 'device') continue;
    const v = given(env, PLUGIN_VARS[key]);
    if (v !== undefined) s[key] = v;
  }
  return s;
}

/** The variables the plugin reads for these settings; a setting left out is unset (the plugin's default). */
export function pluginEnv(s: NpuSettings): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [key, name] of Object.entries(PLUGIN_VARS)) out[name] = s[key as keyof NpuSettings];
  return out;
}

/** Only the variables these settings set, for the command lines shown in reports. */
export function pluginVarsSet(s: NpuSettings): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(pluginEnv(s))) if (v !== undefined) out[name] = v;
  return out;
}

/** The environment for a tool started with these settings: this process's, with the plugin's variables replaced. */
export function toolEnv(s: NpuSettings, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const [name, v] of Object.entries(pluginEnv(s))) {
    if (v === undefined) delete env[name];
    else env[name] = v;
  }
  return env;
}

/** Where the rocket driver's nodes are (the plugin and npu-probe read the same variable). */
export function accelDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.RKNPU_ACCEL_DIR ?? '/dev/accel';
}

export interface DeviceChoice {
  /** A device the user asked for on the command line (--sim, --device); wins over the environment. */
  requested?: NpuDevice;
  env?: NodeJS.ProcessEnv;
  /** Where the announcement goes when the simulator is chosen for the user. */
  say: (line: string) => void;
}

/**
 * Real NPU or simulator, for the CLI's own jobs: what was asked for (the command line, then
 * RKNPU_DEVICE); else, on a machine with no accel node at all, the simulator, announced first; else
 * auto, so a machine with an accel node never gets the simulator unless asked.
 */
export function chooseDevice(o: DeviceChoice): NpuSettings {
  const env = o.env ?? process.env;
  const s = npuSettingsFromEnv(env);
  if (o.requested) return { ...s, device: o.requested };
  if (given(env, PLUGIN_VARS.device) !== undefined) return s;
  const dir = accelDir(env);
  if (fs.existsSync(dir)) return s;
  o.say(
    `rosenblatt-dl: no NPU on this machine (${dir} absent): the NPU work runs on the SOFTWARE SIMULATOR, not hardware (RKNPU_DEVICE=rocket|sim|off chooses)`,
  );
  return { ...s, device: 'sim' };
}

/** For the commands that exist to run the NPU (probe, selftest, bench, accept): off is a contradiction. */
export function requireNpuDevice(s: NpuSettings, command: string): NpuSettings {
  if (s.device === 'off')
    throw new SettingsError(`${command} runs the NPU, but RKNPU_DEVICE=off asks for none (use auto, rocket or sim)`);
  return s;
}
