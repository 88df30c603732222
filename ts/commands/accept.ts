// rosenblatt-dl accept: the hardware acceptance kit (ts/lib/accept.ts). One command on the board, one
// results folder to send back: report.json, report.md, PNG plots and every stage's raw output.
import fs from 'node:fs';
import path from 'node:path';
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { runAccept } from '../lib/accept.js';
import { defaultModelPath, nativeOutDir, pluginPath, repoRoot, requireFile, upstreamBinDir } from '../lib/paths.js';
import { chooseDevice, stamp } from './bench.js';

interface AcceptArgs {
  sim?: boolean;
  model?: string;
  file?: string;
  out?: string;
  quick?: boolean;
  fleet?: string;
  root?: string;
  threads?: number;
  backend?: string;
  'llama-bin'?: string;
}

export const command = 'accept';
export const describe =
  'hardware acceptance kit: doctor, probe, GEMM sweep, test-backend-ops, llama-bench, perplexity; report.json/.md + plots';

export function builder(y: Argv) {
  return y
    .option('sim', {
      type: 'boolean',
      describe: 'NPU stages on the software NPU (default when the machine has no /dev/accel); implies --quick',
    })
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
    .option('threads', { alias: 't', type: 'number', describe: 'CPU threads for llama-bench and perplexity' })
    .option('backend', { type: 'string', describe: 'plugin to load (default: the built libggml-rknpu.so)' })
    .option('llama-bin', { type: 'string', describe: 'bin dir of the pinned llama.cpp build' });
}

export async function handler(args: ArgumentsCamelCase<AcceptArgs>) {
  const say = (s: string) => process.stdout.write(`${s}\n`);
  // On a board the native tools and the plugin are told to use the rocket driver (no silent fallback).
  const chosen = chooseDevice(args.sim, (s) => process.stderr.write(`${s}\n`));
  const device = chosen === 'auto' ? 'rocket' : chosen;
  const sim = device === 'sim';
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
  const r = await runAccept({
    sim,
    device,
    quick: !!args.quick || sim,
    model,
    text,
    outDir,
    binDir: args['llama-bin'] ?? upstreamBinDir(),
    plugin: requireFile(args.backend ?? pluginPath(), 'plugin', 'run `npm run setup`'),
    nativeOut: nativeOutDir(),
    root: args.root,
    fleet: args.fleet ? path.resolve(args.fleet) : undefined,
    threads: args.threads,
    repoRoot,
    say,
    heartbeatMs: process.env.ROSENBLATT_PROGRESS_MS ? Number(process.env.ROSENBLATT_PROGRESS_MS) : undefined,
  });
  say(
    `accept: ${r.verdict}${sim ? ' (SIMULATOR run: figures are simulator + timing MODEL, not hardware)' : ''}; results in ${outDir}`,
  );
  process.exitCode = r.verdict === 'PASS' ? 0 : 1;
}
