// rosenblatt-dl bench: pp/tg tokens per second, CPU vs NPU (or simulator + timing model), table, JSON, PNG.
import path from 'node:path';
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { formatBench, runBench } from '../board/bench.js';
import { chooseDevice, requireNpuDevice } from '../runtime/npu-settings.js';
import { defaultModelPath, requireFile } from '../util/paths.js';
import { stamp } from '../util/time.js';
import { llamaOptions, llamaPaths, progressIntervalMs, sayErr, simOption, type LlamaArgs } from './common.js';

interface BenchArgs extends LlamaArgs {
  model?: string;
  sim?: boolean;
  p?: number;
  n?: number;
  reps: number;
  threads?: number;
  out?: string;
  json?: boolean;
  'skip-estimate'?: boolean;
}

export const command = 'bench';
export const describe =
  'pp/tg tokens/s with the NPU vs the CPU (llama-bench), plus the NPU timing model; table, JSON and PNG';

// Sizes: the board's are the usual llama-bench ones; the simulator's keep a run to seconds.
const BOARD = { p: 512, n: 128 };
const SIM = { p: 64, n: 16 };

export function builder(y: Argv) {
  return simOption(llamaOptions(y), 'NPU runs on the software NPU (default when the machine has no /dev/accel)')
    .option('model', { alias: 'm', type: 'string', describe: 'GGUF model (default: the embedded tiny Qwen2)' })
    .option('p', { type: 'number', describe: 'prompt tokens (default 512 on a board, 64 on the simulator)' })
    .option('n', { type: 'number', describe: 'generated tokens (default 128 on a board, 16 on the simulator)' })
    .option('reps', { alias: 'r', type: 'number', default: 3, describe: 'llama-bench repetitions' })
    .option('threads', { alias: 't', type: 'number', describe: 'CPU threads (llama-bench -t)' })
    .option('out', { type: 'string', describe: 'results folder (default: rosenblatt-results/bench-<UTC time>)' })
    .option('json', { type: 'boolean', describe: 'print the JSON result instead of the table' })
    .option('skip-estimate', { type: 'boolean', describe: 'skip the in-process timing-model prefill' });
}

export async function handler(args: ArgumentsCamelCase<BenchArgs>) {
  const npu = requireNpuDevice(chooseDevice({ requested: args.sim ? 'sim' : undefined, say: sayErr }), 'bench');
  const size = npu.device === 'sim' ? SIM : BOARD;
  const model = requireFile(args.model ?? defaultModelPath(), 'model', 'give -m MODEL.gguf or run `npm run setup`');
  const { binDir, plugin } = llamaPaths(args);
  const outDir = path.resolve(args.out ?? path.join('rosenblatt-results', `bench-${stamp()}`));
  const r = await runBench({
    model,
    binDir,
    plugin,
    npu,
    p: args.p ?? size.p,
    n: args.n ?? size.n,
    reps: args.reps,
    threads: args.threads,
    outDir,
    noModel: args['skip-estimate'],
    verbose: args.verbose,
    log: (l) => sayErr(`bench: ${l}`),
    heartbeatMs: progressIntervalMs(),
  });
  process.stdout.write(
    args.json
      ? `${JSON.stringify(r, null, 2)}\n`
      : formatBench(r) + `results: ${outDir} (bench.json, bench.png, llama-bench logs)\n`,
  );
}
