// NPU faults through the whole stack (koffi → libllama → scheduler → plugin → engine → simulator). Each
// simulated fault behaves as the kernel lets it (reset: success after the job timeout with outputs
// unwritten; dropped: no fence; slow: correct but late; dma) and must become an error at the llama.cpp
// API, in `rosenblatt-dl run` and in the stock llama-completion, with the reason; the next decode works;
// and no text computed from a faulted matmul is ever printed (the bytes before the error are a prefix of
// the fault-free greedy text). Also: the plugin unloads and reloads without leaking (valgrind).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { Runtime } from '../ts/runtime/llama.js';
import { logSink } from '../ts/runtime/log.js';
import type { NpuSettings } from '../ts/runtime/npu-settings.js';
import { binDir, cli, defaultModel, nativeOut, pluginPath, tool } from './helpers.js';

/** What each fault is reported as (after "failed on the NPU: simulated NPU core C, job J/N (tasks ...): "). */
const REASONS: Record<string, RegExp> = {
  reset: /treated as a core reset/,
  slow: /treated as a core reset/,
  // the after-SUBMIT fence check, or (when it could not tell) the job's output canaries
  dropped: /not accepted by the kernel|output canary of task \d+ .* untouched/,
  dma: /DMA fault/,
};
const FAULTS = ['reset', 'dropped', 'slow'];
const NAMED = /failed on the NPU: simulated NPU core \d, job \d+\/\d+ \(tasks \d+-\d+/;

// Batches of one token go to the NPU too, so faults can land in the middle of a generation.
const SETTINGS: NpuSettings = { device: 'sim', minBatch: '1' };
const PROMPT = 'The weights are converted once when the model is loaded, and the activations are quantized.';

t.test('through koffi: each fault fails decode with the reason; the next decode works', (t) => {
  const rt = new Runtime({ binDir: binDir(), verbose: true });
  const echoed: string[] = [];
  logSink.echo = (l) => echoed.push(l);
  const npu = rt.loadPlugin(pluginPath(), SETTINGS);
  rt.init();
  t.ok(npu.devices() === 1 && npu.status.isSimulator, 'RKNPU0 on the simulator');
  const m = rt.loadModel(defaultModel());
  const ctx = m.newContext({ nCtx: 256, threads: 2 });
  const prompt = m.tokenize(PROMPT);
  const before = ctx.generate(prompt, { maxTokens: 6 });
  const ran = npu.stats()!;
  t.ok(ran.matmuls > 0 && ran.failures === 0, `${ran.matmuls} matmuls on the NPU, no failure`);

  for (const fault of [...FAULTS, 'dma', 'timeout', 'reject']) {
    t.equal(npu.injectFault(`${fault}@1`), 0, `inject ${fault}`);
    ctx.clear();
    const reason = REASONS[fault] ?? REASONS[fault === 'timeout' ? 'reset' : 'dropped'];
    t.throws(() => ctx.decode(prompt), new RegExp(`llama_decode failed: .*${NAMED.source}.*${reason.source}`), fault);
    const again = ctx.generate(prompt, { maxTokens: 6 });
    t.same(again.tokens, before.tokens, `${fault}: the next inference works and agrees`);
  }
  t.equal(npu.stats()!.failures, 6, 'six failures counted');
  t.match(
    echoed.join(''),
    /MUL_MAT \S+ \(K=\d+, N=\d+, M=\d+, \d+ rows on the NPU\) failed on the NPU/,
    'the log names the matmul',
  );

  // Nothing computed from a faulted matmul reaches the text: inject in the middle of a generation.
  const bytes = (gen: () => void, out: Buffer[]): Buffer => {
    try {
      gen();
    } catch {
      /* the fault */
    }
    return Buffer.concat(out);
  };
  const cleanPieces: Buffer[] = [];
  const jobs0 = npu.stats()!.jobs;
  ctx.generate(prompt, { maxTokens: 16, onPiece: (p) => cleanPieces.push(p) });
  const clean = Buffer.concat(cleanPieces);
  const middle = Math.floor((npu.stats()!.jobs - jobs0) / 2);
  t.ok(clean.length > 0, `fault-free: ${clean.length} bytes in ${npu.stats()!.jobs - jobs0} NPU jobs`);
  for (const fault of FAULTS) {
    npu.injectFault(`${fault}@${middle}`);
    const pieces: Buffer[] = [];
    const got = bytes(() => ctx.generate(prompt, { maxTokens: 16, onPiece: (p) => pieces.push(p) }), pieces);
    npu.injectFault('none');
    t.ok(
      got.length > 0 && got.length < clean.length && clean.subarray(0, got.length).equals(got),
      `${fault}@${middle}: ${got.length} bytes before the error, a prefix of the fault-free ${clean.length}`,
    );
  }
  ctx.free();
  m.free();
  t.end();
});

t.test('rosenblatt-dl run: each fault ends the run with the reason and a non-zero status', (t) => {
  for (const fault of FAULTS) {
    // the acceptance line, literally: every job faults, so the prompt's first matmul fails
    const r = cli(['run', '--no-chat', '-p', PROMPT, '-n', '8'], { RKNPU_DEVICE: 'sim', RKNPU_SIM_FAULT: fault });
    t.not(r.status, 0, `RKNPU_SIM_FAULT=${fault}: exit status ${r.status}`);
    t.match(r.stderr, NAMED, '  the error names the core and the job');
    t.match(r.stderr, REASONS[fault], '  and the reason');
    t.equal(r.stdout, PROMPT, '  nothing after the prompt was printed');
  }
  const args = ['run', '--no-chat', '-p', PROMPT, '-n', '16'];
  const env = { RKNPU_DEVICE: 'sim', RKNPU_MIN_BATCH: '1' };
  const clean = cli(args, env);
  t.equal(clean.status, 0, clean.stderr.slice(-400));
  const jobs = Number(/(\d+) jobs\)/.exec(clean.stderr)?.[1] ?? 0);
  t.ok(jobs > 16, `fault-free: ${jobs} NPU jobs`);
  for (const fault of FAULTS) {
    const at = Math.floor(jobs / 2);
    const r = cli(args, { ...env, RKNPU_SIM_FAULT: `${fault}@${at}` });
    t.not(r.status, 0, `${fault}@${at}: exit status ${r.status}`);
    t.match(r.stderr, REASONS[fault], '  the reason');
    const out = Buffer.from(r.stdout);
    const ref = Buffer.from(clean.stdout);
    t.ok(
      out.length > PROMPT.length && out.length < ref.length - 1 && ref.subarray(0, out.length).equals(out),
      `  stdout (${out.length} bytes) is a prefix of the fault-free text (${ref.length} bytes) and stops there`,
    );
  }
  t.end();
});

