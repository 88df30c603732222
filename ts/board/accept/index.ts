// rosenblatt-dl accept: the hardware acceptance kit. Stages (stages/) run in order, each one's raw output
// is saved in the results folder, and the run ends with report.json, report.md and PNG plots. On the
// simulator the sizes are small and every figure is labelled as simulator + timing MODEL.
import fs from 'node:fs';
import os from 'node:os';
import { applyFleet } from './fleet-update.js';
import { writePlots } from './plots.js';
import { writeReport } from './report.js';
import { backendOpsStage } from './stages/backend-ops.js';
import { benchStage } from './stages/bench.js';
import { calibrateStage } from './stages/calibrate.js';
import { doctorStage } from './stages/doctor.js';
import { gemmStage } from './stages/gemm.js';
import { perplexityStage } from './stages/perplexity.js';
import { probeStage } from './stages/probe.js';
import type { AcceptOptions, AcceptReport, StageContext, StageFn, StageResult } from './types.js';
import { kitVersion } from '../../util/kit.js';

export { applyFleet, fleetMismatches, fleetUpdates } from './fleet-update.js';
export { parseBackendOps } from './stages/backend-ops.js';
export { KLD_BOUND, parsePerplexityKld, PPL_REL_BOUND } from './stages/perplexity.js';
export type { AcceptOptions, AcceptReport, StageResult, Verdict } from './types.js';

const STAGES: [string, string, StageFn][] = [
  ['doctor', 'doctor (board checks)', doctorStage],
  ['calibrate', 'calibrate (first-light ladder, board profile)', calibrateStage],
  ['probe', 'probe int8/fp16 x 1/2/3 cores', probeStage],
  ['gemm', 'GEMM sweep, bit-exact vs CPU', gemmStage],
  ['backend_ops', 'test-backend-ops MUL_MAT', backendOpsStage],
  ['bench', 'llama-bench CPU vs NPU', benchStage],
  ['perplexity', 'perplexity CPU vs NPU', perplexityStage],
];

async function runStage(c: StageContext, id: string, title: string, fn: StageFn): Promise<StageResult> {
  const s: StageResult = { id, title, verdict: 'fail', summary: '', seconds: 0, commands: [], files: [], figures: {} };
  const t0 = performance.now();
  try {
    await fn(c, s);
  } catch (e) {
    s.verdict = 'fail';
    s.summary = `error: ${(e as Error).message}`;
  }
  s.seconds = (performance.now() - t0) / 1000;
  return s;
}

export async function runAccept(o: AcceptOptions): Promise<AcceptReport> {
  fs.mkdirSync(o.outDir, { recursive: true });
  const sim = o.npu.device === 'sim';
  const c: StageContext = { o, sim, prefix: '', npu: o.npu };
  const started = new Date().toISOString();
  const stages: StageResult[] = [];
  const total = STAGES.length + 1;
  for (const [i, [id, title, fn]] of STAGES.entries()) {
    c.prefix = `[${i + 1}/${total}] ${title} ...`;
    o.say(c.prefix);
    const s = await runStage(c, id, title, fn);
    o.say(
      `${c.prefix} ${s.seconds.toFixed(0)} s ${s.verdict === 'pass' ? 'ok' : s.verdict.toUpperCase()}: ${s.summary}`,
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
    device: o.npu.device,
    simulator: sim,
    quick: o.quick,
    model: o.model,
    text: o.text,
    npu_clock_hz: sim ? null : (c.doctor?.facts.npuClockHz ?? 'unknown'),
    note: sim
      ? 'SIMULATOR run: NPU figures are simulator + timing MODEL, not hardware'
      : 'hardware run on the rocket driver',
    verdict: stages.some((s) => s.verdict === 'fail') ? 'FAIL' : 'PASS',
    stages,
    plots: writePlots(c),
    fleet: null,
  };
  if (o.fleet) report.fleet = applyFleet(o.fleet, report, c.doctor, c.probe, o.root ? null : os.hostname());
  const md = writeReport(o.outDir, report);
  o.say(`[${total}/${total}] report ... ${report.verdict}: ${md}`);
  return report;
}
