// Stage 7: llama-perplexity --kl-divergence, CPU (RKNPU_DEVICE=off) as the base, then the NPU against it.
import fs from 'node:fs';
import path from 'node:path';
import { pluginVarsSet, toolEnv, type NpuSettings } from '../../../runtime/npu-settings.js';
import { ToolOutputError } from '../../../util/tool.js';
import { noDeviceReason, pluginLoadLine } from '../../plugin-log.js';
import { runStageTool } from '../stage-tool.js';
import type { StageContext, StageFn, StageResult } from '../types.js';

// Bounds as in docs/accuracy.md and test/accuracy.test.ts.
export const PPL_REL_BOUND = 0.01;
export const KLD_BOUND = 0.01;

const QUICK_ARGS = ['-c', '128', '--chunks', '4'];
const FULL_ARGS = ['-c', '512', '--chunks', '32'];

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

function perplexity(c: StageContext, s: StageResult, file: string, npu: NpuSettings, args: string[]) {
  return runStageTool(
    c,
    s,
    file,
    path.join(c.o.binDir, 'llama-perplexity'),
    args,
    toolEnv(npu, { GGML_BACKEND_PATH: c.o.plugin }),
    { GGML_BACKEND_PATH: '$PLUGIN', ...pluginVarsSet(npu) },
  );
}

export const perplexityStage: StageFn = async (c, s) => {
  if (!c.o.text) {
    s.verdict = 'skip';
    s.summary = 'no text given (-f TEXT)';
    return;
  }
  const ctxArgs = c.o.quick ? QUICK_ARGS : FULL_ARGS;
  const base = path.join(c.o.outDir, 'perplexity-cpu.kld');
  const common = ['-m', c.o.model, '-f', c.o.text, ...ctxArgs, ...(c.o.threads ? ['-t', String(c.o.threads)] : [])];
  const cpu = await perplexity(c, s, 'perplexity-cpu.txt', { device: 'off' }, [
    ...common,
    '--kl-divergence-base',
    base,
  ]);
  if (cpu.status !== 0) throw new Error(`llama-perplexity (CPU) exited with ${cpu.status}; see perplexity-cpu.txt`);
  const npu = await perplexity(c, s, 'perplexity-npu.txt', c.npu, [
    ...common,
    '--kl-divergence-base',
    base,
    '--kl-divergence',
  ]);
  fs.rmSync(base, { force: true });
  if (npu.status !== 0) throw new Error(`llama-perplexity (NPU) exited with ${npu.status}; see perplexity-npu.txt`);
  if (!pluginLoadLine(npu.stderr))
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
