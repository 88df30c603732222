// The Qwen2.5-1.5B prefill projection with the NPU and the CPU together (issue 16): from the inputs of
// ts/tools/project-prefill.ts (NPU MODEL time per ubatch, host glue and the CPU's parts of the graph scaled to
// the A76), three configurations per clock and bound:
//
//   NPU only       every part serial: NPU + glue + the CPU's other work + lm_head (the issue 12 projection)
//   NPU + overlap  the host glue hidden behind NPU time, one core for it: max(NPU, glue) + other + lm_head; the
//                  ideal of pipelined glue, reached when every quantization and readout finds an NPU job to
//                  hide behind
//   NPU + CPU split  the weight matmuls' rows shared so that both engines finish together: the NPU side as in
//                  "overlap", the CPU side the Q4_0 kernels' measured time on the threads left beside the glue
//                  core (A76_THREADS - 1); time Tn·Tc / (Tn + Tc) + other + lm_head. Memory bandwidth shared by
//                  the two engines is not modelled (both are compute-bound at M >= 128).
//
// The recorded inputs are those of the run in docs/performance.md ("End-to-end projection"), so the plot can be
// drawn without perf; scripts/project-prefill.sh measures them again.
import { barChart } from '../util/plot.js';

/** docs/hardware/measurements.md §5 anchors, pp128 t/s. */
export const PREFILL_ANCHORS = { llamaCppCpu: 107.85, rkLlamaCpp: 280.8, rkllm: 338 } as const;
/** The A76 cores llama.cpp runs on (-t 4); the split keeps one of them for the NPU side's glue. */
export const A76_THREADS = 4;
const GLUE_CORES = 1;

/** Per ubatch of p tokens, in A76 milliseconds (NPU: MODEL, [optimistic, pessimistic]). */
export interface ProjectionInputs {
  p: number;
  npu_ms: { '200': [number, number]; '1000': [number, number] };
  glue_ms_a76: number;
  cpu_other_ms_a76: number;
  /** the weight matmuls on the CPU alone, on A76_THREADS threads */
  cpu_matmul_ms_a76: number;
  lm_head_ms_a76: number;
}

export interface ProjectedRates {
  npu_only: [number, number];
  overlap: [number, number];
  split: [number, number];
  /** the balanced CPU share of the weight matmuls' rows */
  cpu_share: [number, number];
}

export function projectPrefill(inp: ProjectionInputs): Record<'200' | '1000', ProjectedRates> {
  const serial = inp.cpu_other_ms_a76 + inp.lm_head_ms_a76;
  const tps = (ms: number) => inp.p / (ms / 1000);
  const cpuSide = (inp.cpu_matmul_ms_a76 * A76_THREADS) / (A76_THREADS - GLUE_CORES);
  const one = (npu: number) => {
    const npuSide = Math.max(npu, inp.glue_ms_a76);
    const share = npuSide / (npuSide + cpuSide);
    return {
      npu_only: tps(npu + inp.glue_ms_a76 + serial),
      overlap: tps(npuSide + serial),
      split: tps((npuSide * cpuSide) / (npuSide + cpuSide) + serial),
      share,
    };
  };
  const out = {} as Record<'200' | '1000', ProjectedRates>;
  for (const clock of ['200', '1000'] as const) {
    const [o, p] = inp.npu_ms[clock].map(one);
    out[clock] = {
      npu_only: [o.npu_only, p.npu_only],
      overlap: [o.overlap, p.overlap],
      split: [o.split, p.split],
      cpu_share: [o.share, p.share],
    };
  }
  return out;
}

/** The inputs of the recorded run (docs/performance.md, "End-to-end projection", 2-core x86_64 host, 14:32Z):
 * CPU time here × 0.19576 for the A76; the weight matmuls' part is their share of the perf samples. */
