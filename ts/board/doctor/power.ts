// Power and clock: the vdd_npu_s0 regulator, the NPU clock (debugfs clk_summary; mainline runs it at
// a fixed 200 MHz) and whether an NPU devfreq entry could change it under load.
import { KREADME, STATUS_DOC, type DoctorRun } from './types.js';

/** The clock mainline assigns the NPU (assigned-clock-rates). */
const NPU_CLOCK_HZ = 200_000_000;

/** clk_summary: the rate of the NPU clock. Returns null when no NPU clock line is recognised. */
export function npuClockFromSummary(text: string): { hz: number | null; line: string | null } {
  const lines = text.split('\n').filter((l) => /npu/i.test(l));
  // Prefer the SCMI clock (named clk_npu / scmi_clk_npu on mainline; the exact name is unverified).
  const pick =
    lines.find((l) => /^\s*(scmi_)?clk_npu\s/i.test(l)) ?? lines.find((l) => /scmi.*npu|npu.*scmi/i.test(l)) ?? null;
  if (!pick) return { hz: null, line: null };
  // columns: name enable_cnt prepare_cnt protect_cnt rate ...
  const nums = pick.trim().split(/\s+/).slice(1).map(Number);
  const rate = nums.length >= 4 ? nums[3] : NaN;
  return { hz: Number.isFinite(rate) ? rate : null, line: pick.trim().replace(/\s+/g, ' ') };
}

export function checkRegulator(r: DoctorRun): void {
  const { f, facts } = r;
  const regs = f.list('/sys/class/regulator') ?? [];
  const vdd = regs.find((x) => (f.read(`/sys/class/regulator/${x}/name`) ?? '').trim() === 'vdd_npu_s0');
  facts.vddNpuPresent = !!vdd;
  if (!vdd) {
    r.add(
      'vdd_npu_s0',
      'warn',
      'no regulator named vdd_npu_s0',
      `the ITX dtb names the RK8602 on i2c1 vdd_npu_s0; check ls /sys/bus/i2c/devices/1-0042/ (${STATUS_DOC} §12 U3)`,
    );
    return;
  }
  const uv = Number((f.read(`/sys/class/regulator/${vdd}/microvolts`) ?? '').trim());
  facts.vddNpuUv = Number.isFinite(uv) && uv > 0 ? uv : null;
  r.add('vdd_npu_s0', 'ok', `${vdd}${facts.vddNpuUv ? `, ${facts.vddNpuUv} uV` : ''}`);
}

export function checkClock(r: DoctorRun): void {
  const clk = r.f.read('/sys/kernel/debug/clk/clk_summary');
  if (clk === null) {
    r.facts.npuClockHz = 'unknown';
    r.add(
      'NPU clock',
      'warn',
      'unknown: /sys/kernel/debug/clk/clk_summary not readable',
      'run as root with debugfs mounted: sudo mount -t debugfs none /sys/kernel/debug',
    );
    return;
  }
  const c = npuClockFromSummary(clk);
  r.facts.npuClockHz = c.hz ?? 'unknown';
  if (c.hz === NPU_CLOCK_HZ) r.add('NPU clock', 'ok', `200 MHz (${c.line})`);
  else if (c.hz)
    r.add(
      'NPU clock',
      'warn',
      `${c.hz / 1e6} MHz, expected 200 MHz (mainline assigned-clock-rates)`,
      `figures are only comparable at the same clock; see ${KREADME} §6 before changing it`,
    );
  else
    r.add(
      'NPU clock',
      'warn',
      'unknown: no NPU clock line recognised in clk_summary',
      `grep -i npu /sys/kernel/debug/clk/clk_summary and send the output (${STATUS_DOC} §12 U5)`,
    );
}

/** Expect none on mainline. */
export function checkDevfreq(r: DoctorRun): void {
  const f = r.f;
  const df = f.list('/sys/class/devfreq') ?? [];
  const devfreq = df.some(
    (d) => /npu|fdab0000/i.test(d) || /npu/i.test(f.link(`/sys/class/devfreq/${d}/device`) ?? ''),
  );
  r.facts.devfreqPresent = devfreq;
  r.add(
    'devfreq',
    devfreq ? 'warn' : 'ok',
    devfreq
      ? 'an NPU devfreq entry exists (not mainline: the clock may change under load)'
      : 'none for the NPU (mainline: fixed clock)',
    devfreq ? 'pin the NPU frequency for benchmarks (userspace governor) and record it' : '',
  );
}