t.test('llama-completion: each fault fails the run with the reason and a non-zero status', (t) => {
  for (const fault of FAULTS) {
    // The pinned llama-completion sometimes loses the tail of its asynchronous log (TODO.md): repeat a run
    // whose error line went missing; the status must be non-zero every time.
    let stderr = '';
    for (let attempt = 0; attempt < 3 && !REASONS[fault].test(stderr); attempt++) {
      const r = tool(
        'llama-completion',
        ['-m', defaultModel(), '-no-cnv', '-p', PROMPT, '-n', '8', '-t', '2', '--no-warmup'],
        { GGML_BACKEND_PATH: pluginPath(), RKNPU_DEVICE: 'sim', RKNPU_SIM_FAULT: fault },
      );
      t.not(r.status, 0, `RKNPU_SIM_FAULT=${fault}: exit status ${r.status}`);
      stderr = r.stderr;
    }
    t.match(stderr, NAMED, `  ${fault}: the error names the core and the job`);
    t.match(stderr, REASONS[fault], '  and the reason');
  }
  t.end();
});

const valgrind = spawnSync('valgrind', ['--version']).status === 0;
t.test('unload and reload leak nothing (valgrind)', { skip: !valgrind && 'valgrind not installed' }, (t) => {
  const r = spawnSync(
    'valgrind',
    [
      '--leak-check=full',
      '--errors-for-leak-kinds=definite',
      '--error-exitcode=99',
      path.join(nativeOut(), 'test_plugin'),
      '3',
    ],
    { encoding: 'utf8', timeout: 300_000 },
  );
  t.equal(r.status, 0, r.stderr.slice(-1500));
  t.match(r.stderr, /definitely lost: 0 bytes in 0 blocks|All heap blocks were freed/);
  t.match(r.stderr, /ERROR SUMMARY: 0 errors/);
  t.match(r.stdout, /ok \d+ - round 2: the next graph works/, 'three load/unload rounds ran');
  t.end();
});
