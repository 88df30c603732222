// The architectures proven on the NPU (docs/models.md): a tiny random-weight GGUF of each (qwen2 with Qwen2.5-3B's
// ratios, qwen3, gemma2, gemma3, and the mixture-of-experts qwen3moe), quantized to Q4_K_M, through the stock
// tools with the plugin on the simulator.
//
// For each: llama-completion (greedy) on the NPU and on the CPU: the NPU runs the prompt's matmuls (the plugin's
// debug lines with GGML_SCHED_DEBUG and -v), MUL_MAT_ID too for the MoE; then llama-perplexity over the same token windows on each, and the
// agreement rule on their log-probabilities (ts/util/logit-file.ts):
//   at >= 99 % of the positions the NPU's top token is the CPU's, or a near-tie by the CPU's own log-probabilities
//   (its log p of the NPU's pick within 1 nat of its top).
// Random weights make near-ties common: on these models the CPU's own quantized arithmetic disagrees with an exact
// evaluation at 2-5 % of the positions, so equal top tokens everywhere is not a property of either path. A routing
// mistake fails the rule (the control at the end).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { TINY_ARCHS } from '../ts/model/tiny-archs.js';
import { agreement, readLogitFile } from '../ts/util/logit-file.js';
import { cli, completion, fixtureModel, fixtureText, pluginPath, tool } from './helpers.js';

const TIE_NATS = 1;
const MIN_AGREEMENT = 0.99;
const MAX_REPEATS = 0.2; // a model that mostly repeats the token it read would not test its layers
const GENERATED = '16';
// 4 windows of 256 tokens: the NPU takes each window as one batch; the second halves are scored (508 positions)
const WINDOWS = ['-c', '256', '--chunks', '4', '-t', '2'];
// ~100 tokens: at 4 of 16 experts per token, 25 rows per expert on average, above RKNPU_MIN_BATCH
const PROMPT =
  'The kernel is responsible for managing the memory of the system and the processes that run on it. ' +
  'The perceptron was built in 1958 as a machine that learns to tell patterns apart. It weighed its inputs, ' +
  'added them up and fired when the sum passed a threshold. Today the same multiply and add runs on neural ' +
  'processing units.';

const sim = () => ({ GGML_BACKEND_PATH: pluginPath(), RKNPU_DEVICE: 'sim' });
const off = () => ({ GGML_BACKEND_PATH: pluginPath(), RKNPU_DEVICE: 'off' });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-models-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

/** llama-perplexity over the fixture text, saving the log-probabilities; the log on failure. */
function logProbs(model: string, env: Record<string, string>, file: string, extra: string[] = []): string {
  const r = tool(
    'llama-perplexity',
    ['-m', model, '-f', fixtureText(), ...WINDOWS, ...extra, '--kl-divergence-base', file],
    env,
  );
  return r.status === 0 ? '' : r.stderr.slice(-800) || `exit ${r.status}`;
}

/** The plugin's debug lines (GGML_SCHED_DEBUG): matmuls per graph the NPU ran, with the first one's rows. */
function npuGraphs(stderr: string) {
  return [
    ...stderr.matchAll(
      /RKNPU: graph of \d+ nodes: (\d+) MUL_MAT(?:\/attention)? and (\d+) MUL_MAT_ID on the NPU, the first (\S+) with (\d+) rows/g,
    ),
  ].map((m) => ({ mulMat: Number(m[1]), mulMatId: Number(m[2]), first: m[3], rows: Number(m[4]) }));
}

