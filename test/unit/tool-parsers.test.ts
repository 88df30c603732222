// The parsers of the tools' output the kit reads: llama-bench -o json, test-backend-ops,
// llama-perplexity --kl-divergence, npu-probe --json, and the plugin's load line in a stock tool's log.
import t from 'tap';
import { parseBackendOps } from '../../ts/board/accept/stages/backend-ops.js';
import { parsePerplexityKld } from '../../ts/board/accept/stages/perplexity.js';
import { parseProbeJson } from '../../ts/board/accept/stages/probe.js';
import { parseLlamaBenchJson } from '../../ts/board/bench.js';
import { noDeviceReason, pluginLoadLine } from '../../ts/board/plugin-log.js';

t.test('tool output parsers fail with a clear message', (t) => {
  t.throws(() => parseLlamaBenchJson('| model | size |\n|---|---|'), /llama-bench output not recognised/);
  t.throws(() => parseLlamaBenchJson('[{"x":1}]'), /without avg_ts/);
  const ok = parseLlamaBenchJson('noise [{"n_prompt":64,"n_gen":0,"avg_ts":10},{"n_prompt":0,"n_gen":16,"avg_ts":5}]');
  t.equal(ok.pp.avg_ts, 10);
  t.equal(ok.tg.avg_ts, 5);
  t.throws(() => parseBackendOps('something else'), /test-backend-ops output not recognised/);
  t.same(parseBackendOps('  19/19 tests passed\n  Backend RKNPU: \x1b[1;32mOK\x1b[0m\n'), {
    passed: 19,
    total: 19,
    ok: true,
  });
  t.equal(parseBackendOps('  18/19 tests passed\n  Backend RKNPU: FAIL\n').ok, false);
  t.throws(() => parsePerplexityKld('Final estimate: PPL = 3.0'), /--kl-divergence output not recognised/);
  t.end();
});

t.test('llama-perplexity --kl-divergence summary', (t) => {
  const out = [
    'Mean PPL(Q)                   :  12.345600 ±   0.5',
    'Mean PPL(base)                :  12.300000 ±   0.5',
    'Mean    KLD:   0.001234 ±   0.0001',
    'Same top p: 97.500 ± 0.1 %',
  ].join('\n');
  t.same(parsePerplexityKld(out), { ppl_q: 12.3456, ppl_base: 12.3, kld: 0.001234, same_top_pct: 97.5 });
  t.equal(parsePerplexityKld(out.split('\n').slice(0, 3).join('\n')).same_top_pct, null, 'same top p is optional');
  t.end();
});

t.test('npu-probe --json: the last JSON line', (t) => {
  const j = parseProbeJson('# table\n{"tool":"other"}\n{"tool":"npu-probe","ok":true,"driver":"npusim"}\n');
  t.equal(j.driver, 'npusim');
  t.throws(() => parseProbeJson('{"tool":"npu-probe"}\n'), /not an npu-probe result/, 'ok is required');
  t.throws(() => parseProbeJson('no json at all'), SyntaxError);
  t.end();
});

t.test("the plugin's load line in a stock tool's log", (t) => {
  const sim = 'load_backend: x\nRKNPU: RKNPU0 = RK3588 NPU SOFTWARE SIMULATOR (3 cores); MUL_MAT in int8\nmore\n';
  t.equal(pluginLoadLine(sim), 'RKNPU: RKNPU0 = RK3588 NPU SOFTWARE SIMULATOR (3 cores); MUL_MAT in int8');
  t.equal(noDeviceReason(sim), null);
  const none = 'RKNPU: RKNPU_DEVICE=off; no device registered\n';
  t.equal(pluginLoadLine(none), null);
  t.equal(noDeviceReason(none), 'RKNPU_DEVICE=off');
  t.end();
});
