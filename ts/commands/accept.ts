// rosenblatt-dl accept: the hardware acceptance kit (ts/board/accept/). One command on the board, one
// results folder to send back: report.json, report.md, PNG plots and every stage's raw output.
import fs from 'node:fs';
import path from 'node:path';
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { runAccept } from '../board/accept/index.js';
import { chooseDevice, requireNpuDevice } from '../runtime/npu-settings.js';
import { defaultModelPath, nativeOutDir, repoRoot, requireFile } from '../util/paths.js';
import { stamp } from '../util/time.js';
import { llamaOptions, llamaPaths, progressIntervalMs, sayErr, simOption, type LlamaArgs } from './common.js';

interface AcceptArgs extends LlamaArgs {
  sim?: boolean;
  model?: string;
  file?: string;
  out?: string;
  quick?: boolean;
  fleet?: string;
  root?: string;
  threads?: number;
}

export const command = 'accept';
export const describe =
  'hardware acceptance kit: doctor, calibrate, probe, GEMM sweep, test-backend-ops, llama-bench, perplexity; report.json/.md + plots';

export function builder(y: Argv) {
  return simOption(
    llamaOptions(y),
    'NPU stages on the software NPU (default when the machine has no /dev/accel); implies --quick',
  )
    .option('model', {
      alias: 'm',
      type: 'string',
      describe:
        'GGUF model for llama-bench and perplexity (default: ../shared/models/tiny-qwen2 Q4_K_M when present, else the embedded tiny Qwen2)',
    })
    .option('file', {
      alias: 'f',
      type: 'string',
      describe:
        'text for perplexity (default: ../shared/models/tiny-qwen2/valid.txt with the default model; without one the stage is skipped)',
    })
    .option('out', {
      type: 'string',
      describe: 'results folder (default: rosenblatt-results/accept-<host>-<UTC time>)',
    })
    .option('quick', { type: 'boolean', describe: 'small sizes (pp64/tg16, 4 perplexity chunks, small GEMM sweep)' })
    .option('fleet', {
      type: 'string',
      describe: 'fleet/<host>.yaml whose kit-owned keys to update (only on an RK3588)',
    })
    .option('root', { type: 'string', describe: 'sysroot for the doctor stage (tests)' })
    .option('threads', { alias: 't', type: 'number', describe: 'CPU threads for llama-bench and perplexity' });
}

export async function handler(args: ArgumentsCamelCase<AcceptArgs>) {
  const say = (s: string) => process.stdout.write(`${s}\n`);
  const chosen = requireNpuDevice(chooseDevice({ requested: args.sim ? 'sim' : undefined, say: sayErr }), 'accept');
  // On a board the native tools and the plugin are told to use the rocket driver (no silent fallback).
  const npu = { ...chosen, device: chosen.device === 'auto' ? 'rocket' : chosen.device };
  const sim = npu.device === 'sim';
  // Defaults: the shared tiny Qwen2 (trained weights, with its validation text) when present, else the
  // embedded random-weight model (then perplexity only runs with -f).
  const shared = path.resolve(repoRoot, '..', 'shared', 'models', 'tiny-qwen2');
  const sharedModel = path.join(shared, 'tiny-qwen2-q4_k_m.gguf');
  const sharedText = path.join(shared, 'valid.txt');
  const useShared = !args.model && fs.existsSync(sharedModel) && fs.existsSync(sharedText);
  const model = requireFile(
    path.resolve(args.model ?? (useShared ? sharedModel : defaultModelPath())),
    'model',
    'give -m MODEL.gguf or run `npm run setup`',
  );
  const text = args.file ? requireFile(path.resolve(args.file), 'text', 'give -f TEXT') : useShared ? sharedText : null;
  const outDir = path.resolve(args.out ?? path.join('rosenblatt-results', `accept-${sim ? 'sim' : 'npu'}-${stamp()}`));
  const { binDir, plugin } = llamaPaths(args);
  const r = await runAccept({
    npu,
    quick: !!args.quick || sim,
    model,
    text,
    outDir,
    binDir,
    plugin,
    nativeOut: nativeOutDir(),
    root: args.root,
    fleet: args.fleet ? path.resolve(args.fleet) : undefined,
    threads: args.threads,
    repoRoot,
    say,
    heartbeatMs: progressIntervalMs(),
    verbose: args.verbose,
  });
  say(
    `accept: ${r.verdict}${sim ? ' (SIMULATOR run: figures are simulator + timing MODEL, not hardware)' : ''}; results in ${outDir}`,
  );
  process.exitCode = r.verdict === 'PASS' ? 0 : 1;
}
