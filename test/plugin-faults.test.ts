// NPU faults through the whole stack (koffi → libllama → scheduler → plugin → simulator): a fault
// fails llama_decode with the reason, the next decode works and gives the same result as before;
// the plugin unloads and reloads without leaking (valgrind over the C driver test_plugin).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { Runtime } from '../ts/runtime/llama.js';
import { logSink } from '../ts/runtime/log.js';
import { binDir, defaultModel, nativeOut, pluginPath } from './helpers.js';

t.test('an injected NPU fault fails decode; the next decode works', (t) => {
  const rt = new Runtime({ binDir: binDir(), verbose: true });
  const echoed: string[] = [];
  logSink.echo = (l) => echoed.push(l);
  const npu = rt.loadPlugin(pluginPath(), { device: 'sim' });
  rt.init();
  t.ok(npu.devices() === 1 && npu.status.isSimulator, 'RKNPU0 on the simulator');
  const m = rt.loadModel(defaultModel());
  const ctx = m.newContext({ nCtx: 256, threads: 2 });
  const prompt = m.tokenize(
    'The weights are converted once when the model is loaded, and the activations are quantized.',
  );
  t.ok(prompt.length >= 8, `a prompt of ${prompt.length} tokens goes to the NPU`);
  const before = ctx.generate(prompt, { maxTokens: 6 });
  const ran = npu.stats()!;
  t.ok(ran.matmuls > 0 && ran.failures === 0, `${ran.matmuls} matmuls on the NPU, no failure`);

  for (const fault of ['timeout', 'dma', 'reject']) {
    t.equal(npu.injectFault(`${fault}@1`), 0, `inject ${fault}`);
    ctx.clear();
    t.throws(
      () => ctx.decode(prompt),
      /llama_decode failed: .*failed on the NPU/,
      `${fault}: decode fails with the reason`,
    );
    const again = ctx.generate(prompt, { maxTokens: 6 });
    t.same(again.tokens, before.tokens, `${fault}: the next inference works and agrees`);
  }
  t.equal(npu.stats()!.failures, 3, 'three failures counted');
  t.match(echoed.join(''), /injected fault 'timeout'/, 'the log names the fault');
  ctx.free();
  m.free();
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
