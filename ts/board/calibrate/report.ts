// The ladder's result for people: what passed, the edges found, the envelope and timing, or what failed with
// the failing task's registers and what to send back (docs/first-light.md).
import { edgeLine } from './profile.js';
import type { LadderResult, LadderStep, ProfileEnvelope } from './types.js';

export function envelopeLine(e: ProfileEnvelope): string {
  return (
    `tasks <= ${e.m_tile_max} rows x ${e.n_tile_max} columns, K <= ${e.k_task_max_int8} int8 / ${e.k_task_max_fp16} fp16; ` +
    `K-slices ${e.inplace_k_slices ? 'in place' : 'packed'}; tails ${e.chained_tails ? 'chained' : 'unchained'}; ` +
    `weight reuse ${e.weight_reuse ? 'on' : 'off'}; ` +
    `outputs ${e.out_pairs.join(', ')}; jobs <= ${e.tasks_per_job_max} tasks, <= ${e.job_budget_ms} ms modelled`
  );
}

/** The step that stopped the ladder, if any. */
export function stoppingStep(r: LadderResult): LadderStep | null {
  return r.stopped_at ? (r.steps.find((s) => s.id === r.stopped_at) ?? null) : null;
}

const SEND_BACK =
  'send back: the output of `rosenblatt-dl calibrate --json > calibrate.json`, of `rosenblatt-dl doctor --json` and the kernel log (`sudo dmesg > dmesg.txt`); docs/first-light.md says how to read them';

/** The report as lines (the progress lines were shown as the ladder ran). */
export function ladderReport(
  r: LadderResult,
  profile: { file: string | null; written: boolean; aside: string | null },
): string[] {
  const L: string[] = [];
  const ran = r.steps.filter((s) => s.ran);
  const passed = ran.filter((s) => s.ok);
  L.push(
    `calibrate: ${r.simulator ? 'SOFTWARE SIMULATOR (not hardware)' : `${r.node} (${r.driver} ${r.driver_version})`}, ${r.device_cores} cores, timing model ${r.clock_mhz} MHz`,
  );
  const rungs = ['a', 'b', 'c', 'd'].map((g) => {
    const s = ran.filter((x) => x.rung === g);
    return `${g} ${s.filter((x) => x.ok).length}/${s.length}`;
  });
  L.push(`calibrate: ${passed.length} of ${ran.length} steps passed (rungs ${rungs.join(', ')})`);
  for (const e of r.edges) L.push(`calibrate: edge: ${edgeLine(e)}: ${e.error}`);
  if (r.ok && r.envelope && r.timing) {
    const t = r.timing;
    L.push(`calibrate: PASS; the widest envelope that passed: ${envelopeLine(r.envelope)}`);
    L.push(
      `calibrate: timing at ${t.clock_mhz} MHz (${t.measured}): ${t.task_overhead_us.toFixed(1)} us per task, ${t.job_overhead_us.toFixed(1)} us per job, ` +
        `${t.int8_macs_per_cycle.toFixed(0)} int8 / ${t.fp16_macs_per_cycle.toFixed(0)} fp16 MAC per cycle (${(t.mac_efficiency * 100).toFixed(0)}% of nominal), ` +
        `DMA ${t.dma_gbps.toFixed(2)} GB/s per core; jobs took <= ${t.job_time_ratio_max.toFixed(2)}x the timing model's pessimistic time` +
        `${t.jobs_within_bounds ? ', every one within its two bounds' : ', not every one within its two bounds'}` +
        `; the plugin's timing model uses these${t.notes ? `; ${t.notes}` : ''}`,
    );
    if (profile.written) L.push(`calibrate: board profile written to ${profile.file}; the plugin uses it from now on`);
    else if (profile.file) L.push(`calibrate: board profile not written (--no-write); it would go to ${profile.file}`);
    return L;
  }
  const s = stoppingStep(r);
  L.push(`calibrate: FAILED at ${r.stopped_at ?? 'the start'}: ${r.error ?? 'no result'}`);
  L.push(`calibrate: passed before it: ${passed.map((x) => x.id).join(', ') || 'nothing'}`);
  const ft = s?.failing_task;
  if (ft) {
    L.push(
      `calibrate: the failing task: fd ${ft.device + 1}, task ${ft.task}: rows [${ft.rows[0]}, ${ft.rows[1]}), columns [${ft.columns[0]}, ${ft.columns[1]}), K-slice ${ft.k_slice}` +
        (ft.first_wrong
          ? `; first wrong value at row ${ft.first_wrong.row}, column ${ft.first_wrong.column}: npu ${ft.first_wrong.npu}, cpu ${ft.first_wrong.cpu}`
          : ''),
    );
    L.push(`calibrate: its register stream (${ft.registers.length} entries):`);
    ft.registers.forEach((g, i) => L.push(`    ${String(i).padStart(3)}  ${g.entry}  ${g.text}`));
  }
  if (profile.aside)
    L.push(`calibrate: the previous board profile was moved to ${profile.aside}: the plugin uses the safe envelope`);
  else L.push('calibrate: no board profile written; the plugin keeps the safe envelope');
  L.push(`calibrate: ${SEND_BACK}`);
  return L;
}
