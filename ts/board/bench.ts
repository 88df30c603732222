// rosenblatt-dl bench: llama-bench (stock tool of the pinned build) with the plugin's NPU device vs with
// RKNPU_DEVICE=off (CPU), plus the plugin's timing MODEL of the NPU at 200 MHz and 1 GHz, each as an
// optimistic and a pessimistic bound, from one in-process prefill (ggml_backend_rknpu_get_stats). Used by
// `bench` and by the `accept` kit.
import fs from 'node:fs';
import path from 'node:path';
import { Runtime } from '../runtime/llama.js';
import { pluginVarsSet, toolEnv, type NpuSettings } from '../runtime/npu-settings.js';
import { modelRange, type RknpuStats } from '../runtime/plugin.js';
import { barChart } from '../util/plot.js';
import { projectionPlot, RECORDED_INPUTS } from './prefill-projection.js';
import { runTool, shellLine, ToolOutputError } from '../util/tool.js';
import { noDeviceReason, pluginLoadLine } from './plugin-log.js';

export interface BenchOptions {
  model: string;
  binDir: string;
  plugin: string;
  /** The NPU runs' settings (device sim, rocket or auto). */
  npu: NpuSettings;
  p: number;
  n: number;
  reps: number;
  threads?: number;
  outDir: string;
  /** Skip the in-process timing-model run. */
  noModel?: boolean;
  /** llama.cpp's log of the in-process run on stderr. */
  verbose?: boolean;
  log?: (line: string) => void;
  /** Interval of the still-running lines passed to `log` (default 30 s). */
  heartbeatMs?: number;
}

export interface BenchRun {
  label: string;
  env: Record<string, string>;
  command: string;
  pp_tps: number;
  pp_stddev_tps: number;
  tg_tps: number;
  tg_stddev_tps: number;
  backends: string;
  cpu_info: string;
  threads: number;
  raw: string;
}

/** Prefill of p tokens in this process, with the plugin on `device`: the plugin's counters plus these. */
export interface ModelEstimate extends Omit<RknpuStats, 'failures'> {
  tokens: number;
  wall_ms: number;
  /** p / (wall - npu_wait + model): the measured run with the NPU wait replaced by the timing model,
   * for each bound (the optimistic one is the higher rate). */
  pp_tps_200_opt: number;
  pp_tps_200_pess: number;
  pp_tps_1000_opt: number;
  pp_tps_1000_pess: number;
}

export interface BenchResult {
  tool: 'rosenblatt-dl bench';
  model: string;
  device: string;
  simulator: boolean;
  p: number;
  n: number;
  reps: number;
  cpu: BenchRun;
  npu: BenchRun;
  /** The plugin's load line ("RKNPU: RKNPU0 = ..."). */
  npu_load_line: string;
  model_estimate: ModelEstimate | null;
  note: string;
  /** projection_png: the Qwen2.5-1.5B prefill projection (NPU only, overlap, NPU + CPU split), recorded inputs */
  files: { json: string; png: string; projection_png: string; logs: string[] };
}

/** Parse `llama-bench -o json` stdout: pp (n_prompt > 0, n_gen = 0) and tg (n_gen > 0) rows. */
export function parseLlamaBenchJson(stdout: string): { pp: any | null; tg: any | null } {
  const start = stdout.indexOf('[');
  const end = stdout.lastIndexOf(']');
  let rows: any[];
  try {
    if (start < 0 || end < start) throw new Error('no JSON array');
    rows = JSON.parse(stdout.slice(start, end + 1));
    if (!Array.isArray(rows)) throw new Error('not an array');
  } catch (e) {
    throw new ToolOutputError(
      `llama-bench output not recognised (expected the JSON array of -o json: ${(e as Error).message}); it began: ${JSON.stringify(stdout.slice(0, 200))}`,
    );
  }
  for (const r of rows) {
    if (typeof r?.avg_ts !== 'number' || typeof r?.n_prompt !== 'number' || typeof r?.n_gen !== 'number') {
      throw new ToolOutputError(
        `llama-bench JSON row without avg_ts/n_prompt/n_gen: ${JSON.stringify(r).slice(0, 200)}`,
      );
    }
  }
  return {
    pp: rows.find((r) => r.n_prompt > 0 && r.n_gen === 0) ?? null,
    tg: rows.find((r) => r.n_gen > 0 && r.n_prompt === 0) ?? null,
  };
}

