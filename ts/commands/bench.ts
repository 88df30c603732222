// rosenblatt-dl bench: pp/tg tokens per second, CPU vs NPU (or simulator + timing model), table, JSON, PNG.
import fs from 'node:fs';
import path from 'node:path';
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { formatBench, runBench } from '../lib/bench.js';
import { defaultModelPath, pluginPath, requireFile, upstreamBinDir } from '../lib/paths.js';

interface BenchArgs {
  model?: string;
  sim?: boolean;
  p?: number;
  n?: number;
  reps: number;
  threads?: number;
  out?: string;
  json?: boolean;
  'skip-estimate'?: boolean;
  backend?: string;
  'llama-bin'?: string;
}

export const command = 'bench';
export const describe =
  'pp/tg tokens/s with the NPU vs the CPU (llama-bench), plus the NPU timing model; table, JSON and PNG';

export function builder(y: Argv) {
  return y
    .option('model', { alias: 'm', type: 'string', describe: 'GGUF model (default: the embedded tiny Qwen2)' })
    .option('sim', {
      type: 'boolean',
      describe: 'NPU runs on the software NPU (default when the machine has no /dev/accel)',
    })
    .option('p', { type: 'number', describe: 'prompt tokens (default 512 on a board, 64 on the simulator)' })
    .option('n', { type: 'number', describe: 'generated tokens (default 128 on a board, 16 on the simulator)' })
    .option('reps', { alias: 'r', type: 'number', default: 3, describe: 'llama-bench repetitions' })
    .option('threads', { alias: 't', type: 'number', describe: 'CPU threads (llama-bench -t)' })
    .option('out', { type: 'string', describe: 'results folder (default: rosenblatt-results/bench-<UTC time>)' })
    .option('json', { type: 'boolean', describe: 'print the JSON result instead of the table' })
    .option('skip-estimate', { type: 'boolean', describe: 'skip the in-process timing-model prefill' })
    .option('backend', { type: 'string', describe: 'plugin to load (default: the built libggml-rknpu.so)' })
    .option('llama-bin', { type: 'string', describe: 'bin dir of the pinned llama.cpp build' });
}

/** --sim, else $RKNPU_DEVICE, else the simulator when there is no /dev/accel at all (announced), else auto. */
export function chooseDevice(sim: boolean | undefined, say: (s: string) => void): string {
  if (sim) return 'sim';
  const env = process.env.RKNPU_DEVICE;
  if (env && env !== 'off') return env;
  const accel = process.env.RKNPU_ACCEL_DIR ?? '/dev/accel';
  if (!fs.existsSync(accel)) {
    say(
      `rosenblatt-dl: no NPU on this machine (${accel} absent): the NPU runs use the SOFTWARE SIMULATOR; figures are simulator + timing MODEL, not hardware`,
    );
    return 'sim';
  }
  return 'auto';
}

export function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
}

export async function handler(args: ArgumentsCamelCase<BenchArgs>) {
  const say = (s: string) => process.stderr.write(`${s}\n`);
  const device = chooseDevice(args.sim, say);
  const sim = device === 'sim';
  const model = requireFile(args.model ?? defaultModelPath(), 'model', 'give -m MODEL.gguf or run `npm run setup`');
  const plugin = requireFile(args.backend ?? pluginPath(), 'plugin', 'run `npm run setup`');
  const outDir = path.resolve(args.out ?? path.join('rosenblatt-results', `bench-${stamp()}`));
  const r = await runBench({
    model,
    binDir: args['llama-bin'] ?? upstreamBinDir(),
    plugin,
    device,
    p: args.p ?? (sim ? 64 : 512),
    n: args.n ?? (sim ? 16 : 128),
    reps: args.reps,
    threads: args.threads,
    outDir,
    noModel: args['skip-estimate'],
    log: (l) => say(`bench: ${l}`),
    heartbeatMs: process.env.ROSENBLATT_PROGRESS_MS ? Number(process.env.ROSENBLATT_PROGRESS_MS) : undefined,
  });
  process.stdout.write(
    args.json
      ? `${JSON.stringify(r, null, 2)}\n`
      : formatBench(r) + `results: ${outDir} (bench.json, bench.png, llama-bench logs)\n`,
  );
}
