// rosenblatt-dl run: generate text, streaming tokens to stdout.
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { defaultModelPath, requireFile } from '../lib/paths.js';
import { openRuntime, runtimeOptions, type RuntimeArgs } from './common.js';

interface RunArgs extends RuntimeArgs {
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
  return runtimeOptions(y)
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

/** "loading model: NN%" on stderr; on a terminal one line updated in place, elsewhere every 25%. */
function progressLine() {
  const tty = process.stderr.isTTY;
  let last = -1;
  return (p: number) => {
    const pct = Math.floor(p * 100);
    if (pct === last || (!tty && pct % 25 !== 0)) return;
    last = pct;
    process.stderr.write(
      tty
        ? `\rloading model (converting weights for the NPU): ${pct}%${pct === 100 ? '\n' : ''}`
        : `loading model (converting weights for the NPU): ${pct}%\n`,
    );
  };
}

export function handler(args: ArgumentsCamelCase<RunArgs>) {
  const modelPath =
    args.model ?? requireFile(defaultModelPath(), 'the default model', 'run `npm run setup` to make it');
  const { rt } = openRuntime(args, { simWhenNoNpu: true });
  const model = rt.loadModel(modelPath, { onProgress: progressLine() });
  const info = model.describe();
  process.stderr.write(`model: ${modelPath} (${info.desc}, ${(info.params / 1e6).toFixed(1)}M params)\n`);
  const ctx = model.newContext({ nCtx: args.ctx, threads: args.threads });
  try {
    const templated = args.chat ? model.applyChatTemplate(args.prompt) : null;
    const prompt = model.tokenize(templated ?? args.prompt);
    if (!templated) process.stdout.write(args.prompt);
    const gen = ctx.generate(prompt, {
      maxTokens: args['n-predict'],
      temperature: args.temp,
      seed: args.seed,
      topK: args['top-k'],
      topP: args['top-p'],
      onPiece: (bytes) => process.stdout.write(bytes),
    });
    process.stdout.write('\n');
    const tps = gen.tokens.length / Math.max(gen.genMs / 1000, 1e-9);
    process.stderr.write(
      `prompt: ${gen.promptTokens.length} tokens in ${gen.promptMs.toFixed(0)} ms; generated ${gen.tokens.length} tokens at ${tps.toFixed(1)} tokens/s\n`,
    );
    const npu = rt.rknpu()?.stats();
    if (npu) {
      process.stderr.write(
        `NPU: ${npu.matmuls} matmuls (${npu.tasks} tasks, ${npu.jobs} jobs); modelled NPU time ${npu.model_ms_200.toFixed(1)} ms at 200 MHz, ${npu.model_ms_1000.toFixed(1)} ms at 1 GHz; host glue ${npu.glue_ms.toFixed(1)} ms\n`,
      );
    }
  } finally {
    ctx.free();
    model.free();
  }
}
