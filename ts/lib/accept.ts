// rosenblatt-dl accept: the hardware acceptance kit. Stages run in order, each one's raw output is saved in
// the results folder, and the run ends with report.json, report.md and PNG plots. On the simulator the
// sizes are small and every figure is labelled as simulator + timing MODEL.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchPlot, runBench, runTool, shellLine, ToolOutputError, type BenchResult } from './bench.js';
import { formatDoctor, runDoctor, type DoctorReport } from './doctor.js';
import { readFleet, updateFleet, type Scalar } from './fleet.js';
import { barChart } from './plot.js';

export type Verdict = 'pass' | 'fail' | 'skip' | 'info';

export interface StageResult {
  id: string;
  title: string;
  verdict: Verdict;
  summary: string;
  seconds: number;
  commands: string[];
  files: string[];
  figures: Record<string, unknown>;
}

export interface AcceptOptions {
  sim: boolean;
  device: string;
  quick: boolean;
  model: string;
  text: string | null;
  outDir: string;
  binDir: string;
  plugin: string;
  nativeOut: string;
  root?: string;
  fleet?: string;
  threads?: number;
  repoRoot: string;
  say: (s: string) => void;
  /** Interval of the still-running progress lines (default 30 s). */
  heartbeatMs?: number;
}

export interface AcceptReport {
  tool: 'rosenblatt-dl accept';
  kit_version: string;
  started_at: string;
  finished_at: string;
  host: string;
  arch: string;
  device: string;
  simulator: boolean;
  quick: boolean;
  model: string;
  text: string | null;
  /** The NPU clock the doctor read (fleet/SCHEMA.md: every figure goes with the clock of its run); null on the simulator. */
  npu_clock_hz: number | 'unknown' | null;
  note: string;
  verdict: 'PASS' | 'FAIL';
  stages: StageResult[];
  plots: string[];
  fleet: {
    file: string;
    written: string[];
    missing: string[];
    skipped_reason: string | null;
    mismatches: string[];
  } | null;
}

/** Human keys the kit checks (fleet/SCHEMA.md "human, kit checks") against what the doctor found. */
export function fleetMismatches(cur: Map<string, Scalar>, d: DoctorReport, hostname: string | null): string[] {
  const out: string[] = [];
  const f = d.facts;
  const want = (k: string) => cur.get(k);
  if (hostname !== null && want('host.hostname') && want('host.hostname') !== hostname)
    out.push(`host.hostname is "${want('host.hostname')}" but this host is "${hostname}"`);
  if (want('soc.name') === 'RK3588' && !f.rk3588)
    out.push('soc.name is RK3588 but the device tree does not say rockchip,rk3588');
  const gb = want('soc.memory.total_gb');
  if (typeof gb === 'number' && f.ramTotalBytes !== null) {
    const seen = f.ramTotalBytes / 2 ** 30;
    if (seen > gb * 1.0 + 0.01 || seen < gb * 0.9)
      out.push(`soc.memory.total_gb is ${gb} but MemTotal is ${seen.toFixed(1)} GiB`);
  }
  if (want('npu.device') && f.accelNode && want('npu.device') !== f.accelNode)
    out.push(`npu.device is ${want('npu.device')} but the node found is ${f.accelNode}`);
  if (typeof want('npu.cores') === 'number' && f.npuCoresBound !== null && f.npuCoresBound !== want('npu.cores'))
    out.push(`npu.cores is ${want('npu.cores')} but ${f.npuCoresBound} cores are bound`);
  const hz = want('npu.clock_hz_expected');
  if (typeof hz === 'number' && typeof f.npuClockHz === 'number' && f.npuClockHz !== hz)
    out.push(`npu.clock_hz_expected is ${hz} but the NPU clock runs at ${f.npuClockHz}`);
  return out;
}

// Bounds as in docs/accuracy.md and test/accuracy.test.ts.
export const PPL_REL_BOUND = 0.01;
export const KLD_BOUND = 0.01;

