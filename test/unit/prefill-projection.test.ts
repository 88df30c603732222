// The issue 16 projection (NPU only, overlapped glue, NPU + CPU split): exact figures from hand-made inputs,
// the recorded run's ordering, and its chart.
import t from 'tap';
import {
  projectionPlot,
  projectionTable,
  projectPrefill,
  RECORDED_INPUTS,
  type ProjectionInputs,
} from '../../ts/board/prefill-projection.js';
import { readPng } from '../../ts/util/png.js';

const hand: ProjectionInputs = {
  p: 100,
  npu_ms: { '200': [300, 500], '1000': [40, 100] },
  glue_ms_a76: 60,
  cpu_other_ms_a76: 30,
  cpu_matmul_ms_a76: 450, // 600 ms on the three threads beside the glue core
  lm_head_ms_a76: 10,
};

t.test('hand-made inputs: each configuration by its formula', (t) => {
  const r = projectPrefill(hand);
  const close = (a: number, b: number, what: string) => t.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} = ${b}`);
  close(r['200'].npu_only[0], 100 / 0.4, 'NPU only: 300 + 60 + 30 + 10 ms');
  close(r['200'].overlap[0], 100 / 0.34, 'overlap: max(300, 60) + 40 ms');
  close(r['200'].split[0], 100 / (((300 * 600) / 900 + 40) / 1000), 'split: 300·600/900 + 40 ms');
  close(r['200'].cpu_share[0], 300 / 900, 'CPU share: 300 / (300 + 600)');
  close(r['1000'].overlap[0], 100 / 0.1, 'overlap with glue longer than the NPU: 60 + 40 ms');
  close(r['1000'].cpu_share[0], 60 / 660, 'CPU share against the glue-bound NPU side');
  t.end();
});

t.test('the recorded run: split > overlap > NPU only, optimistic above pessimistic', (t) => {
  for (const inp of RECORDED_INPUTS)
    for (const clock of ['200', '1000'] as const) {
      const r = projectPrefill(inp)[clock];
      for (const b of [0, 1])
        t.ok(
          r.split[b] > r.overlap[b] && r.overlap[b] > r.npu_only[b],
          `pp${inp.p} ${clock} MHz bound ${b}: ${r.split[b].toFixed(0)} > ${r.overlap[b].toFixed(0)} > ${r.npu_only[b].toFixed(0)}`,
        );
      t.ok(r.npu_only[0] > r.npu_only[1], `pp${inp.p} ${clock} MHz: optimistic faster`);
    }
  // NPU only is the issue 12 projection of docs/performance.md (pp128: 280-158 at 200 MHz, 529-270 at 1 GHz)
  const r128 = projectPrefill(RECORDED_INPUTS[0]);
  t.same(r128['200'].npu_only.map(Math.round), [280, 158]);
  t.same(r128['1000'].npu_only.map(Math.round), [529, 270]);
  t.match(projectionTable(RECORDED_INPUTS), /\| pp128 \| 200 MHz \| 280-158 \| 317-170 \| 379-240 \| 19-32 % \|/);
  t.end();
});

t.test('the chart', (t) => {
  const info = readPng(projectionPlot(RECORDED_INPUTS, 'TEST').toPng());
  t.equal(info.width, 960);
  t.ok(info.colors >= 7, `${info.colors} distinct colours`);
  t.end();
});
