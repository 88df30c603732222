// rosenblatt-dl run: generate text. The text streams to stdout as it is generated; stderr gets one
// summary line (before it, only the line saying the simulator is used, when it is); llama.cpp's log
// and the model-loading progress only with --verbose (progress also on a terminal).
import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { Generation } from '../runtime/llama.js';
import { chooseDevice } from '../runtime/npu-settings.js';
import { modelRange, shareText, type RknpuPlugin } from '../runtime/plugin.js';
import { defaultModelPath, requireFile } from '../util/paths.js';
import { llamaOptions, noBackendOption, openRuntime, sayErr, type LlamaArgs } from './common.js';

interface RunArgs extends LlamaArgs {
  model?: string;
  prompt: string;
  'n-predict': number;
  temp: number;
  seed: number;
  'top-k': number;
  'top-p': number;
  ctx: number;
  threads?: number;
  chat: boolean;
}

export const command = ['run', '$0'];
export const describe = 'generate text from a prompt (default command)';

export function builder(y: Argv) {
  return noBackendOption(llamaOptions(y))
    .option('model', {
      alias: 'm',
      type: 'string',
      describe: 'GGUF model (default: the embedded tiny Qwen2 made by setup)',
    })
    .option('prompt', { alias: 'p', type: 'string', default: 'The NPU', describe: 'prompt text' })
    .option('n-predict', { alias: 'n', type: 'number', default: 32, describe: 'tokens to generate' })
    .option('temp', { type: 'number', default: 0, describe: 'temperature (0 = greedy, deterministic)' })
    .option('seed', { alias: 's', type: 'number', default: 42, describe: 'sampling seed' })
    .option('top-k', { type: 'number', default: 40 })
    .option('top-p', { type: 'number', default: 0.95 })
    .option('ctx', { alias: 'c', type: 'number', default: 512, describe: 'context size' })
    .option('threads', { alias: 't', type: 'number', describe: 'CPU threads' })
    .option('chat', { type: 'boolean', default: true, describe: "use the model's chat template when it has one" });
}

/** Non-terminal progress lines with --verbose: one per quarter. */
const PROGRESS_STEP_PCT = 25;

/**
 * "<label>: NN%" on stderr: on a terminal one line updated in place and erased when done; elsewhere
 * only with --verbose, every 25%.
 */
function progressLine(label: string, verbose: boolean): ((fraction: number) => void) | undefined {
  const tty = !!process.stderr.isTTY;
  if (!tty && !verbose) return undefined;
  let last = -1;
  return (p: number) => {
    const pct = Math.floor(p * 100);
    if (pct === last || (!tty && pct % PROGRESS_STEP_PCT !== 0)) return;
    last = pct;
    if (!tty) process.stderr.write(`${label}: ${pct}%\n`);
    else process.stderr.write(pct === 100 && !verbose ? '\r\x1b[K' : `\r${label}: ${pct}%${pct === 100 ? '\n' : ''}`);
  };
}

function perSecond(n: number, ms: number): string {
  return (n / Math.max(ms / 1000, 1e-9)).toFixed(1);
}

/** The one line on stderr: prompt and generation speeds, and which device ran the NPU work. */
export function summaryLine(gen: Generation, plugin: RknpuPlugin | null): string {
  const speeds = `prompt: ${gen.promptTokens.length} tokens in ${gen.promptMs.toFixed(0)} ms (${perSecond(gen.promptTokens.length, gen.promptMs)} tokens/s); generated ${gen.tokens.length} tokens at ${perSecond(gen.tokens.length, gen.genMs)} tokens/s`;
  if (!plugin) return `${speeds}; CPU only (--no-backend)`;
  const label = plugin.deviceLabel();
  const npu = plugin.stats();
  if (!label || !npu) return `${speeds}; no NPU (${plugin.status.reason}): all on the CPU`;
  const experts =
    npu.expert_matmuls + npu.expert_cpu_matmuls > 0
      ? `, ${npu.expert_matmuls} of them MoE expert batches (${npu.expert_cpu_matmuls} smaller expert batches on the CPU)`
      : '';
  const attention = `, attention ${npu.attention_ops} ops (${npu.attention_matmuls} matmuls)`;
  const share = shareText(npu);
  return `${speeds}; NPU (${label}): ${npu.matmuls} matmuls${experts} (${npu.tasks} tasks, ${npu.jobs} jobs)${attention}${share ? `, ${share}` : ''}, NPU time ${modelRange(npu.model_ms_200_opt, npu.model_ms_200_pess, '200 MHz')}, ${modelRange(npu.model_ms_1000_opt, npu.model_ms_1000_pess, '1 GHz')} [${npu.model_source}], host glue ${npu.glue_ms.toFixed(1)} ms`;
}

export function handler(args: ArgumentsCamelCase<RunArgs>) {
  const modelPath =
    args.model ?? requireFile(defaultModelPath(), 'the default model', 'run `npm run setup` to make it');
  const { rt, plugin } = openRuntime(args, () => chooseDevice({ say: sayErr }), { cpuOnlyAllowed: true });
  const converting = !!plugin?.status.present;
  const label = converting ? 'loading model (converting weights for the NPU)' : 'loading model';
  const model = rt.loadModel(modelPath, { onProgress: progressLine(label, !!args.verbose) });
  if (args.verbose) {
    const info = model.describe();
    sayErr(`model: ${modelPath} (${info.desc}, ${(info.params / 1e6).toFixed(1)}M params)`);
  }
  const ctx = model.newContext({ nCtx: args.ctx, threads: args.threads });
  let gen: Generation;
  try {
    const templated = args.chat ? model.applyChatTemplate(args.prompt) : null;
    const prompt = model.tokenize(templated ?? args.prompt);
    if (!templated) process.stdout.write(args.prompt);
    gen = ctx.generate(prompt, {
      maxTokens: args['n-predict'],
      temperature: args.temp,
      seed: args.seed,
      topK: args['top-k'],
      topP: args['top-p'],
      onPiece: (bytes) => process.stdout.write(bytes),
    });
    process.stdout.write('\n');
  } finally {
    ctx.free();
    model.free();
  }
  // Last, after llama.cpp's teardown lines of -v.
  sayErr(summaryLine(gen, plugin));
}