async function llamaBench(o: BenchOptions, label: string, npu: NpuSettings, file: string): Promise<BenchRun> {
  const exe = path.join(o.binDir, 'llama-bench');
  const args = ['-m', o.model, '-p', String(o.p), '-n', String(o.n), '-r', String(o.reps), '-o', 'json'];
  if (o.threads) args.push('-t', String(o.threads));
  const env = pluginVarsSet(npu);
  const command = shellLine({ GGML_BACKEND_PATH: '$PLUGIN', ...env }, '$BIN/llama-bench', args);
  const r = await runTool(
    exe,
    args,
    toolEnv(npu, { GGML_BACKEND_PATH: o.plugin }),
    o.log ? (secs, last) => o.log!(`llama-bench (${label}) running ${secs.toFixed(0)} s: ${last.slice(0, 100)}`) : null,
    o.heartbeatMs,
  );
  fs.writeFileSync(path.join(o.outDir, `${file}.json`), r.stdout ?? '');
  fs.writeFileSync(path.join(o.outDir, `${file}.log`), `$ ${command}\n${r.stderr ?? ''}`);
  if (r.error) throw r.error;
  if (r.status !== 0)
    throw new Error(
      `llama-bench (${label}) exited with ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`,
    );
  const { pp, tg } = parseLlamaBenchJson(r.stdout);
  if (!pp || !tg) throw new ToolOutputError(`llama-bench (${label}): no ${!pp ? 'pp' : 'tg'} row in its JSON`);
  return {
    label,
    env,
    command,
    pp_tps: pp.avg_ts,
    pp_stddev_tps: pp.stddev_ts ?? 0,
    tg_tps: tg.avg_ts,
    tg_stddev_tps: tg.stddev_ts ?? 0,
    backends: String(pp.backends ?? ''),
    cpu_info: String(pp.cpu_info ?? ''),
    threads: Number(pp.n_threads ?? 0),
    raw: `${file}.json`,
  };
}

