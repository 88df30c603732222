// Stage 6: llama-bench CPU vs NPU plus the timing model (board/bench.ts).
import fs from 'node:fs';
import path from 'node:path';
import { runBench, type BenchResult } from '../../bench.js';
import type { StageFn } from '../types.js';

const QUICK = { p: 64, n: 16, reps: 1 };
const FULL = { p: 512, n: 128, reps: 3 };
const OUTPUTS = [
  'bench.json',
  'llama-bench-cpu.json',
  'llama-bench-cpu.log',
  'llama-bench-npu.json',
  'llama-bench-npu.log',
];

export const benchStage: StageFn = async (c, s) => {
  const { p, n, reps } = c.o.quick ? QUICK : FULL;
  let b: BenchResult;
  try {
    b = await runBench({
      model: c.o.model,
      binDir: c.o.binDir,
      plugin: c.o.plugin,
      npu: c.npu,
      p,
      n,
      reps,
      threads: c.o.threads,
      outDir: c.o.outDir,
      verbose: c.o.verbose,
      heartbeatMs: c.o.heartbeatMs,
      log: (l) => {
        if (/ running \d+ s: /.test(l)) c.o.say(`${c.prefix} ${l}`);
      },
    });
  } finally {
    for (const f of OUTPUTS) if (fs.existsSync(path.join(c.o.outDir, f))) s.files.push(f);
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
    model_pp_tps_200_opt: e?.pp_tps_200_opt ?? null,
    model_pp_tps_200_pess: e?.pp_tps_200_pess ?? null,
    model_pp_tps_1000_opt: e?.pp_tps_1000_opt ?? null,
    model_pp_tps_1000_pess: e?.pp_tps_1000_pess ?? null,
    model_estimate: e,
    npu_load_line: b.npu_load_line,
  };
  s.verdict = b.cpu.pp_tps > 0 && b.npu.pp_tps > 0 && b.cpu.tg_tps > 0 && b.npu.tg_tps > 0 ? 'pass' : 'fail';
  s.summary = `pp${p}: CPU ${b.cpu.pp_tps.toFixed(1)} t/s, NPU${c.sim ? ' (simulator wall)' : ''} ${b.npu.pp_tps.toFixed(1)} t/s${e ? `, MODEL ${e.pp_tps_200_opt.toFixed(1)}-${e.pp_tps_200_pess.toFixed(1)} t/s @200 MHz / ${e.pp_tps_1000_opt.toFixed(1)}-${e.pp_tps_1000_pess.toFixed(1)} @1 GHz (optimistic-pessimistic)` : ''}; tg${n}: CPU ${b.cpu.tg_tps.toFixed(1)}, NPU ${b.npu.tg_tps.toFixed(1)} t/s`;
};
