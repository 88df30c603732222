// The report writer: report.json (machine readable) and report.md (summary, stages, what failed, board
// facts, figures, accuracy, plots, fleet file, the commands run, the files).
import fs from 'node:fs';
import path from 'node:path';
import { envelopeLine } from '../calibrate/report.js';
import { KLD_BOUND, PPL_REL_BOUND } from './stages/perplexity.js';
import type { AcceptReport, Verdict } from './types.js';

/** report.md: what a person reads first. */
export function reportMarkdown(r: AcceptReport): string {
  const L: string[] = [];
  const icon = (v: Verdict) => ({ pass: 'PASS', fail: 'FAIL', skip: 'skipped', info: 'info' })[v];
  L.push(`# Rosenblatt acceptance report: ${r.verdict}`, '');
  if (r.simulator)
    L.push(
      `> **Simulator run.** The NPU stages ran on the SOFTWARE SIMULATOR (register-level software NPU) on ${r.host} (${r.arch}); all NPU figures are simulator + timing MODEL, **not hardware**.`,
      '',
    );
  L.push('## Summary', '');
  L.push(`| | |`, `|---|---|`);
  L.push(
    `| verdict | **${r.verdict}** |`,
    `| host | ${r.host} (${r.arch}) |`,
    `| device | ${r.device}${r.simulator ? ' (simulator)' : ''} |`,
    `| mode | ${r.quick ? 'quick (small sizes)' : 'full'} |`,
    `| NPU clock | ${r.simulator ? 'simulator (timing model at 200 MHz and 1 GHz, optimistic and pessimistic bound)' : r.npu_clock_hz === null || r.npu_clock_hz === 'unknown' ? 'unknown (run doctor as root to read it)' : `${r.npu_clock_hz / 1e6} MHz`} |`,
  );
  L.push(
    `| model | \`${path.basename(r.model)}\` |`,
    `| text | ${r.text ? `\`${path.basename(r.text)}\`` : '-'} |`,
    `| kit | ${r.kit_version} |`,
    `| started / finished | ${r.started_at} / ${r.finished_at} |`,
    '',
  );
  L.push('## Stages', '', '| # | stage | verdict | time | summary |', '|---|---|---|---|---|');
  r.stages.forEach((s, i) =>
    L.push(
      `| ${i + 1} | ${s.title} | ${icon(s.verdict)} | ${s.seconds.toFixed(1)} s | ${s.summary.replace(/\|/g, '\\|')} |`,
    ),
  );
  L.push('');
  const failed = r.stages.filter((s) => s.verdict === 'fail');
  L.push('## What failed', '');
  if (!failed.length) L.push('Nothing.');
  for (const s of failed)
    L.push(`- **${s.title}**: ${s.summary} (raw output: ${s.files.map((f) => `\`${f}\``).join(', ') || '-'})`);
  L.push('');
  const doc = r.stages.find((s) => s.id === 'doctor');
  const facts = (doc?.figures as any)?.facts;
  if (doc) {
    L.push('## Board (doctor)', '', 'See `doctor.txt` for every check with its fix.', '');
    if (facts)
      L.push(
        `- RK3588: ${facts.rk3588}; kernel ${facts.kernelRelease ?? 'unknown'}; rocket config ${facts.rocketConfig}; accel node ${facts.accelNode ?? 'none'}; cores bound ${facts.npuCoresBound ?? '-'}; IOMMUs ${facts.iommusBound ?? '-'}; NPU clock ${facts.npuClockHz ?? '-'}`,
        '',
      );
  }
  const cal = r.stages.find((s) => s.id === 'calibrate');
  const cf = cal?.figures as any;
  if (cal && cf && cf.steps !== undefined) {
    L.push(
      '## Calibration (first-light ladder)',
      '',
      'See `calibrate.txt` for every step, `calibrate.json` for the data.',
      '',
    );
    L.push(
      `- ${cf.passed} of ${cf.steps} steps passed${cf.stopped_at ? `; stopped at step ${cf.stopped_at}: ${cf.error}` : ''}`,
    );
    if (cf.envelope) {
      const e = cf.envelope;
      L.push(`- widest envelope that passed: ${envelopeLine(e)}`);
    }
    for (const e of cf.edges ?? []) L.push(`- edge: ${e}`);
    if (cf.timing) {
      const t = cf.timing;
      L.push(
        `- timing at ${t.clock_mhz} MHz (${t.measured}): ${t.task_overhead_us.toFixed(1)} us per task, ${t.job_overhead_us.toFixed(1)} us per job, ${t.int8_macs_per_cycle.toFixed(0)} int8 / ${t.fp16_macs_per_cycle.toFixed(0)} fp16 MAC per cycle, DMA ${t.dma_gbps.toFixed(2)} GB/s per core, jobs <= ${t.job_time_ratio_max.toFixed(2)}x the timing model`,
      );
    }
    L.push(
      cf.profile
        ? `- board profile: \`${cf.profile}\`${cf.installed_to ? `, installed to \`${cf.installed_to}\`` : ''}; the later stages ran in it`
        : '- no board profile: the later stages ran in the safe envelope',
      '',
    );
  }
  const bench = r.stages.find((s) => s.id === 'bench');
  if (bench?.verdict === 'pass') {
    const f = bench.figures as any;
    L.push(
      '## Figures',
      '',
      `Tokens per second, llama-bench pp${f.p} / tg${f.n}${r.simulator ? " (simulator: the NPU row is the simulator's wall time; the MODEL rows are the timing model)" : ''}:`,
      '',
    );
    L.push(`| run | pp${f.p} t/s | tg${f.n} t/s |`, '|---|---|---|');
    L.push(`| CPU (RKNPU_DEVICE=off) | ${f.cpu_pp_tps.toFixed(2)} | ${f.cpu_tg_tps.toFixed(2)} |`);
    L.push(`| NPU${r.simulator ? ' (simulator)' : ''} | ${f.npu_pp_tps.toFixed(2)} | ${f.npu_tg_tps.toFixed(2)} |`);
    if (f.model_pp_tps_200_opt !== null) {
      const range = (o: number, p: number) => `${o.toFixed(2)}-${p.toFixed(2)}`;
      L.push(
        `| NPU, timing MODEL 200 MHz (optimistic-pessimistic) | ${range(f.model_pp_tps_200_opt, f.model_pp_tps_200_pess)} | ${f.npu_tg_tps.toFixed(2)} |`,
      );
      L.push(
        `| NPU, timing MODEL 1 GHz (optimistic-pessimistic) | ${range(f.model_pp_tps_1000_opt, f.model_pp_tps_1000_pess)} | ${f.npu_tg_tps.toFixed(2)} |`,
      );
      if (f.model_estimate?.model_source) L.push('', `Timing MODEL parameters: ${f.model_estimate.model_source}.`);
    }
    L.push('', 'Decode (tg, batch 1) runs on the CPU by design (batches below RKNPU_MIN_BATCH stay on the CPU).', '');
  }
  const ppl = r.stages.find((s) => s.id === 'perplexity');
  if (ppl?.verdict === 'pass' || ppl?.verdict === 'fail') {
    const f = ppl.figures as any;
    if (f.ppl_cpu !== undefined)
      L.push(
        '## Accuracy',
        '',
        `| path | perplexity | mean KLD vs CPU | same top token |`,
        '|---|---|---|---|',
        `| CPU | ${f.ppl_cpu.toFixed(4)} | - | - |`,
        `| NPU | ${f.ppl_npu.toFixed(4)} | ${f.kld.toExponential(3)} | ${f.same_top_pct ?? '-'} % |`,
        '',
        `Bounds: perplexity within ${PPL_REL_BOUND * 100}% of the CPU's, mean KLD <= ${KLD_BOUND} (${f.chunks} chunks of ${f.context} tokens).`,
        '',
      );
  }
  if (r.plots.length) {
    L.push('## Plots', '');
    for (const p of r.plots) L.push(`![${p}](${p})`);
    L.push('');
  }
  if (r.fleet) {
    L.push(
      '## Fleet file',
      '',
      r.fleet.skipped_reason
        ? `Not updated: ${r.fleet.skipped_reason}`
        : `Updated \`${path.basename(r.fleet.file)}\`: ${r.fleet.written.length} kit-owned keys written${r.fleet.missing.length ? `; not in the file: ${r.fleet.missing.join(', ')}` : ''}.`,
      '',
    );
    if (r.fleet.mismatches.length)
      L.push(
        'Disagreements with the human-written keys (left unchanged):',
        '',
        ...r.fleet.mismatches.map((m) => `- ${m}`),
        '',
      );
    else if (!r.fleet.skipped_reason) L.push('The human-written keys the kit checks agree with what it found.', '');
  }
  if (!r.simulator) {
    L.push(
      '## Board tests this kit does not settle yet',
      '',
      'See docs/npu-mainline-status.md §12 for the commands: U6 (repeat this run after a reboot with `mem=4G`), U8 (clock enable counts during a job), U9 (power-domain on/off cycles), U10 (Mesa Teflon), U11 (IRQ counts per core), U12 (task/job overheads), U13 (job timeout). The matching `measured.*` keys stay `null`.',
      '',
    );
  }
  L.push(
    '## Commands run',
    '',
    '`$BIN` = bin dir of the pinned llama.cpp build, `$PLUGIN` = libggml-rknpu.so, `$NATIVE` = build/native/out.',
    '',
    '```sh',
  );
  for (const s of r.stages) for (const c of s.commands) L.push(c);
  L.push(
    '```',
    '',
    '## Files',
    '',
    r.stages
      .flatMap((s) => s.files)
      .concat(r.plots, ['report.json', 'report.md'])
      .map((f) => `\`${f}\``)
      .join(', '),
    '',
  );
  return L.join('\n');
}

export function writeReport(outDir: string, r: AcceptReport): string {
  fs.writeFileSync(path.join(outDir, 'report.json'), JSON.stringify(r, null, 2) + '\n');
  const md = path.join(outDir, 'report.md');
  fs.writeFileSync(md, reportMarkdown(r));
  return md;
}