/** One prefill of p tokens in this process, reading the plugin's counters around it. */
export function modelEstimate(o: BenchOptions): ModelEstimate {
  const rt = new Runtime({ binDir: o.binDir, verbose: o.verbose });
  const ext = rt.loadPlugin(o.plugin, o.npu);
  rt.init();
  if (ext.devices() === 0)
    throw new Error(`the plugin registered no NPU device (RKNPU_DEVICE=${o.npu.device}: ${ext.status.reason})`);
  const model = rt.loadModel(o.model);
  try {
    const ctx = model.newContext({ nCtx: Math.max(256, o.p + 16), nBatch: o.p, threads: o.threads });
    try {
      const nv = model.nVocab();
      const toks = Array.from({ length: o.p }, (_, i) => 100 + ((i * 7919) % Math.max(1, nv - 200)));
      ctx.decode(toks); // warm-up: first use prepares buffers
      ctx.clear();
      const s0 = ext.stats();
      const t0 = performance.now();
      ctx.decode(toks);
      const wall = performance.now() - t0;
      const s1 = ext.stats();
      if (!s0 || !s1) throw new Error('the plugin returned no stats');
      const d = (k: Exclude<keyof typeof s0, 'model_source'>) => Number(s1[k]) - Number(s0[k]);
      const est = (m: number) => o.p / (Math.max(1e-6, wall - d('npu_wait_ms') + m) / 1000);
      return {
        tokens: o.p,
        wall_ms: wall,
        matmuls: d('matmuls'),
        tasks: d('tasks'),
        jobs: d('jobs'),
        reuse_tasks: d('reuse_tasks'),
        expert_matmuls: d('expert_matmuls'),
        expert_cpu_matmuls: d('expert_cpu_matmuls'),
        glue_ms: d('glue_ms'),
        npu_wait_ms: d('npu_wait_ms'),
        model_ms_200_opt: d('model_ms_200_opt'),
        model_ms_200_pess: d('model_ms_200_pess'),
        model_ms_1000_opt: d('model_ms_1000_opt'),
        model_ms_1000_pess: d('model_ms_1000_pess'),
        model_source: s1.model_source,
        attention_ops: d('attention_ops'),
        attention_matmuls: d('attention_matmuls'),
        attention_host_ms: d('attention_host_ms'),
        split_matmuls: d('split_matmuls'),
        npu_share_gmacs: d('npu_share_gmacs'),
        cpu_share_gmacs: d('cpu_share_gmacs'),
        cpu_share_ms: d('cpu_share_ms'),
        pp_tps_200_opt: est(d('model_ms_200_opt')),
        pp_tps_200_pess: est(d('model_ms_200_pess')),
        pp_tps_1000_opt: est(d('model_ms_1000_opt')),
        pp_tps_1000_pess: est(d('model_ms_1000_pess')),
      };
    } finally {
      ctx.free();
    }
  } finally {
    model.free();
  }
}

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const log = o.log ?? (() => {});
  fs.mkdirSync(o.outDir, { recursive: true });
  const simulator = o.npu.device === 'sim';
  log(`llama-bench on the CPU (RKNPU_DEVICE=off): pp${o.p} tg${o.n}, ${o.reps} rep(s)`);
  const cpu = await llamaBench(o, 'CPU', { device: 'off' }, 'llama-bench-cpu');
  log(`llama-bench with RKNPU0 (RKNPU_DEVICE=${o.npu.device})`);
  const npu = await llamaBench(o, simulator ? 'NPU (simulator)' : 'NPU', o.npu, 'llama-bench-npu');
  const npuLog = fs.readFileSync(path.join(o.outDir, 'llama-bench-npu.log'), 'utf8');
  const loadLine = pluginLoadLine(npuLog);
  if (!loadLine) {
    const why = noDeviceReason(npuLog);
    throw new Error(
      `llama-bench with the plugin: the NPU device was not registered (${why ?? 'no "RKNPU: RKNPU0 = ..." line'}; see llama-bench-npu.log)`,
    );
  }
  let est: ModelEstimate | null = null;
  if (!o.noModel) {
    log('timing model: one in-process prefill with the plugin counters');
    est = modelEstimate(o);
  }
  const note = simulator
    ? 'NPU figures come from the SOFTWARE SIMULATOR: "NPU (simulator)" is the simulator\'s wall time, not hardware; the MODEL rows replace the simulator time with the timing MODEL at 200 MHz / 1 GHz, as an optimistic and a pessimistic bound. Decode (tg, batch 1) runs on the CPU by design.'
    : 'NPU figures measured on the rocket driver; the MODEL rows are the timing model (optimistic and pessimistic bound) for comparison. Decode (tg, batch 1) runs on the CPU by design.';
  const res: BenchResult = {
    tool: 'rosenblatt-dl bench',
    model: o.model,
    device: o.npu.device,
    simulator,
    p: o.p,
    n: o.n,
    reps: o.reps,
    cpu,
    npu,
    npu_load_line: loadLine,
    model_estimate: est,
    note,
    files: {
      json: 'bench.json',
      png: 'bench.png',
      projection_png: 'projection.png',
      logs: ['llama-bench-cpu.json', 'llama-bench-cpu.log', 'llama-bench-npu.json', 'llama-bench-npu.log'],
    },
  };
  fs.writeFileSync(path.join(o.outDir, 'bench.json'), JSON.stringify(res, null, 2) + '\n');
  fs.writeFileSync(path.join(o.outDir, 'bench.png'), benchPlot(res).toPng());
  fs.writeFileSync(
    path.join(o.outDir, 'projection.png'),
    projectionPlot(RECORDED_INPUTS, 'RECORDED PROJECTION (DOCS/PERFORMANCE.MD), NOT THIS RUN').toPng(),
  );
  return res;
}