function kitVersion(repo: string): string {
  try {
    const sha = execFileSync('git', ['-C', repo, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
    return `${pkg.version}+${sha}`;
  } catch {
    return 'unknown';
  }
}

interface Ctx {
  o: AcceptOptions;
  prefix?: string;
  doctor?: DoctorReport;
  probe?: any[];
  gemm?: any;
  bench?: BenchResult;
  ppl?: { cpu: number; npu: number; kld: number | null; same_top_pct: number | null };
}

type StageFn = (c: Ctx, s: StageResult) => void | Promise<void>;

/**
 * Run a tool, save its output as `file` in the results folder, and while it runs print a progress line
 * every `heartbeatMs` with the last line it wrote (perplexity and the full GEMM sweep take minutes).
 */
function run(
  c: Ctx,
  s: StageResult,
  file: string,
  exe: string,
  args: string[],
  env: Record<string, string> = {},
  displayEnv = env,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const command = shellLine(displayEnv, exe.replace(c.o.binDir, '$BIN').replace(c.o.nativeOut, '$NATIVE'), args);
  s.commands.push(command);
  s.files.push(file);
  return runTool(
    exe,
    args,
    { ...process.env, ...env },
    (secs, last) =>
      c.o.say(`${c.prefix ?? ''} ${secs.toFixed(0)} s, ${path.basename(exe)} running: ${last.slice(0, 100)}`),
    c.o.heartbeatMs,
  ).then((r) => {
    fs.writeFileSync(
      path.join(c.o.outDir, file),
      `$ ${command}\n# exit ${r.status}${r.error ? ` (${r.error.message})` : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
    );
    if (r.error) throw new Error(`${path.basename(exe)}: ${r.error.message}`);
    return r;
  });
}

/** The plugin's reason for registering no device, if it said so. */
export function noDeviceReason(stderr: string): string | null {
  return /RKNPU: ([^\n]*); no device registered/.exec(stderr)?.[1] ?? null;
}

function lastLine(s: string): string {
  return (
    s
      .trim()
      .split('\n')
      .filter((l) => l.trim())
      .pop() ?? '(no output)'
  );
}

const doctorStage: StageFn = (c, s) => {
  const d = runDoctor(c.o.root);
  c.doctor = d;
  fs.writeFileSync(path.join(c.o.outDir, 'doctor.txt'), formatDoctor(d));
  fs.writeFileSync(path.join(c.o.outDir, 'doctor.json'), JSON.stringify(d, null, 2) + '\n');
  s.files.push('doctor.txt', 'doctor.json');
  s.commands.push(`rosenblatt-dl doctor${c.o.root ? ` --root ${c.o.root}` : ''}`);
  const fails = d.checks.filter((k) => k.status === 'fail');
  const warns = d.checks.filter((k) => k.status === 'warn');
  s.figures = { ok: d.ok, failed: fails.map((k) => k.name), warnings: warns.map((k) => k.name), facts: d.facts };
  if (c.o.sim) {
    s.verdict = 'info';
    s.summary = `${d.facts.rk3588 ? 'RK3588' : 'not an RK3588'}; ${fails.length} failed, ${warns.length} warnings (informational on the simulator)`;
  } else {
    s.verdict = fails.length ? 'fail' : 'pass';
    s.summary = fails.length
      ? `failed: ${fails.map((k) => `${k.name} (${k.found})`).join('; ')}`
      : `${warns.length} warning(s)`;
  }
};

const probeStage: StageFn = async (c, s) => {
  const exe = path.join(c.o.nativeOut, 'npu-probe');
  const results: any[] = [];
  for (const dtype of ['int8', 'fp16']) {
    for (const cores of [1, 2, 3]) {
      const r = await run(c, s, `probe-${dtype}-${cores}core.txt`, exe, [
        '--device',
        c.o.device,
        '--dtype',
        dtype,
        '--cores',
        String(cores),
        '--json',
      ]);
      const line = r.stdout
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      let j: any;
      try {
        j = JSON.parse(line ?? '');
        if (j.tool !== 'npu-probe' || typeof j.ok !== 'boolean') throw new Error('not an npu-probe result');
      } catch (e) {
        throw new ToolOutputError(
          `npu-probe --json output not recognised (${(e as Error).message}; exit ${r.status}; see probe-${dtype}-${cores}core.txt)`,
        );
      }
      results.push({
        dtype,
        cores,
        ok: j.ok && r.status === 0,
        driver: j.driver,
        simulator: j.simulator,
        error: j.error,
        cases: j.cases,
      });
    }
  }
  c.probe = results;
  const bad = results.filter((r) => !r.ok);
  s.figures = {
    runs: results.map((r) => ({
      dtype: r.dtype,
      cores: r.cores,
      ok: r.ok,
      driver: r.driver,
      error: r.error,
      model_ms: r.cases?.map((k: any) => k.model_ms),
      wall_ms: r.cases?.map((k: any) => k.wall_ms),
    })),
  };
  s.verdict = bad.length ? 'fail' : 'pass';
  const errs = [...new Set(bad.map((r) => r.error ?? 'failed'))];
  s.summary =
    bad.length === results.length && errs.length === 1
      ? `all ${results.length} runs failed: ${errs[0]}`
      : bad.length
        ? `failed: ${bad.map((r) => `${r.dtype} ${r.cores} core(s)${r.error ? `: ${r.error}` : ''}`).join('; ')}`
        : `6/6 runs ok (int8 bit-exact, fp16 within tolerance; driver ${results[0]?.driver})`;
};

const gemmStage: StageFn = async (c, s) => {
  const exe = path.join(c.o.nativeOut, 'bench-gemm');
  const json = path.join(c.o.outDir, 'gemm.json');
  const args = [
    '--device',
    c.o.sim ? 'sim' : 'rocket',
    '--verify',
    '--json',
    json,
    ...(c.o.quick ? ['--shapes', 'small', '--m', '1,8,32'] : ['--shapes', 'all', '--mode', 'both']),
  ];
  const r = await run(c, s, 'gemm.txt', exe, args);
  if (!fs.existsSync(json))
    throw new Error(`bench-gemm exited with ${r.status} and wrote no JSON: ${lastLine(r.stderr)}`);
  s.files.push('gemm.json');
  let j: any;
  try {
    j = JSON.parse(fs.readFileSync(json, 'utf8'));
    if (j.tool !== 'bench-gemm' || !Array.isArray(j.cases)) throw new Error('not a bench-gemm result');
  } catch (e) {
    throw new ToolOutputError(
      `bench-gemm --json output not recognised (${(e as Error).message}; exit ${r.status}; see gemm.txt)`,
    );
  }
  c.gemm = j;
  const cases = j.cases as any[];
  const failed = cases.filter((k) => !k.ok || (k.int_mismatches ?? 0) > 0 || (k.over_bound ?? 0) > 0);
  const compared = cases.reduce((a, k) => a + (k.int_compared ?? 0), 0);
  s.figures = {
    cases: cases.length,
    failed: failed.length,
    int_compared: compared,
    int_mismatches: cases.reduce((a, k) => a + (k.int_mismatches ?? 0), 0),
    rows: cases.map((k) => ({
      shape: k.shape,
      K: k.K,
      N: k.N,
      M: k.M,
      mode: k.mode,
      ok: k.ok,
      model_ms_200mhz: k.model_ms_200mhz,
      model_ms_1ghz: k.model_ms_1ghz,
      measured_wait_ms: k.sim_wait_ms,
      glue_ms: k.glue_ms,
      cpu_ms: k.cpu_ms,
      int_mismatches: k.int_mismatches,
      nmse: k.nmse,
    })),
  };
  s.verdict = failed.length || r.status !== 0 || !cases.length ? 'fail' : 'pass';
  s.summary =
    s.verdict === 'pass'
      ? `${cases.length} cases (shape x M x ${[...new Set(cases.map((k) => k.mode))].join('/')}), int8 int32 results bit-exact vs CPU (${compared} values), all within their error bounds`
      : `${failed.length} of ${cases.length} cases failed (exit ${r.status})`;
};

/** test-backend-ops console output: "N/M tests passed" and "Backend RKNPU: OK|FAIL". */
export function parseBackendOps(out: string): { passed: number; total: number; ok: boolean } {
  const m = /(\d+)\/(\d+) tests passed/.exec(out);
  const b = /Backend RKNPU\w*:\s*(?:\x1b\[[0-9;]*m)?(OK|FAIL)/.exec(out);
  if (!m || !b)
    throw new ToolOutputError(
      'test-backend-ops output not recognised (no "N/M tests passed" / "Backend RKNPU: OK|FAIL" line)',
    );
  return { passed: Number(m[1]), total: Number(m[2]), ok: b[1] === 'OK' && m[1] === m[2] };
}

const backendOpsStage: StageFn = async (c, s) => {
  const args = ['-o', 'MUL_MAT', '-b', 'RKNPU0', ...(c.o.quick ? ['-p', 'type_a=(q4_K|q8_0)'] : [])];
  const r = await run(
    c,
    s,
    'test-backend-ops.txt',
    path.join(c.o.binDir, 'test-backend-ops'),
    args,
    { GGML_BACKEND_PATH: c.o.plugin, RKNPU_DEVICE: c.o.device },
    { GGML_BACKEND_PATH: '$PLUGIN', RKNPU_DEVICE: c.o.device },
  );
  const why = noDeviceReason(r.stderr);
  if (why) throw new Error(`the plugin registered no NPU device: ${why}`);
  const p = parseBackendOps(r.stdout + r.stderr);
  s.figures = { ...p };
  s.verdict = p.ok && r.status === 0 ? 'pass' : 'fail';
  s.summary = `${p.passed}/${p.total} MUL_MAT cases match the CPU backend${c.o.quick ? ' (quick: q4_K and q8_0 weights)' : ''}`;
};

const benchStage: StageFn = async (c, s) => {
  const p = c.o.quick ? 64 : 512,
    n = c.o.quick ? 16 : 128;
  let b: BenchResult;
  try {
    b = await runBench({
      model: c.o.model,
      binDir: c.o.binDir,
      plugin: c.o.plugin,
      device: c.o.device,
      p,
      n,
      reps: c.o.quick ? 1 : 3,
      threads: c.o.threads,
      outDir: c.o.outDir,
      heartbeatMs: c.o.heartbeatMs,
      log: (l) => {
        if (/ running \d+ s: /.test(l)) c.o.say(`${c.prefix ?? ''} ${l}`);
      },
    });
  } finally {
    for (const f of [
      'bench.json',
      'llama-bench-cpu.json',
      'llama-bench-cpu.log',
      'llama-bench-npu.json',
      'llama-bench-npu.log',
    ])
      if (fs.existsSync(path.join(c.o.outDir, f))) s.files.push(f);
  }
  c.bench = b;
  s.commands.push(b.cpu.command, b.npu.command);
  const e = b.model_estimate;
  s.figures = {
    p,
    n,
    cpu_pp_tps: b.cpu.pp_tps,
    cpu_tg_tps: b.cpu.tg_tps,
    npu_pp_tps: b.npu.pp_tps,
    npu_tg_tps: b.npu.tg_tps,
    model_pp_tps_200: e?.pp_tps_200 ?? null,
    model_pp_tps_1000: e?.pp_tps_1000 ?? null,
    model_estimate: e,
    npu_load_line: b.npu_load_line,
  };
  s.verdict = b.cpu.pp_tps > 0 && b.npu.pp_tps > 0 && b.cpu.tg_tps > 0 && b.npu.tg_tps > 0 ? 'pass' : 'fail';
  s.summary = `pp${p}: CPU ${b.cpu.pp_tps.toFixed(1)} t/s, NPU${c.o.sim ? ' (simulator wall)' : ''} ${b.npu.pp_tps.toFixed(1)} t/s${e ? `, MODEL ${e.pp_tps_200.toFixed(1)} t/s @200 MHz / ${e.pp_tps_1000.toFixed(1)} @1 GHz` : ''}; tg${n}: CPU ${b.cpu.tg_tps.toFixed(1)}, NPU ${b.npu.tg_tps.toFixed(1)} t/s`;
};

/** The summary lines of llama-perplexity --kl-divergence. */
export function parsePerplexityKld(out: string): {
  ppl_q: number;
  ppl_base: number;
  kld: number;
  same_top_pct: number | null;
} {
  const num = (re: RegExp) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : NaN;
  };
  const r = {
    ppl_q: num(/^Mean PPL\(Q\)\s*:\s*([0-9.e+-]+)/m),
    ppl_base: num(/^Mean PPL\(base\)\s*:\s*([0-9.e+-]+)/m),
    kld: num(/^Mean\s+KLD:\s*([0-9.e+-]+)/m),
    same_top_pct: num(/^Same top p:\s*([0-9.e+-]+)/m),
  };
  if (!Number.isFinite(r.ppl_q) || !Number.isFinite(r.ppl_base) || !Number.isFinite(r.kld)) {
    throw new ToolOutputError(
      'llama-perplexity --kl-divergence output not recognised (no "Mean PPL(Q)", "Mean PPL(base)" or "Mean KLD" line)',
    );
  }
  return { ...r, same_top_pct: Number.isFinite(r.same_top_pct) ? r.same_top_pct : null };
}

const perplexityStage: StageFn = async (c, s) => {
  if (!c.o.text) {
    s.verdict = 'skip';
    s.summary = 'no text given (-f TEXT)';
    return;
  }
  const exe = path.join(c.o.binDir, 'llama-perplexity');
  const ctxArgs = c.o.quick ? ['-c', '128', '--chunks', '4'] : ['-c', '512', '--chunks', '32'];
  const base = path.join(c.o.outDir, 'perplexity-cpu.kld');
  const common = ['-m', c.o.model, '-f', c.o.text, ...ctxArgs, ...(c.o.threads ? ['-t', String(c.o.threads)] : [])];
  const cpu = await run(
    c,
    s,
    'perplexity-cpu.txt',
    exe,
    [...common, '--kl-divergence-base', base],
    { GGML_BACKEND_PATH: c.o.plugin, RKNPU_DEVICE: 'off' },
    { GGML_BACKEND_PATH: '$PLUGIN', RKNPU_DEVICE: 'off' },
  );
  if (cpu.status !== 0) throw new Error(`llama-perplexity (CPU) exited with ${cpu.status}; see perplexity-cpu.txt`);
  const npu = await run(
    c,
    s,
    'perplexity-npu.txt',
    exe,
    [...common, '--kl-divergence-base', base, '--kl-divergence'],
    { GGML_BACKEND_PATH: c.o.plugin, RKNPU_DEVICE: c.o.device },
    { GGML_BACKEND_PATH: '$PLUGIN', RKNPU_DEVICE: c.o.device },
  );
  fs.rmSync(base, { force: true });
  if (npu.status !== 0) throw new Error(`llama-perplexity (NPU) exited with ${npu.status}; see perplexity-npu.txt`);
  if (!/RKNPU: RKNPU0 = /.test(npu.stderr))
    throw new Error(
      `llama-perplexity with the plugin: the NPU device was not registered (${noDeviceReason(npu.stderr) ?? 'no "RKNPU: RKNPU0 = " line'})`,
    );
  const p = parsePerplexityKld(npu.stdout + npu.stderr);
  const rel = Math.abs(p.ppl_q - p.ppl_base) / p.ppl_base;
  c.ppl = { cpu: p.ppl_base, npu: p.ppl_q, kld: p.kld, same_top_pct: p.same_top_pct };
  s.figures = {
    ppl_cpu: p.ppl_base,
    ppl_npu: p.ppl_q,
    rel_diff: rel,
    kld: p.kld,
    same_top_pct: p.same_top_pct,
    bounds: { ppl_rel: PPL_REL_BOUND, kld: KLD_BOUND },
    context: Number(ctxArgs[1]),
    chunks: Number(ctxArgs[3]),
  };
  s.verdict = rel <= PPL_REL_BOUND && p.kld <= KLD_BOUND ? 'pass' : 'fail';
  s.summary = `perplexity CPU ${p.ppl_base.toFixed(4)}, NPU ${p.ppl_q.toFixed(4)} (${(rel * 100).toFixed(3)}% apart, bound ${PPL_REL_BOUND * 100}%); mean KLD ${p.kld.toExponential(2)} (bound ${KLD_BOUND})`;
};

const STAGES: [string, string, StageFn][] = [
  ['doctor', 'doctor (board checks)', doctorStage],
  ['probe', 'probe int8/fp16 x 1/2/3 cores', probeStage],
  ['gemm', 'GEMM sweep, bit-exact vs CPU', gemmStage],
  ['backend_ops', 'test-backend-ops MUL_MAT', backendOpsStage],
  ['bench', 'llama-bench CPU vs NPU', benchStage],
  ['perplexity', 'perplexity CPU vs NPU', perplexityStage],
];

/** Keys of the fleet file the kit owns (fleet/SCHEMA.md), from what this run found. */
export function fleetUpdates(
  r: AcceptReport,
  d: DoctorReport | undefined,
  probe: any[] | undefined,
): Record<string, Scalar> {
  const u: Record<string, Scalar> = {
    'measured.updated_at': r.finished_at.replace(/\.\d+Z$/, 'Z'),
    'measured.kit_version': r.kit_version,
  };
  if (d) {
    const f = d.facts;
    Object.assign(u, {
      'kernel.release': f.kernelRelease,
      'kernel.rocket_config': f.rocketConfig,
      'kernel.cmdline': f.cmdline,
      'distro.id': f.distro.id,
      'distro.version_id': f.distro.version_id,
      'distro.pretty_name': f.distro.pretty_name,
      'measured.dtb_model': f.dtbModel,
      'measured.overlay_applied': f.overlayApplied,
      'measured.base_dtb_has_symbols': f.baseDtbHasSymbols,
      'measured.accel_node': f.accelNode,
      'measured.vdd_npu_present': f.vddNpuPresent,
      'measured.npu_cores_bound': f.npuCoresBound,
      'measured.iommus_bound': f.iommusBound,
      'measured.npu_clock_hz': f.npuClockHz,
      'measured.vdd_npu_uv': f.vddNpuUv,
      'measured.devfreq_present': f.devfreqPresent,
      'measured.ram_total_bytes': f.ramTotalBytes,
    });
  }
  const real = probe?.find((p) => !p.simulator && p.driver);
  if (real) u['measured.drm_name'] = real.driver;
  return u;
}

function plots(c: Ctx, outDir: string): string[] {
  const files: string[] = [];
  const simTag = c.o.sim ? ' - SIMULATOR + TIMING MODEL, NOT HARDWARE' : '';
  if (c.bench) {
    fs.writeFileSync(path.join(outDir, 'pp_tg.png'), benchPlot(c.bench).toPng());
    files.push('pp_tg.png');
  }
  if (c.gemm?.cases?.length) {
    const all = c.gemm.cases as any[];
    const int8 = all.filter((k) => k.mode === 'int8');
    const rows = (int8.length ? int8 : all).slice(0, 30);
    const img = barChart({
      title: `GEMM: modelled vs measured NPU time (${rows[0]?.mode ?? ''})`,
      subtitle: `${c.o.sim ? 'measured = simulator wall' : 'measured = rocket job wait'}${simTag}`,
      yLabel: 'ms (log)',
      groups: rows.map((k) => `${String(k.shape).split('/')[0].replace('attn_', '').replace('ffn_', '')} M${k.M}`),
      series: [
        { name: 'MODEL 200MHZ', values: rows.map((k) => k.model_ms_200mhz) },
        { name: 'MODEL 1GHZ', values: rows.map((k) => k.model_ms_1ghz) },
        { name: c.o.sim ? 'SIM WAIT' : 'MEASURED WAIT', values: rows.map((k) => k.sim_wait_ms) },
      ],
      log: true,
      labels: false,
      width: Math.max(800, rows.length * 60 + 100),
    });
    fs.writeFileSync(path.join(outDir, 'gemm.png'), img.toPng());
    files.push('gemm.png');
  }
  if (c.ppl) {
    const img = barChart({
      title: 'Perplexity: CPU vs NPU',
      subtitle: `${path.basename(c.o.text ?? '')}${simTag}`,
      yLabel: 'ppl',
      groups: ['perplexity'],
      series: [
        { name: 'CPU', values: [c.ppl.cpu] },
        { name: c.o.sim ? 'NPU (SIM)' : 'NPU', values: [c.ppl.npu] },
      ],
      width: 480,
    });
    fs.writeFileSync(path.join(outDir, 'perplexity.png'), img.toPng());
    files.push('perplexity.png');
  }
  return files;
}

function markdown(r: AcceptReport): string {
  const L: string[] = [];
  const icon = (v: Verdict) => ({ pass: 'PASS', fail: 'FAIL', skip: 'skipped', info: 'info' })[v];
  L.push(`# Rosenblatt acceptance report: ${r.verdict}`, '');
  if (r.simulator)
    L.push(
      `> **Simulator run.** The NPU stages ran on the SOFTWARE SIMULATOR (register-level software NPU) on ${r.host} (${r.arch}); all NPU figures are simulator + timing MODEL, **not hardware**.`,
      '',
    );
  L.push('## Summary', '');
  L.push(`| | |`, `|---|---|`);
  L.push(
    `| verdict | **${r.verdict}** |`,
    `| host | ${r.host} (${r.arch}) |`,
    `| device | ${r.device}${r.simulator ? ' (simulator)' : ''} |`,
    `| mode | ${r.quick ? 'quick (small sizes)' : 'full'} |`,
    `| NPU clock | ${r.simulator ? 'simulator (timing model at 200 MHz and 1 GHz)' : r.npu_clock_hz === null || r.npu_clock_hz === 'unknown' ? 'unknown (run doctor as root to read it)' : `${r.npu_clock_hz / 1e6} MHz`} |`,
  );
  L.push(
    `| model | \`${path.basename(r.model)}\` |`,
    `| text | ${r.text ? `\`${path.basename(r.text)}\`` : '-'} |`,
    `| kit | ${r.kit_version} |`,
    `| started / finished | ${r.started_at} / ${r.finished_at} |`,
    '',
  );
  L.push('## Stages', '', '| # | stage | verdict | time | summary |', '|---|---|---|---|---|');
  r.stages.forEach((s, i) =>
    L.push(
      `| ${i + 1} | ${s.title} | ${icon(s.verdict)} | ${s.seconds.toFixed(1)} s | ${s.summary.replace(/\|/g, '\\|')} |`,
    ),
  );
  L.push('');
  const failed = r.stages.filter((s) => s.verdict === 'fail');
  L.push('## What failed', '');
  if (!failed.length) L.push('Nothing.');
  for (const s of failed)
    L.push(`- **${s.title}**: ${s.summary} (raw output: ${s.files.map((f) => `\`${f}\``).join(', ') || '-'})`);
  L.push('');
  const doc = r.stages.find((s) => s.id === 'doctor');
  const facts = (doc?.figures as any)?.facts;
  if (doc) {
    L.push('## Board (doctor)', '', 'See `doctor.txt` for every check with its fix.', '');
    if (facts)
      L.push(
        `- RK3588: ${facts.rk3588}; kernel ${facts.kernelRelease ?? 'unknown'}; rocket config ${facts.rocketConfig}; accel node ${facts.accelNode ?? 'none'}; cores bound ${facts.npuCoresBound ?? '-'}; IOMMUs ${facts.iommusBound ?? '-'}; NPU clock ${facts.npuClockHz ?? '-'}`,
        '',
      );
  }
  const bench = r.stages.find((s) => s.id === 'bench');
  if (bench?.verdict === 'pass') {
    const f = bench.figures as any;
    L.push(
      '## Figures',
      '',
      `Tokens per second, llama-bench pp${f.p} / tg${f.n}${r.simulator ? " (simulator: the NPU row is the simulator's wall time; the MODEL rows are the timing model)" : ''}:`,
      '',
    );
    L.push(`| run | pp${f.p} t/s | tg${f.n} t/s |`, '|---|---|---|');
    L.push(`| CPU (RKNPU_DEVICE=off) | ${f.cpu_pp_tps.toFixed(2)} | ${f.cpu_tg_tps.toFixed(2)} |`);
    L.push(`| NPU${r.simulator ? ' (simulator)' : ''} | ${f.npu_pp_tps.toFixed(2)} | ${f.npu_tg_tps.toFixed(2)} |`);
    if (f.model_pp_tps_200 !== null) {
      L.push(`| NPU, timing MODEL 200 MHz | ${f.model_pp_tps_200.toFixed(2)} | ${f.npu_tg_tps.toFixed(2)} |`);
      L.push(`| NPU, timing MODEL 1 GHz | ${f.model_pp_tps_1000.toFixed(2)} | ${f.npu_tg_tps.toFixed(2)} |`);
    }
    L.push('', 'Decode (tg, batch 1) runs on the CPU by design (batches below RKNPU_MIN_BATCH stay on the CPU).', '');
  }
  const ppl = r.stages.find((s) => s.id === 'perplexity');
  if (ppl?.verdict === 'pass' || ppl?.verdict === 'fail') {
    const f = ppl.figures as any;
    if (f.ppl_cpu !== undefined)
      L.push(
        '## Accuracy',
        '',
        `| path | perplexity | mean KLD vs CPU | same top token |`,
        '|---|---|---|---|',
        `| CPU | ${f.ppl_cpu.toFixed(4)} | - | - |`,
        `| NPU | ${f.ppl_npu.toFixed(4)} | ${f.kld.toExponential(3)} | ${f.same_top_pct ?? '-'} % |`,
        '',
        `Bounds: perplexity within ${PPL_REL_BOUND * 100}% of the CPU's, mean KLD <= ${KLD_BOUND} (${f.chunks} chunks of ${f.context} tokens).`,
        '',
      );
  }
  if (r.plots.length) {
    L.push('## Plots', '');
    for (const p of r.plots) L.push(`![${p}](${p})`);
    L.push('');
  }
  if (r.fleet) {
    L.push(
      '## Fleet file',
      '',
      r.fleet.skipped_reason
        ? `Not updated: ${r.fleet.skipped_reason}`
        : `Updated \`${path.basename(r.fleet.file)}\`: ${r.fleet.written.length} kit-owned keys written${r.fleet.missing.length ? `; not in the file: ${r.fleet.missing.join(', ')}` : ''}.`,
      '',
    );
    if (r.fleet.mismatches.length)
      L.push(
        'Disagreements with the human-written keys (left unchanged):',
        '',
        ...r.fleet.mismatches.map((m) => `- ${m}`),
        '',
      );
    else if (!r.fleet.skipped_reason) L.push('The human-written keys the kit checks agree with what it found.', '');
  }
  if (!r.simulator) {
    L.push(
      '## Board tests this kit does not settle yet',
      '',
      'See docs/npu-mainline-status.md §12 for the commands: U6 (repeat this run after a reboot with `mem=4G`), U8 (clock enable counts during a job), U9 (power-domain on/off cycles), U10 (Mesa Teflon), U11 (IRQ counts per core), U12 (task/job overheads), U13 (job timeout). The matching `measured.*` keys stay `null`.',
      '',
    );
  }
  L.push(
    '## Commands run',
    '',
    '`$BIN` = bin dir of the pinned llama.cpp build, `$PLUGIN` = libggml-rknpu.so, `$NATIVE` = build/native/out.',
    '',
    '```sh',
  );
  for (const s of r.stages) for (const c of s.commands) L.push(c);
  L.push(
    '```',
    '',
    '## Files',
    '',
    r.stages
      .flatMap((s) => s.files)
      .concat(r.plots, ['report.json', 'report.md'])
      .map((f) => `\`${f}\``)
      .join(', '),
    '',
  );
  return L.join('\n');
}

/** Update the kit-owned keys of a fleet file from this run (only when the doctor found an RK3588). */
export function applyFleet(
  file: string,
  report: AcceptReport,
  d: DoctorReport | undefined,
  probe: any[] | undefined,
  hostname: string | null,
): NonNullable<AcceptReport['fleet']> {
  const text = fs.readFileSync(file, 'utf8');
  const cur = readFleet(text);
  let skip: string | null = null;
  if (cur.get('schema_version') !== 1) skip = `schema_version ${cur.get('schema_version')} is not 1`;
  else if (!d?.facts.rk3588)
    skip =
      'this machine is not an RK3588 (the doctor found no RK3588 device tree), so there is nothing to record for the board';
  if (skip) return { file, written: [], missing: [], skipped_reason: skip, mismatches: [] };
  const u = updateFleet(text, fleetUpdates(report, d, probe));
  fs.writeFileSync(file, u.text);
  return {
    file,
    written: u.written,
    missing: u.missing,
    skipped_reason: null,
    mismatches: fleetMismatches(cur, d!, hostname),
  };
}

export async function runAccept(o: AcceptOptions): Promise<AcceptReport> {
  fs.mkdirSync(o.outDir, { recursive: true });
  const c: Ctx = { o };
  const started = new Date().toISOString();
  const stages: StageResult[] = [];
  const total = STAGES.length + 1;
  for (const [i, [id, title, fn]] of STAGES.entries()) {
    const s: StageResult = {
      id,
      title,
      verdict: 'fail',
      summary: '',
      seconds: 0,
      commands: [],
      files: [],
      figures: {},
    };
    c.prefix = `[${i + 1}/${total}] ${title} ...`;
    o.say(c.prefix);
    const t0 = performance.now();
    try {
      await fn(c, s);
    } catch (e) {
      s.verdict = 'fail';
      s.summary = `error: ${(e as Error).message}`;
    }
    s.seconds = (performance.now() - t0) / 1000;
    o.say(
      `[${i + 1}/${total}] ${title} ... ${s.seconds.toFixed(0)} s ${s.verdict === 'pass' ? 'ok' : s.verdict.toUpperCase()}: ${s.summary}`,
    );
    stages.push(s);
  }
  o.say(`[${total}/${total}] report ...`);
  const report: AcceptReport = {
    tool: 'rosenblatt-dl accept',
    kit_version: kitVersion(o.repoRoot),
    started_at: started,
    finished_at: new Date().toISOString(),
    host: os.hostname(),
    arch: os.arch(),
    device: o.device,
    simulator: o.sim,
    quick: o.quick,
    model: o.model,
    text: o.text,
    npu_clock_hz: o.sim ? null : (c.doctor?.facts.npuClockHz ?? 'unknown'),
    note: o.sim
      ? 'SIMULATOR run: NPU figures are simulator + timing MODEL, not hardware'
      : 'hardware run on the rocket driver',
    verdict: stages.some((s) => s.verdict === 'fail') ? 'FAIL' : 'PASS',
    stages,
    plots: plots(c, o.outDir),
    fleet: null,
  };
  if (o.fleet) report.fleet = applyFleet(o.fleet, report, c.doctor, c.probe, o.root ? null : os.hostname());
  fs.writeFileSync(path.join(o.outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(path.join(o.outDir, 'report.md'), markdown(report));
  o.say(`[${total}/${total}] report ... ${report.verdict}: ${path.join(o.outDir, 'report.md')}`);
  return report;
}
