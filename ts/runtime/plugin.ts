// The Rosenblatt plugin (libggml-rknpu.so) in this process: loaded with its settings, checked to be
// this plugin, its status read, and its extra entry points (counters, simulator faults). A setting the
// plugin cannot meet is an error here, never a silent run on the CPU.
import fs from 'node:fs';
import koffi from 'koffi';
import { rknpu_get_stats_fn, rknpu_get_status_fn, rknpu_sim_inject_fault_fn, type Native } from '../ffi/llama.js';
import { LlamaError } from './errors.js';
import { logSink } from './log.js';
import { pluginEnv, type NpuSettings } from './npu-settings.js';

export interface PluginStatus {
  /** RKNPU0 is registered. */
  present: boolean;
  /** A setting was invalid, or an explicitly requested device is missing. */
  configError: boolean;
  isSimulator: boolean;
  /** Why there is no device ("" when present). */
  reason: string;
  /** The device's description ("" when absent). */
  description: string;
}

export interface RknpuStats {
  matmuls: number;
  failures: number;
  tasks: number;
  jobs: number;
  glue_ms: number;
  npu_wait_ms: number;
  /** timing MODEL of the NPU time (not a measurement): optimistic and pessimistic bound per clock */
  model_ms_200_opt: number;
  model_ms_200_pess: number;
  model_ms_1000_opt: number;
  model_ms_1000_pess: number;
  reuse_tasks: number;
  /** "fitted to published measurements" or "board profile <date>" */
  model_source: string;
  /** MUL_MAT_ID: experts' row groups run on the NPU (part of `matmuls`) */
  expert_matmuls: number;
  /** MUL_MAT_ID: experts' row groups below RKNPU_MIN_BATCH, run on the CPU */
  expert_cpu_matmuls: number;
  /** attention on the NPU: KQ/KQV MUL_MATs and FLASH_ATTN_EXT nodes (KQ/KQV also count as matmuls) */
  attention_ops: number;
  /** the NPU GEMMs they ran as (per KV head; per KV tile and product for flash attention) */
  attention_matmuls: number;
  /** measured host work of attention outside the engine: packing K/V, gathers, softmax (thread CPU time) */
  attention_host_ms: number;
  /** weight MUL_MATs whose rows were split between the NPU and the CPU backend (RKNPU_CPU_SHARE) */
  split_matmuls: number;
  /** the MACs (in 1e9) of all weight MUL_MATs each engine computed, split or not */
  npu_share_gmacs: number;
  cpu_share_gmacs: number;
  /** measured wall time of the CPU's parts, which ran beside the NPU's */
  cpu_share_ms: number;
}

/** "CPU share 30.0% of the weight-matmul MACs (12 split matmuls, CPU part 41.0 ms)", or "" when nothing split. */
export function shareText(
  s: Pick<RknpuStats, 'split_matmuls' | 'npu_share_gmacs' | 'cpu_share_gmacs' | 'cpu_share_ms'>,
): string {
  const total = s.npu_share_gmacs + s.cpu_share_gmacs;
  if (!(total > 0)) return '';
  const pct = (100 * s.cpu_share_gmacs) / total;
  return `NPU ${(100 - pct).toFixed(1)}% / CPU ${pct.toFixed(1)}% of the weight-matmul MACs (${s.split_matmuls} split matmuls, CPU part ${s.cpu_share_ms.toFixed(1)} ms)`;
}

/** "model 12.3-19.8 ms (optimistic-pessimistic, 200 MHz)": how every MODEL figure is printed. */
export function modelRange(opt: number, pess: number, clock: string, unit = 'ms', digits = 1): string {
  return `model ${opt.toFixed(digits)}-${pess.toFixed(digits)} ${unit} (optimistic-pessimistic, ${clock})`;
}

const ENODEV = 19;

export class RknpuPlugin {
  constructor(
    private readonly native: Native,
    readonly file: string,
    private readonly reg: unknown,
    readonly status: PluginStatus,
  ) {}

  get registry(): string {
    return this.native.ggml.ggml_backend_reg_name(this.reg);
  }