export function benchPlot(r: BenchResult) {
  const series = [
    { name: 'CPU', values: [r.cpu.pp_tps, r.cpu.tg_tps] },
    { name: r.simulator ? 'NPU SIM (wall)' : 'NPU', values: [r.npu.pp_tps, r.npu.tg_tps] },
  ];
  if (r.model_estimate) {
    const e = r.model_estimate;
    series.push({ name: 'MODEL 200MHZ OPT', values: [e.pp_tps_200_opt, r.npu.tg_tps] });
    series.push({ name: 'MODEL 200MHZ PESS', values: [e.pp_tps_200_pess, r.npu.tg_tps] });
    series.push({ name: 'MODEL 1GHZ OPT', values: [e.pp_tps_1000_opt, r.npu.tg_tps] });
    series.push({ name: 'MODEL 1GHZ PESS', values: [e.pp_tps_1000_pess, r.npu.tg_tps] });
  }
  return barChart({
    title: `pp${r.p} / tg${r.n}: CPU vs NPU`,
    subtitle: `${path.basename(r.model)}${r.simulator ? ' - SIMULATOR + TIMING MODEL, NOT HARDWARE' : ''}`,
    yLabel: 'tokens/s',
    groups: [`pp${r.p}`, `tg${r.n}`],
    series,
  });
}

/** "12.34-9.87": a MODEL rate as optimistic-pessimistic. */
export function tpsRange(opt: number, pess: number): string {
  return `${opt.toFixed(2)}-${pess.toFixed(2)}`;
}

export function formatBench(r: BenchResult): string {
  const W = 52;
  const f = (v: number | string) => (typeof v === 'number' ? v.toFixed(2) : v).padStart(13);
  const rows = [
    `${'run'.padEnd(W)} ${f(`pp${r.p} t/s`)} ${f(`tg${r.n} t/s`)}`,
    `${r.cpu.label.padEnd(W)} ${f(r.cpu.pp_tps)} ${f(r.cpu.tg_tps)}`,
    `${r.npu.label.padEnd(W)} ${f(r.npu.pp_tps)} ${f(r.npu.tg_tps)}`,
  ];
  if (r.model_estimate) {
    const e = r.model_estimate;
    const label = (clock: string) => `NPU, timing MODEL ${clock} (optimistic-pessimistic)`.padEnd(W);
    rows.push(`${label('200 MHz')} ${f(tpsRange(e.pp_tps_200_opt, e.pp_tps_200_pess))} ${f(r.npu.tg_tps)}`);
    rows.push(`${label('1 GHz')} ${f(tpsRange(e.pp_tps_1000_opt, e.pp_tps_1000_pess))} ${f(r.npu.tg_tps)}`);
    rows.push(
      `model: prefill of ${e.tokens} tokens: ${e.matmuls} matmuls, ${e.jobs} jobs, ${e.tasks} tasks (${e.reuse_tasks} reuse CBUF weights); NPU ${modelRange(e.model_ms_200_opt, e.model_ms_200_pess, '200 MHz', 'ms', 2)}, ${modelRange(e.model_ms_1000_opt, e.model_ms_1000_pess, '1 GHz', 'ms', 2)}; parameters ${e.model_source}; host glue ${e.glue_ms.toFixed(2)} ms; measured wait ${e.npu_wait_ms.toFixed(2)} ms${r.simulator ? ' (simulator)' : ''}`,
    );
  }
  rows.push(r.note);
  return rows.join('\n') + '\n';
}
