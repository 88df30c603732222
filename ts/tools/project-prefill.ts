// End-to-end projection of a Qwen2.5-1.5B prefill (pp128, pp512) on the RK3588 with the NPU plugin:
// NPU time from the timing MODEL (both bounds, 200 MHz and 1 GHz) + host glue and the CPU share of the graph,
// measured on this machine and scaled to the board's Cortex-A76 by one stated factor. Prints the table of
// docs/performance.md ("End-to-end projection") and writes the inputs and results as JSON.
//
//   node dist/tools/project-prefill.js [--out DIR] [--skip-glue]     (scripts/project-prefill.sh builds first)
//   node dist/tools/project-prefill.js --reuse DIR    the tables and plot again from DIR/projection.json
//
// Also the issue 16 configurations (ts/board/prefill-projection.ts): NPU only, NPU + overlapped glue, NPU + CPU
// split, as a table and DIR/projection.png.
//
// Measured here: the CPU time of llama-bench pp128/pp512 on a random-weight GGUF with Qwen2.5-1.5B's matmul
// shapes (Q4_0, the quantization of the llama.cpp CPU anchor), single-threaded, as perf's task-clock (the
// host is shared, so wall time would measure the other jobs); the split of that time into weight matmuls and
// everything else (attention, norms, RoPE, SwiGLU, ...) from perf samples; the host glue per matmul from
// bench-gemm (thread CPU time). Modelled: the NPU time (bench-gemm --model-only, vendor envelope).
// Scaled: CPU time here x (the A76's published pp128 time / this machine's pp128 CPU time).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { QWEN25_1_5B_SHAPE } from '../model/tiny-qwen2.js';
import { projectionPlot, projectionTable, type ProjectionInputs } from '../board/prefill-projection.js';
import { cacheRoot, nativeOutDir, repoRoot, upstreamBinDir } from '../util/paths.js';

/** docs/hardware/measurements.md §5 A4: llama.cpp CPU, Qwen2.5-1.5B plain Q4_0, pp128, 4×A76 (-t 4). */
const A76_PP128_TPS = 107.85;
const A76_THREADS = 4;
/** docs/hardware/measurements.md §5 anchors (pp128 unless stated). */
const ANCHORS = [
  { what: 'RKLLM v1.3.0, NPU w8a8 (A1)', pp128: 338, note: 'measured, 1 GHz NPU, 3 cores, vendor stack' },
  { what: 'rk-llama.cpp, NPU W8A8 via vendor matmul API (A5)', pp128: 280.8, note: 'measured, 1 GHz, vendor driver' },
  { what: 'llama.cpp CPU, Q4_0, 4xA76 (A4)', pp128: A76_PP128_TPS, note: 'measured' },
];
/** The tied lm_head of the real model (vocab 151936, Q6_K in a Q4_0 file) for the last token's logits: a
 * memory-bound GEMV on the CPU (M = 1 < RKNPU_MIN_BATCH), read at the A76's ~20 GB/s (docs/hardware/measurements.md §4). */
const LM_HEAD_BYTES = 1536 * 151936 * (210 / 256);
const A76_READ_GBPS = 20;
const PROMPTS = [128, 512];
const LAYER_SHAPES = ['attn_q/attn_o', 'attn_k/attn_v', 'ffn_gate/up', 'ffn_down'];
const PERF_HZ = 499;
const TOP_SYMBOLS = 6;

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, env: opts.env ?? process.env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${(r.stderr ?? '').slice(-600)}`);
  return `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
}

function log(s: string) {
  process.stderr.write(`project-prefill: ${s}\n`);
}

/** The Q4_0 GGUF with Qwen2.5-1.5B's matmul shapes (random weights), cached next to the default model. */
function shapedModel(bin: string): string {
  const dir = path.join(cacheRoot(), 'models');
  const out = path.join(dir, 'rosenblatt-qwen2.5-1.5b-shape-q4_0.gguf');
  const key = JSON.stringify(QWEN25_1_5B_SHAPE);
  if (fs.existsSync(out) && fs.readFileSync(`${out}.key`, 'utf8') === key) return out;
  fs.mkdirSync(dir, { recursive: true });
  const f16 = `${out}.f16.tmp`;
  log('making the Qwen2.5-1.5B-shaped F16 GGUF (random weights, a few minutes)');
  run(process.execPath, [path.join(repoRoot, 'dist', 'tools', 'make-tiny-qwen2.js'), '--qwen2.5-1.5b-shape', f16]);
  run(path.join(bin, 'llama-quantize'), [f16, out, 'Q4_0']);
  fs.rmSync(f16);
  fs.writeFileSync(`${out}.key`, key);
  return out;
}

