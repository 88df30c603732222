// Generation over FFI on the embedded default model (the plugin loaded, RKNPU_DEVICE=auto): greedy is deterministic and matches stock
// llama-completion token for token; sampling with a seed is reproducible; bad input is an error.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Runtime } from '../ts/runtime/llama.js';
import { binDir, defaultModel, e2eModel, pluginPath, sharedModel, tool } from './helpers.js';

const rt = new Runtime({ binDir: binDir() });
rt.loadPlugin(pluginPath(), { device: 'auto' });
rt.init();

function generate(model: string, prompt: string, n: number, opts: { temperature?: number; seed?: number } = {}) {
  const m = rt.loadModel(model);
  const ctx = m.newContext({ nCtx: 256, threads: 2 });
  try {
    return ctx.generate(m.tokenize(prompt), { maxTokens: n, ...opts });
  } finally {
    ctx.free();
    m.free();
  }
}

function stockGreedy(model: string, prompt: string, n: number): string {
  // The pinned llama-completion sometimes loses the tail of its (asynchronous) log, the generated
  // text included, and still exits 0 (see TODO.md). A complete run ends with its perf summary, so
  // runs without it are repeated a few times.
  for (let attempt = 0; attempt < 5; attempt++) {
    const r = tool(
      'llama-completion',
      ['-m', model, '-no-cnv', '-p', prompt, '-n', String(n), '--temp', '0', '-t', '2', '-c', '256', '--no-warmup'],
      { GGML_BACKEND_PATH: pluginPath(), RKNPU_DEVICE: 'auto' },
    );
    if (r.status !== 0) throw new Error(`llama-completion failed: ${r.stderr.slice(-500)}`);
    if (/total time =/.test(r.stderr)) return r.stdout;
  }
  throw new Error('llama-completion never produced a complete log in 5 runs');
}

t.test('greedy on the default model', (t) => {
  const a = generate(defaultModel(), 'The perceptron', 24);
  const b = generate(defaultModel(), 'The perceptron', 24);
  t.equal(a.tokens.length, 24, 'generated the requested tokens');
  t.same(a.tokens, b.tokens, 'deterministic across runs');
  t.equal(
    stockGreedy(defaultModel(), 'The perceptron', 24).trimEnd(),
    'The perceptron' + a.text,
    'identical to llama-completion',
  );
  t.end();
});

t.test('seeded sampling is reproducible', (t) => {
  const a = generate(defaultModel(), 'An array', 16, { temperature: 0.9, seed: 7 });
  const b = generate(defaultModel(), 'An array', 16, { temperature: 0.9, seed: 7 });
  const g = generate(defaultModel(), 'An array', 16);
  t.same(a.tokens, b.tokens, 'same seed, same tokens');
  t.notSame(a.tokens, g.tokens, 'sampling differs from greedy');
  t.end();
});

t.test('a second model: the trained tiny Qwen2 (Q8_0) when present, else the default model', (t) => {
  const q8 = e2eModel('tiny-qwen2-q8_0.gguf');
  const g = generate(q8, 'The kernel', 32);
  t.equal(stockGreedy(q8, 'The kernel', 32).trimEnd(), 'The kernel' + g.text, 'identical to llama-completion');
  if (sharedModel('tiny-qwen2-q8_0.gguf')) t.match(g.text, /[a-z]{3,} [a-z]{2,}/, 'a trained model writes words');
  t.end();
});

t.test('bad input is a readable error', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-bad-'));
  const bad = path.join(dir, 'bad.gguf');
  fs.writeFileSync(bad, Buffer.from('this is not a gguf file at all'));
  t.throws(() => rt.loadModel(bad), /failed to load model .*invalid magic/, 'bad GGUF');
  t.throws(() => rt.loadModel(path.join(dir, 'missing.gguf')), /model file not found/, 'missing file');
  const m = rt.loadModel(defaultModel());
  const ctx = m.newContext({ nCtx: 64 });
  const n = ctx.nCtx();
  t.throws(
    () => ctx.generate(m.tokenize('x'.repeat(10)), { maxTokens: n }),
    new RegExp(`exceed the context of ${n}`),
    'context overflow',
  );
  t.throws(() => ctx.decode([m.nVocab() + 5]), /llama_decode failed/, 'out-of-vocabulary token');
  ctx.free();
  m.free();
  fs.rmSync(dir, { recursive: true, force: true });
  t.end();
});