  /** Devices the plugin registered (0 without an NPU). */
  devices(): number {
    return Number(this.native.ggml.ggml_backend_reg_dev_count(this.reg));
  }

  /** Which device runs the NPU work, for one-line summaries; null without one. */
  deviceLabel(): string | null {
    if (!this.status.present) return null;
    return this.status.isSimulator ? 'SOFTWARE SIMULATOR' : this.status.description;
  }

  /** Counters since load, or null without a device. */
  stats(): RknpuStats | null {
    const fn = this.proc('ggml_backend_rknpu_get_stats');
    const out: Record<string, number | bigint | string> = {};
    if (!fn || !koffi.call(fn, rknpu_get_stats_fn, out)) return null;
    return Object.fromEntries(
      Object.entries(out).map(([k, v]) => [k, typeof v === 'string' ? v : Number(v)]),
    ) as unknown as RknpuStats;
  }

  /** Simulator only: "reset" | "dropped" | "slow" | "dma" [ "@N" ] | "none"; 0 or a negative errno. */
  injectFault(spec: string): number {
    const fn = this.proc('ggml_backend_rknpu_sim_inject_fault');
    return fn ? (koffi.call(fn, rknpu_sim_inject_fault_fn, spec) as number) : -ENODEV;
  }

  private proc(name: string): unknown {
    return this.native.ggml.ggml_backend_reg_get_proc_address(this.reg, name);
  }
}

/** The plugin reads its settings once per process, at load; this remembers which. */
let loadedWith: string | null = null;

function readStatus(fn: unknown): PluginStatus {
  const s: Record<string, number | string> = {};
  koffi.call(fn, rknpu_get_status_fn, s);
  return {
    present: s.present === 1,
    configError: s.config_error === 1,
    isSimulator: s.is_simulator === 1,
    reason: String(s.reason ?? ''),
    description: String(s.description ?? ''),
  };
}

/**
 * Load the plugin (what GGML_BACKEND_PATH does for the stock tools) with `settings`. Throws when the
 * file is not a ggml backend, is some other backend, or the plugin cannot meet the settings.
 */
export function loadPlugin(native: Native, file: string, settings: NpuSettings): RknpuPlugin {
  if (!fs.existsSync(file)) throw new LlamaError(`backend plugin not found: ${file}`);
  const env = pluginEnv(settings);
  const key = JSON.stringify({ file, env });
  if (loadedWith !== null && loadedWith !== key)
    throw new LlamaError(`the plugin is loaded in this process already, with other settings (${loadedWith})`);
  // The one place this process's environment is written: the plugin reads it during ggml_backend_load.
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  // The plugin logs a setting it cannot meet as an error while it loads; that line goes into the
  // exception (once) rather than to the terminal as well.
  return logSink.holdErrors(() => {
    const g = native.ggml;
    const reg = g.ggml_backend_load(file);
    if (!reg)
      throw new LlamaError(
        `could not load ${file} as a ggml backend: ${logSink.takeErrors() || 'ggml_backend_load returned NULL'}`,
      );
    const getStatus = g.ggml_backend_reg_get_proc_address(reg, 'ggml_backend_rknpu_get_status');
    if (!getStatus) {
      const name = g.ggml_backend_reg_name(reg);
      g.ggml_backend_unload(reg);
      throw new LlamaError(
        `${file} is not the Rosenblatt NPU plugin: it is the ggml backend '${name}', without ggml_backend_rknpu_get_status`,
      );
    }
    loadedWith = key;
    const status = readStatus(getStatus);
    // An explicitly requested device that is missing is a config error in the plugin; checked here
    // too, so that a run never continues on the CPU after asking for the NPU.
    const asked = settings.device === 'sim' || settings.device === 'rocket';
    if (status.configError || (asked && !status.present)) {
      logSink.takeErrors();
      throw new LlamaError(`NPU plugin: ${status.reason || `RKNPU_DEVICE=${settings.device} registered no device`}`);
    }
    return new RknpuPlugin(native, file, reg, status);
  });
}