for (const spec of TINY_ARCHS) {
  t.test(`${spec.name}: ${spec.arch} with the ratios of ${spec.mirrors}`, (t) => {
    const model = fixtureModel(spec.name);
    const args = ['-m', model, '-no-cnv', '-p', PROMPT, '-n', GENERATED, '--temp', '0', '-t', '2', '--no-warmup'];
    const npu = completion([...args, '-v'], { ...sim(), GGML_SCHED_DEBUG: '1' });
    const cpu = completion(args, off());
    t.equal(npu.status, 0, 'llama-completion with the plugin (simulator)', { stderr: npu.stderr.slice(-600) });
    t.equal(cpu.status, 0, 'llama-completion on the CPU', { stderr: cpu.stderr.slice(-600) });
    const graphs = npuGraphs(npu.stderr);
    const prompt = graphs.filter((g) => g.rows >= 8);
    t.ok(prompt.length > 0, `the NPU ran the prompt's matmuls (${graphs.length} graphs)`);
    t.ok(
      prompt.some((g) => /^Qcur-0/.test(g.first)) && prompt.some((g) => /^ffn_(up|gate|moe_gate)-0/.test(g.first)),
      'attention and FFN projections among them',
    );
    if (spec.arch === 'qwen3moe') {
      t.ok(
        prompt.some((g) => g.mulMatId > 0),
        `MUL_MAT_ID on the NPU (${prompt.reduce((s, g) => s + g.mulMatId, 0)} nodes)`,
      );
    }
    t.ok(npu.stdout.length > PROMPT.length, 'text generated');
    const greedySame = npu.stdout === cpu.stdout;

    const cpuFile = path.join(dir, `${spec.name}-cpu.bin`),
      npuFile = path.join(dir, `${spec.name}-npu.bin`);
    t.equal(logProbs(model, off(), cpuFile), '', 'llama-perplexity on the CPU');
    t.equal(logProbs(model, sim(), npuFile), '', 'llama-perplexity with the plugin (simulator)');
    const a = agreement(readLogitFile(cpuFile), readLogitFile(npuFile), TIE_NATS);
    t.comment(
      `${spec.name}: greedy ${GENERATED} tokens ${greedySame ? 'equal' : 'differ'}; ${a.positions} positions: same top ` +
        `${(100 * a.sameTop).toFixed(1)} %, same or near-tie ${(100 * a.sameTopOrTie).toFixed(1)} %, largest gap ` +
        `${a.maxGapNats.toFixed(2)} nat, rms log-prob difference ${a.rmsDiffNats.toFixed(3)} nat`,
    );
    t.ok(a.rmsDiffNats > 0, 'the NPU run computed differently from the CPU run (it did run)');
    t.ok(
      a.refRepeats < MAX_REPEATS,
      `the model predicts more than its input (repeats ${(100 * a.refRepeats).toFixed(1)} %)`,
    );
    t.ok(
      a.sameTopOrTie >= MIN_AGREEMENT,
      `same top token or a near-tie at ${(100 * a.sameTopOrTie).toFixed(1)} % >= ${100 * MIN_AGREEMENT} % of positions`,
    );
    t.end();
  });
}

t.test('the MoE fixture through rosenblatt-dl: expert batches counted on the NPU', (t) => {
  const r = cli(['run', '-m', fixtureModel('tiny-qwen3moe'), '--no-chat', '-p', PROMPT, '-n', '4'], {
    RKNPU_DEVICE: 'sim',
  });
  t.equal(r.status, 0, 'rosenblatt-dl run', { stderr: r.stderr.slice(-600) });
  const m = /(\d+) matmuls, (\d+) of them MoE expert batches \((\d+) smaller expert batches on the CPU\)/.exec(
    r.stderr,
  );
  t.ok(m && Number(m[2]) > 0, `expert batches on the NPU: ${m?.[0]}`);
  t.end();
});

t.test('control: a routing mistake fails the agreement rule', (t) => {
  // The CPU itself, told to use 3 experts per token instead of 4: only the least-weighted expert is dropped.
  const model = fixtureModel('tiny-qwen3moe');
  const ref = path.join(dir, 'control-ref.bin'),
    wrong = path.join(dir, 'control-3-experts.bin');
  t.equal(logProbs(model, off(), ref), '', 'the reference: 4 experts per token');
  t.equal(
    logProbs(model, off(), wrong, ['--override-kv', 'qwen3moe.expert_used_count=int:3']),
    '',
    '3 experts per token',
  );
  const a = agreement(readLogitFile(ref), readLogitFile(wrong), TIE_NATS);
  t.ok(a.sameTopOrTie < MIN_AGREEMENT, `same top or near-tie at ${(100 * a.sameTopOrTie).toFixed(1)} %: fails`);
  t.end();
});