const RECORDED_SCALE = 0.1957589345289604;
const RECORDED_LM_HEAD_MS = 9.571968;
export const RECORDED_INPUTS: ProjectionInputs[] = [
  {
    p: 128,
    npu_ms: { '200': [353.652488, 704.35792], '1000': [138.36256, 371.006888] },
    glue_ms_a76: 53.29386649689228,
    cpu_other_ms_a76: 40.696445312243924,
    cpu_matmul_ms_a76: ((6062.73 * 91.53) / (91.53 + 3.25)) * RECORDED_SCALE,
    lm_head_ms_a76: RECORDED_LM_HEAD_MS,
  },
  {
    p: 512,
    npu_ms: { '200': [1359.594488, 2168.77024], '1000': [497.736232, 839.729576] },
    glue_ms_a76: 198.97047730526873,
    cpu_other_ms_a76: 312.80710866255987,
    cpu_matmul_ms_a76: ((23842.135 * 91.32) / (91.32 + 6.56)) * RECORDED_SCALE,
    lm_head_ms_a76: RECORDED_LM_HEAD_MS,
  },
];

/** The projection as a bar chart: one group per prompt length and clock, the anchors beside (pp128). */
export function projectionPlot(inputs: ProjectionInputs[], subtitle: string) {
  const groups: string[] = [];
  const cols: { only: number[]; overlap: number[]; split: number[]; cpu: number[]; rk: number[]; rkllm: number[] } = {
    only: [],
    overlap: [],
    split: [],
    cpu: [],
    rk: [],
    rkllm: [],
  };
  for (const inp of inputs) {
    const r = projectPrefill(inp);
    for (const clock of ['200', '1000'] as const) {
      groups.push(`PP${inp.p} ${clock === '200' ? '200MHZ' : '1GHZ'}`);
      // the midpoint of the two bounds: the chart shows where each configuration sits, the table both bounds
      const mid = (b: [number, number]) => (b[0] + b[1]) / 2;
      cols.only.push(mid(r[clock].npu_only));
      cols.overlap.push(mid(r[clock].overlap));
      cols.split.push(mid(r[clock].split));
      const anchor = inp.p === 128;
      cols.cpu.push(anchor ? PREFILL_ANCHORS.llamaCppCpu : NaN);
      cols.rk.push(anchor ? PREFILL_ANCHORS.rkLlamaCpp : NaN);
      cols.rkllm.push(anchor ? PREFILL_ANCHORS.rkllm : NaN);
    }
  }
  return barChart({
    title: 'QWEN2.5-1.5B PREFILL: NPU, OVERLAP, NPU+CPU SPLIT',
    subtitle,
    yLabel: 'tokens/s',
    groups,
    width: 960,
    labels: true,
    series: [
      { name: 'NPU ONLY', values: cols.only },
      { name: 'NPU+OVERLAP', values: cols.overlap },
      { name: 'NPU+CPU SPLIT', values: cols.split },
      { name: 'LLAMA.CPP CPU', values: cols.cpu },
      { name: 'RK-LLAMA.CPP 1GHZ', values: cols.rk },
      { name: 'RKLLM 1GHZ', values: cols.rkllm },
    ],
  });
}

/** The table of docs/performance.md ("CPU and NPU together"): t/s as optimistic-pessimistic. */
export function projectionTable(inputs: ProjectionInputs[]): string {
  const f = (b: [number, number]) => `${b[0].toFixed(0)}-${b[1].toFixed(0)}`;
  const pct = (b: [number, number]) => `${(100 * b[0]).toFixed(0)}-${(100 * b[1]).toFixed(0)} %`;
  const out = [
    '| prompt | NPU clock | NPU only | NPU + overlap | NPU + CPU split | CPU share of the rows |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const inp of inputs) {
    const r = projectPrefill(inp);
    for (const clock of ['200', '1000'] as const)
      out.push(
        `| pp${inp.p} | ${clock === '200' ? '200 MHz' : '1 GHz'} | ${f(r[clock].npu_only)} | ${f(r[clock].overlap)} | ${f(r[clock].split)} | ${pct(r[clock].cpu_share)} |`,
      );
  }
  out.push(
    '',
    `Anchors (pp128, measured): llama.cpp CPU ${PREFILL_ANCHORS.llamaCppCpu}, rk-llama.cpp ${PREFILL_ANCHORS.rkLlamaCpp} (1 GHz), RKLLM ~${PREFILL_ANCHORS.rkllm} (1 GHz) t/s.`,
  );
  return out.join('\n');
}
