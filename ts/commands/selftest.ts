// rosenblatt-dl selftest: MUL_MAT and attention through the plugin against the CPU backend, as a table.
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { LlamaError } from '../runtime/errors.js';
import { chooseDevice, requireNpuDevice } from '../runtime/npu-settings.js';
import { defaultCases, NMSE_BOUND, runSelftest, type SelftestCase, type SelftestResult } from '../runtime/selftest.js';
import { llamaOptions, openRuntime, sayErr, type LlamaArgs } from './common.js';

interface SelftestArgs extends LlamaArgs {
  case?: string[];
  json?: boolean;
}

export const command = 'selftest';
export const describe =
  'MUL_MAT (every weight type) and attention on RKNPU0 vs the CPU backend (on the simulator when there is no NPU)';

export function builder(y: Argv) {
  return llamaOptions(y)
    .option('case', {
      type: 'string',
      array: true,
      describe:
        'TYPE:KxNxM, e.g. q4_K:1536x8960x64, or kq|fa:DxKVxM[xHEADSxKV_HEADS] for attention (default: a built-in set)',
    })
    .option('json', { type: 'boolean', describe: 'print JSON' });
}

function parseCase(s: string): SelftestCase {
  const m = /^(\w+):(\d+)x(\d+)x(\d+)(?:x(\d+)x(\d+))?$/.exec(s);
  if (!m) throw new Error(`bad --case '${s}': expected TYPE:KxNxM`);
  const c: SelftestCase = { type: m[1], K: Number(m[2]), N: Number(m[3]), M: Number(m[4]) };
  if (m[5]) Object.assign(c, { heads: Number(m[5]), kvHeads: Number(m[6]) });
  return c;
}

/** Width of the two-bound MODEL column ("0.123-0.456"). */
const MODEL_COLUMN = 22;

function row(r: SelftestResult): string {
  const f = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : '-');
  const nmse = Number.isFinite(r.nmse) ? r.nmse.toExponential(2) : '-';
  const result = r.ok ? 'ok' : `FAIL${r.error ? `: ${r.error}` : ''}`;
  const model = r.modelMs200 ? `${f(r.modelMs200[0], 3)}-${f(r.modelMs200[1], 3)}` : '-';
  return `${r.type.padEnd(6)} ${String(r.K).padStart(6)} ${String(r.N).padStart(6)} ${String(r.M).padStart(5)} ${nmse.padStart(10)} ${f(r.npuMs, 1).padStart(9)} ${model.padStart(MODEL_COLUMN)} ${f(r.cpuMs, 1).padStart(8)}  ${result}`;
}

export function handler(args: ArgumentsCamelCase<SelftestArgs>) {
  const { rt, plugin } = openRuntime(args, () => {
    const chosen = requireNpuDevice(chooseDevice({ say: sayErr }), 'selftest');
    // Every batch goes to the NPU here: the point is to exercise it, not to pick the faster side.
    return { ...chosen, minBatch: chosen.minBatch ?? '1' };
  });
  if (!plugin?.status.present) throw new LlamaError(`no RKNPU0 device: ${plugin?.status.reason}`);
  const cases = args.case?.length ? args.case.map(parseCase) : defaultCases();
  if (!args.json) {
    const source = plugin.stats()?.model_source ?? 'unknown';
    process.stdout.write(
      `MUL_MAT and attention (kq: GQA MUL_MAT on an F16 KV cache, fa: FLASH_ATTN_EXT; K = head size, N = keys, M = queries) on RKNPU0 vs CPU, NMSE bound ${NMSE_BOUND}; "NPU ms" measured${plugin.status.isSimulator ? ' (simulator wall time)' : ''}, "model ms" the timing MODEL at 200 MHz (optimistic-pessimistic, ${source})\n`,
    );
    process.stdout.write(
      `${'type'.padEnd(6)} ${'K'.padStart(6)} ${'N'.padStart(6)} ${'M'.padStart(5)} ${'NMSE'.padStart(10)} ${'NPU ms'.padStart(9)} ${'model ms @200 MHz'.padStart(MODEL_COLUMN)} ${'CPU ms'.padStart(8)}  result\n`,
    );
  }
  const results = runSelftest(
    rt.native,
    cases,
    (r) => {
      if (!args.json) process.stdout.write(`${row(r)}\n`);
    },
    () => plugin.stats(),
  );
  const failed = results.filter((r) => !r.ok).length;
  if (args.json) process.stdout.write(JSON.stringify({ bound: NMSE_BOUND, results }, null, 2) + '\n');
  else process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
  process.exitCode = failed ? 1 : 0;
}
