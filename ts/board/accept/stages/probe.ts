// Stage 3: npu-probe, int8 and fp16 on 1, 2 and 3 cores; int8 must be bit-exact, fp16 within tolerance. Then
// two int8 probes on all cores from two processes at once: on rocket that is two clients of the kernel's
// schedulers and IOMMU domains submitting to the same cores (docs/reliability.md); both must stay bit-exact.
import path from 'node:path';
import { toolEnv } from '../../../runtime/npu-settings.js';
import { ToolOutputError } from '../../../util/tool.js';
import { runStageTool } from '../stage-tool.js';
import type { ProbeRun, StageFn } from '../types.js';

const DTYPES = ['int8', 'fp16'];
const CORE_COUNTS = [1, 2, 3];
const CONCURRENT = ['a', 'b'];

/** The JSON result line npu-probe --json prints last. */
export function parseProbeJson(stdout: string): any {
  const line = stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  const j = JSON.parse(line ?? '');
  if (j.tool !== 'npu-probe' || typeof j.ok !== 'boolean') throw new Error('not an npu-probe result');
  return j;
}

export const probeStage: StageFn = async (c, s) => {
  const exe = path.join(c.o.nativeOut, 'npu-probe');
  const probe = async (dtype: string, cores: number, file: string): Promise<ProbeRun> => {
    const args = ['--device', c.npu.device, '--dtype', dtype, '--cores', String(cores), '--json'];
    const r = await runStageTool(c, s, file, exe, args, toolEnv(c.npu));
    let j: any;
    try {
      j = parseProbeJson(r.stdout);
    } catch (e) {
      throw new ToolOutputError(
        `npu-probe --json output not recognised (${(e as Error).message}; exit ${r.status}; see ${file})`,
      );
    }
    return {
      dtype,
      cores,
      ok: j.ok && r.status === 0,
      driver: j.driver,
      simulator: j.simulator,
      error: j.error,
      cases: j.cases,
    };
  };
  const results: ProbeRun[] = [];
  for (const dtype of DTYPES)
    for (const cores of CORE_COUNTS) results.push(await probe(dtype, cores, `probe-${dtype}-${cores}core.txt`));
  const maxCores = CORE_COUNTS[CORE_COUNTS.length - 1];
  const together = await Promise.all(
    CONCURRENT.map((p) => probe('int8', maxCores, `probe-int8-${maxCores}core-concurrent-${p}.txt`)),
  );
  c.probe = results;
  const badTogether = together.filter((r) => !r.ok);
  const bad = results.filter((r) => !r.ok);
  s.figures = {
    runs: results.map((r) => ({
      dtype: r.dtype,
      cores: r.cores,
      ok: r.ok,
      driver: r.driver,
      error: r.error,
      model_ms: r.cases?.map((k: any) => k.model_ms), // timing MODEL [optimistic, pessimistic]
      wall_ms: r.cases?.map((k: any) => k.wall_ms),
    })),
    concurrent: together.map((r) => ({ ok: r.ok, error: r.error })),
  };
  s.verdict = bad.length || badTogether.length ? 'fail' : 'pass';
  const errs = [...new Set(bad.map((r) => r.error ?? 'failed'))];
  s.summary =
    bad.length === results.length && errs.length === 1
      ? `all ${results.length} runs failed: ${errs[0]}`
      : bad.length
        ? `failed: ${bad.map((r) => `${r.dtype} ${r.cores} core(s)${r.error ? `: ${r.error}` : ''}`).join('; ')}`
        : `6/6 runs ok (int8 bit-exact, fp16 within tolerance; driver ${results[0]?.driver})`;
  s.summary += badTogether.length
    ? `; two processes at once: ${badTogether.map((r) => r.error ?? 'failed').join('; ')}`
    : bad.length
      ? ''
      : `; two processes at once ok`;
};
