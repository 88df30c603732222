// Stage 4: the bench-gemm sweep, every int32 result bit-exact vs the CPU, every case within its bound.
import fs from 'node:fs';
import path from 'node:path';
import { toolEnv } from '../../../runtime/npu-settings.js';
import { lastLine, ToolOutputError } from '../../../util/tool.js';
import { runStageTool } from '../stage-tool.js';
import type { StageFn } from '../types.js';

export const gemmStage: StageFn = async (c, s) => {
  const exe = path.join(c.o.nativeOut, 'bench-gemm');
  const json = path.join(c.o.outDir, 'gemm.json');
  // the envelope the plugin runs in: the calibrated board profile, else what was asked for, else safe
  const envelope = c.npu.profile
    ? ['--envelope', 'board', '--profile', c.npu.profile]
    : c.npu.envelope === 'safe' || c.npu.envelope === 'vendor'
      ? ['--envelope', c.npu.envelope]
      : [];
  const args = [
    '--device',
    c.npu.device,
    ...envelope,
    '--verify',
    '--json',
    json,
    ...(c.o.quick ? ['--shapes', 'small', '--m', '1,8,32'] : ['--shapes', 'all', '--mode', 'both']),
  ];
  const r = await runStageTool(c, s, 'gemm.txt', exe, args, toolEnv(c.npu));
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
      // timing MODEL [optimistic, pessimistic]
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
