// Stage 5: the stock test-backend-ops, MUL_MAT on RKNPU0 against the CPU backend.
import path from 'node:path';
import { pluginVarsSet, toolEnv } from '../../../runtime/npu-settings.js';
import { ToolOutputError } from '../../../util/tool.js';
import { noDeviceReason } from '../../plugin-log.js';
import { runStageTool } from '../stage-tool.js';
import type { StageFn } from '../types.js';

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

export const backendOpsStage: StageFn = async (c, s) => {
  const args = ['-o', 'MUL_MAT', '-b', 'RKNPU0', ...(c.o.quick ? ['-p', 'type_a=(q4_K|q8_0)'] : [])];
  const r = await runStageTool(
    c,
    s,
    'test-backend-ops.txt',
    path.join(c.o.binDir, 'test-backend-ops'),
    args,
    toolEnv(c.npu, { GGML_BACKEND_PATH: c.o.plugin }),
    { GGML_BACKEND_PATH: '$PLUGIN', ...pluginVarsSet(c.npu) },
  );
  const why = noDeviceReason(r.stderr);
  if (why) throw new Error(`the plugin registered no NPU device: ${why}`);
  const p = parseBackendOps(r.stdout + r.stderr);
  s.figures = { ...p };
  s.verdict = p.ok && r.status === 0 ? 'pass' : 'fail';
  s.summary = `${p.passed}/${p.total} MUL_MAT cases match the CPU backend${c.o.quick ? ' (quick: q4_K and q8_0 weights)' : ''}`;
};