function benchArgs(model: string, p: number, reps: number): string[] {
  return ['-m', model, '-p', String(p), '-n', '0', '-t', '1', '-r', String(reps)];
}

/** CPU milliseconds of one single-threaded pp run: the task-clock of 3 reps minus that of 1 rep, halved. */
function cpuMsPerRun(bin: string, model: string, p: number): number {
  const clock = (reps: number) => {
    const out = run('perf', [
      'stat',
      '-x',
      ',',
      '-e',
      'task-clock',
      path.join(bin, 'llama-bench'),
      ...benchArgs(model, p, reps),
    ]);
    const line = out.split('\n').find((l) => l.includes(',task-clock'));
    if (!line) throw new Error('perf stat printed no task-clock');
    return Number(line.split(',')[0]);
  };
  return (clock(3) - clock(1)) / 2;
}

/** Weight-matmul kernels (and the activation quantization that feeds them) vs the rest of the graph. */
const MATMUL_SYMBOL = /gemm|gemv|mul_mat|quantize_mat|quantize_row_q8|vec_dot_q|tinyBLAS|sgemm/i;
/** Model loading, not the prefill: the kernel (page faults), the repack at load, the dynamic loader. */
const LOAD_SYMBOL = /^\[k\]|repack_|_dl_|do_lookup/;

function cpuSplit(
  bin: string,
  model: string,
  p: number,
  dir: string,
): { matmul: number; other: number; top: string[] } {
  const data = path.join(dir, `perf-pp${p}.data`);
  run('perf', [
    'record',
    '-q',
    '-F',
    String(PERF_HZ),
    '-o',
    data,
    path.join(bin, 'llama-bench'),
    ...benchArgs(model, p, 3),
  ]);
  const report = run('perf', ['report', '-i', data, '--no-children', '--sort', 'sym', '--stdio', '-F', 'overhead,sym']);
  let matmul = 0,
    other = 0;
  const rest: { sym: string; pct: number }[] = [];
  for (const line of report.split('\n')) {
    const m = /^\s*([0-9.]+)%\s+(\[[.k]\])\s+(.*)$/.exec(line);
    if (!m) continue;
    const pct = Number(m[1]),
      sym = `${m[2]} ${m[3].trim()}`;
    if (LOAD_SYMBOL.test(sym) || LOAD_SYMBOL.test(m[3])) continue;
    if (MATMUL_SYMBOL.test(m[3])) matmul += pct;
    else {
      other += pct;
      rest.push({ sym: m[3].trim(), pct });
    }
  }
  fs.rmSync(data, { force: true });
  const top = rest
    .sort((x, y) => y.pct - x.pct)
    .slice(0, TOP_SYMBOLS)
    .map((r) => `${r.sym} ${r.pct.toFixed(2)}%`);
  return { matmul, other, top };
}

interface GemmCase {
  shape: string;
  M: number;
  per_layer: number;
  glue_ms?: number;
  model_ms_200mhz: [number, number];
  model_ms_1ghz: [number, number];
  reuse_tasks?: number;
}

function readCases(file: string): GemmCase[] {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { cases: GemmCase[] }).cases;
}

/** The issue 16 inputs from a projection.json: the weight matmuls' CPU time is their share of the samples. */
function splitInputs(result: any): ProjectionInputs[] {
  return result.rows.map((r: any) => {
    const c = result.cpu_here[r.p];
    return {
      p: r.p,
      npu_ms: r.npu_ms,
      glue_ms_a76: r.glue_ms_a76,
      cpu_other_ms_a76: r.cpu_other_ms_a76,
      cpu_matmul_ms_a76: ((c.ms * c.matmul_pct) / (c.matmul_pct + c.other_pct)) * result.scale_cpu_ms_here_to_a76_ms,
      lm_head_ms_a76: r.lm_head_ms_a76,
    };
  });
}

