// The report's PNG plots: pp/tg tokens/s, GEMM time per shape (model vs measured), perplexity.
import fs from 'node:fs';
import path from 'node:path';
import { barChart } from '../../util/plot.js';
import { benchPlot } from '../bench.js';
import type { StageContext } from './types.js';

/** Bars a GEMM plot can hold legibly. */
const MAX_GEMM_BARS = 30;

export function writePlots(c: StageContext): string[] {
  const outDir = c.o.outDir;
  const files: string[] = [];
  const simTag = c.sim ? ' - SIMULATOR + TIMING MODEL, NOT HARDWARE' : '';
  if (c.bench) {
    fs.writeFileSync(path.join(outDir, 'pp_tg.png'), benchPlot(c.bench).toPng());
    files.push('pp_tg.png');
  }
  if (c.gemm?.cases?.length) {
    const all = c.gemm.cases as any[];
    const int8 = all.filter((k) => k.mode === 'int8');
    const rows = (int8.length ? int8 : all).slice(0, MAX_GEMM_BARS);
    const img = barChart({
      title: `GEMM: modelled vs measured NPU time (${rows[0]?.mode ?? ''})`,
      subtitle: `${c.sim ? 'measured = simulator wall' : 'measured = rocket job wait'}${simTag}`,
      yLabel: 'ms (log)',
      groups: rows.map((k) => `${String(k.shape).split('/')[0].replace('attn_', '').replace('ffn_', '')} M${k.M}`),
      series: [
        { name: 'MODEL 200MHZ OPT', values: rows.map((k) => k.model_ms_200mhz[0]) },
        { name: 'MODEL 200MHZ PESS', values: rows.map((k) => k.model_ms_200mhz[1]) },
        { name: 'MODEL 1GHZ OPT', values: rows.map((k) => k.model_ms_1ghz[0]) },
        { name: 'MODEL 1GHZ PESS', values: rows.map((k) => k.model_ms_1ghz[1]) },
        { name: c.sim ? 'SIM WAIT' : 'MEASURED WAIT', values: rows.map((k) => k.sim_wait_ms) },
      ],
      log: true,
      labels: false,
      width: Math.max(800, rows.length * 60 + 100),
    });
    fs.writeFileSync(path.join(outDir, 'gemm.png'), img.toPng());
    files.push('gemm.png');
  }
  if (c.ppl) {
    const img = barChart({
      title: 'Perplexity: CPU vs NPU',
      subtitle: `${path.basename(c.o.text ?? '')}${simTag}`,
      yLabel: 'ppl',
      groups: ['perplexity'],
      series: [
        { name: 'CPU', values: [c.ppl.cpu] },
        { name: c.sim ? 'NPU (SIM)' : 'NPU', values: [c.ppl.npu] },
      ],
      width: 480,
    });
    fs.writeFileSync(path.join(outDir, 'perplexity.png'), img.toPng());
    files.push('perplexity.png');
  }
  return files;
}
