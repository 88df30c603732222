// Several users of one NPU (docs/reliability.md, "Several processes and contexts"): two llama contexts of one
// process generating on two threads at once through the koffi runtime (decodes on libuv's pool), and two
// processes with the plugin at once. Every answer must be exactly what the same request gives alone (greedy;
// a row's NPU result does not depend on what else runs), and nothing may deadlock (each part is bounded).
// On the simulator the processes each have their own software NPU; the board kit's probe stage runs two
// processes against rocket.
import { spawn } from 'node:child_process';
import t from 'tap';
import { Runtime, type Context, type Generation } from '../ts/runtime/llama.js';
import { binDir, cli, cliPath, e2eModel, pluginPath } from './helpers.js';

/** Long enough prompts that every prefill reaches the NPU (RKNPU_MIN_BATCH 8), different per context. */
const PROMPTS = [
  'The configuration file is read at start-up and every option it sets can be changed on the command line',
  'When the program receives a signal it writes the buffers it holds to disk and closes the log file',
  'A user may list the installed packages with their versions and remove those no other package needs',
  'The service listens on a local socket and answers each request with the status of the device',
];
const N_PREDICT = 12;
const ROUNDS = 2;
const DEADLOCK_MS = 240_000;

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s (deadlock?)`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

t.test('two llama contexts of one process generate on two threads at once', async (t) => {
  const rt = new Runtime({ binDir: binDir() });
  const plugin = rt.loadPlugin(pluginPath(), { device: 'sim' });
  rt.init();
  const model = rt.loadModel(e2eModel());
  const ctxs: Context[] = [model.newContext({ nCtx: 256, threads: 1 }), model.newContext({ nCtx: 256, threads: 1 })];
  t.teardown(() => {
    for (const c of ctxs) c.free();
    model.free();
  });
  const before = plugin.stats()?.matmuls ?? 0;
  for (let round = 0; round < ROUNDS; round++) {
    const prompts = [PROMPTS[2 * round], PROMPTS[2 * round + 1]].map((p) => model.tokenize(p));
    const alone = prompts.map((p, i) => ctxs[i].generate(p, { maxTokens: N_PREDICT }));
    // each decode's start and end, to show the two contexts' decodes overlapped in time
    const spans: [number, number][][] = [[], []];
    const timed = (i: number) => {
      const c = ctxs[i];
      const decode = c.decodeAsync.bind(c);
      c.decodeAsync = async (tokens: number[]) => {
        const s = performance.now();
        await decode(tokens);
        spans[i].push([s, performance.now()]);
      };
      return c.generateAsync(prompts[i], { maxTokens: N_PREDICT }).finally(() => {
        delete (c as Partial<Context>).decodeAsync; // back to the prototype's
      });
    };
    const both: Generation[] = await within(Promise.all([timed(0), timed(1)]), DEADLOCK_MS, `round ${round}`);
    for (let i = 0; i < 2; i++)
      t.same(
        both[i].tokens,
        alone[i].tokens,
        `round ${round}, context ${i}: the same ${alone[i].tokens.length} tokens as alone`,
      );
    const overlap = spans[0].some(([s0, e0]) => spans[1].some(([s1, e1]) => s0 < e1 && s1 < e0));
    t.ok(
      overlap,
      `round ${round}: the two contexts' decodes overlapped (${spans[0].length} + ${spans[1].length} decodes)`,
    );
  }
  const after = plugin.stats()?.matmuls ?? 0;
  t.ok(after > before, `the NPU did the prefill matmuls (${after - before} on RKNPU0)`);
});

/** One `rosenblatt-dl run` as a child process (asynchronous, so two can run at once). */
function runCli(prompt: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const args = [cliPath, 'run', '--no-chat', '-m', e2eModel(), '-p', prompt, '-n', String(N_PREDICT)];
    const child = spawn(process.execPath, args, { env: { ...process.env, RKNPU_DEVICE: 'sim' } });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), DEADLOCK_MS);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

t.test('two processes with the plugin at once', async (t) => {
  const prompts = [PROMPTS[0], PROMPTS[3]];
  const alone = prompts.map((p) =>
    cli(['run', '--no-chat', '-m', e2eModel(), '-p', p, '-n', String(N_PREDICT)], { RKNPU_DEVICE: 'sim' }),
  );
  const both = await Promise.all(prompts.map((p) => runCli(p)));
  for (let i = 0; i < 2; i++) {
    t.equal(
      alone[i].status,
      0,
      `process ${i} alone: exit 0${alone[i].status ? `\n${alone[i].stderr.slice(-400)}` : ''}`,
    );
    t.equal(both[i].status, 0, `process ${i} beside the other: exit 0 (not killed at the deadlock limit)`);
    t.equal(both[i].stdout, alone[i].stdout, `process ${i}: the same text as alone`);
    t.match(both[i].stderr, /NPU \(SOFTWARE SIMULATOR\): [1-9]\d* matmuls/, `process ${i}: its matmuls ran on the NPU`);
  }
});