function printSplit(result: any, outDir: string) {
  const inputs = splitInputs(result);
  fs.writeFileSync(
    path.join(outDir, 'projection.png'),
    projectionPlot(
      inputs,
      'NPU: TIMING MODEL, MIDPOINT OF ITS BOUNDS - CPU AND GLUE MEASURED HERE, SCALED TO 4XA76',
    ).toPng(),
  );
  process.stdout.write(`\n${projectionTable(inputs)}\n`);
  process.stdout.write(
    `CPU weight matmuls (4xA76, scaled): ${inputs.map((i) => `pp${i.p} ${i.cpu_matmul_ms_a76.toFixed(1)} ms`).join(', ')}; plot: ${path.join(outDir, 'projection.png')}\n`,
  );
}

function main() {
  const argv = process.argv.slice(2);
  const outDir = argv.includes('--out') ? argv[argv.indexOf('--out') + 1] : path.join(repoRoot, 'build', 'projection');
  if (argv.includes('--reuse')) {
    const dir = argv[argv.indexOf('--reuse') + 1];
    printSplit(JSON.parse(fs.readFileSync(path.join(dir, 'projection.json'), 'utf8')), dir);
    return;
  }
  const skipGlue = argv.includes('--skip-glue');
  fs.mkdirSync(outDir, { recursive: true });
  const bin = upstreamBinDir();
  const native = nativeOutDir();
  const model = shapedModel(bin);
  const layers = QWEN25_1_5B_SHAPE.nLayer;

  // CPU here: time per run and its split.
  const cpu: Record<number, { ms: number; matmul_pct: number; other_pct: number; other_ms: number; top: string[] }> =
    {};
  for (const p of PROMPTS) {
    log(`llama-bench pp${p}, 1 thread, under perf (CPU time and its split)`);
    const ms = cpuMsPerRun(bin, model, p);
    const s = cpuSplit(bin, model, p, outDir);
    const frac = s.other / (s.matmul + s.other);
    cpu[p] = { ms, matmul_pct: s.matmul, other_pct: s.other, other_ms: ms * frac, top: s.top };
  }
  const a76Pp128Ms = (128 / A76_PP128_TPS) * 1000;
  const scale = a76Pp128Ms / cpu[128].ms; // CPU ms here (1 thread) -> A76 wall ms (4 threads)

  // NPU: the timing MODEL of the layers' matmuls at M = p.
  const modelJson = path.join(outDir, 'model-only.json');
  log('bench-gemm --model-only (vendor envelope)');
  run(path.join(native, 'bench-gemm'), [
    '--model-only',
    '--m',
    PROMPTS.join(','),
    '--shapes',
    LAYER_SHAPES.join(','),
    '--envelope',
    'vendor',
    '--json',
    modelJson,
  ]);
  const plans = readCases(modelJson);

  // Host glue per matmul, measured on the software NPU here (thread CPU time on the critical path).
  let glueCases: GemmCase[] = [];
  if (!skipGlue) {
    const glueJson = path.join(outDir, 'glue.json');
    log('bench-gemm on the simulator for the host glue (minutes)');
    run(path.join(native, 'bench-gemm'), [
      '--device',
      'sim',
      '--m',
      PROMPTS.join(','),
      '--shapes',
      LAYER_SHAPES.join(','),
      '--cpu-threads',
      '1',
      '--cpu-reps',
      '1',
      '--envelope',
      'vendor',
      '--json',
      glueJson,
    ]);
    glueCases = readCases(glueJson);
  }

  const lmHeadMs = (LM_HEAD_BYTES / (A76_READ_GBPS * 1e9)) * 1000;
  const rows: any[] = [];
  for (const p of PROMPTS) {
    const sum = (f: (k: GemmCase) => number, cases: GemmCase[]) =>
      cases.filter((k) => k.M === p).reduce((a, k) => a + f(k) * k.per_layer * layers, 0);
    const perLayer = (name: string) => plans.find((k) => k.shape === name)?.per_layer ?? 0;
    for (const k of glueCases) k.per_layer = perLayer(k.shape);
    const npu = {
      '200': [0, 1].map((b) => sum((k) => k.model_ms_200mhz[b], plans)),
      '1000': [0, 1].map((b) => sum((k) => k.model_ms_1ghz[b], plans)),
    };
    const glueHere = sum((k) => k.glue_ms ?? 0, glueCases);
    const glueA76 = glueHere * scale * A76_THREADS;
    const otherA76 = cpu[p].other_ms * scale;
    const cpuOnlyA76 = cpu[p].ms * scale + lmHeadMs;
    const host = glueA76 + otherA76 + lmHeadMs;
    const tps = (npuMs: number) => p / ((npuMs + host) / 1000);
    rows.push({
      p,
      npu_ms: npu,
      glue_ms_here: glueHere,
      glue_ms_a76: glueA76,
      cpu_other_ms_a76: otherA76,
      lm_head_ms_a76: lmHeadMs,
      cpu_only_tps_a76: p / (cpuOnlyA76 / 1000),
      tps_200: [tps(npu['200'][0]), tps(npu['200'][1])],
      tps_1000: [tps(npu['1000'][0]), tps(npu['1000'][1])],
    });
  }
  const result = {
    tool: 'project-prefill',
    model,
    a76_pp128_tps: A76_PP128_TPS,
    a76_threads: A76_THREADS,
    cpu_here: cpu,
    scale_cpu_ms_here_to_a76_ms: scale,
    lm_head_ms_a76: lmHeadMs,
    rows,
  };
  fs.writeFileSync(path.join(outDir, 'projection.json'), JSON.stringify(result, null, 2) + '\n');

  const f = (v: number) => v.toFixed(0);
  const out: string[] = [];
  out.push(`| configuration | pp128 t/s | pp512 t/s | measured / modelled |`, '|---|---:|---:|---|');
  for (const a of ANCHORS) out.push(`| ${a.what} | ${a.pp128} | - | ${a.note} |`);
  const [r128, r512] = rows;
  out.push(
    `| llama.cpp CPU, this machine scaled to 4xA76 | ${f(r128.cpu_only_tps_a76)} | ${f(r512.cpu_only_tps_a76)} | pp128 equals A4 by construction; pp512 scaled |`,
  );
  for (const [clock, key] of [
    ['200 MHz', 'tps_200'],
    ['1 GHz', 'tps_1000'],
  ] as const)
    out.push(
      `| Rosenblatt NPU ${clock}, model (optimistic-pessimistic) | ${f(r128[key][0])}-${f(r128[key][1])} | ${f(r512[key][0])}-${f(r512[key][1])} | NPU modelled; glue and CPU share measured here, scaled |`,
    );
  out.push('');
  out.push('| per ubatch (ms) | pp128 | pp512 |', '|---|---:|---:|');
  const ms = (v: number) => v.toFixed(1);
  for (const [clock, key] of [
    ['200', '200'],
    ['1000', '1000'],
  ] as const)
    out.push(
      `| NPU matmuls @${clock} MHz, model (optimistic-pessimistic) | ${ms(r128.npu_ms[key][0])}-${ms(r128.npu_ms[key][1])} | ${ms(r512.npu_ms[key][0])}-${ms(r512.npu_ms[key][1])} |`,
    );
  out.push(
    `| host glue (measured here ${ms(r128.glue_ms_here)} / ${ms(r512.glue_ms_here)} ms, scaled) | ${ms(r128.glue_ms_a76)} | ${ms(r512.glue_ms_a76)} |`,
  );
  out.push(`| CPU share of the graph (scaled) | ${ms(r128.cpu_other_ms_a76)} | ${ms(r512.cpu_other_ms_a76)} |`);
  out.push(`| lm_head for the last token (CPU, bandwidth estimate) | ${ms(lmHeadMs)} | ${ms(lmHeadMs)} |`);
  out.push('');
  out.push(
    `CPU here, 1 thread: pp128 ${ms(cpu[128].ms)} ms (weight matmuls ${cpu[128].matmul_pct.toFixed(1)} %, rest ${cpu[128].other_pct.toFixed(1)} % of the samples), pp512 ${ms(cpu[512].ms)} ms (${cpu[512].matmul_pct.toFixed(1)} % / ${cpu[512].other_pct.toFixed(1)} %); scale to the A76 ${scale.toFixed(4)} (= ${ms(a76Pp128Ms)} ms / ${ms(cpu[128].ms)} ms); largest non-matmul symbols at pp512: ${cpu[512].top.join(', ')}.`,
  );
  process.stdout.write(out.join('\n') + '\n');
  printSplit(result, outDir);
}

main();
