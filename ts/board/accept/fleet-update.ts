// The fleet file (fleet/SCHEMA.md) after a run: the kit-owned keys written from what the run found,
// the human-written keys it can check compared (and left alone), and nothing at all off the board.
import fs from 'node:fs';
import type { DoctorReport } from '../doctor/index.js';
import { readFleet, updateFleet, type Scalar } from '../fleet.js';
import type { AcceptReport, FleetResult, ProbeRun } from './types.js';

/** MemTotal is a little below the installed RAM (firmware and kernel reservations). */
const MEMTOTAL_MIN_FRACTION = 0.9;
const GIB_SLACK = 0.01;

/** Human keys the kit checks (fleet/SCHEMA.md "human, kit checks") against what the doctor found. */
export function fleetMismatches(cur: Map<string, Scalar>, d: DoctorReport, hostname: string | null): string[] {
  const out: string[] = [];
  const f = d.facts;
  const want = (k: string) => cur.get(k);
  if (hostname !== null && want('host.hostname') && want('host.hostname') !== hostname)
    out.push(`host.hostname is "${want('host.hostname')}" but this host is "${hostname}"`);
  if (want('soc.name') === 'RK3588' && !f.rk3588)
    out.push('soc.name is RK3588 but the device tree does not say rockchip,rk3588');
  const gb = want('soc.memory.total_gb');
  if (typeof gb === 'number' && f.ramTotalBytes !== null) {
    const seen = f.ramTotalBytes / 2 ** 30;
    if (seen > gb + GIB_SLACK || seen < gb * MEMTOTAL_MIN_FRACTION)
      out.push(`soc.memory.total_gb is ${gb} but MemTotal is ${seen.toFixed(1)} GiB`);
  }
  if (want('npu.device') && f.accelNode && want('npu.device') !== f.accelNode)
    out.push(`npu.device is ${want('npu.device')} but the node found is ${f.accelNode}`);
  if (typeof want('npu.cores') === 'number' && f.npuCoresBound !== null && f.npuCoresBound !== want('npu.cores'))
    out.push(`npu.cores is ${want('npu.cores')} but ${f.npuCoresBound} cores are bound`);
  const hz = want('npu.clock_hz_expected');
  if (typeof hz === 'number' && typeof f.npuClockHz === 'number' && f.npuClockHz !== hz)
    out.push(`npu.clock_hz_expected is ${hz} but the NPU clock runs at ${f.npuClockHz}`);
  return out;
}

/** Keys of the fleet file the kit owns (fleet/SCHEMA.md), from what this run found. */
export function fleetUpdates(
  r: Pick<AcceptReport, 'finished_at' | 'kit_version'>,
  d: DoctorReport | undefined,
  probe: Partial<ProbeRun>[] | undefined,
): Record<string, Scalar> {
  const u: Record<string, Scalar> = {
    'measured.updated_at': r.finished_at.replace(/\.\d+Z$/, 'Z'),
    'measured.kit_version': r.kit_version,
  };
  if (d) {
    const f = d.facts;
    Object.assign(u, {
      'kernel.release': f.kernelRelease,
      'kernel.rocket_config': f.rocketConfig,
      'kernel.cmdline': f.cmdline,
      'distro.id': f.distro.id,
      'distro.version_id': f.distro.version_id,
      'distro.pretty_name': f.distro.pretty_name,
      'measured.dtb_model': f.dtbModel,
      'measured.overlay_applied': f.overlayApplied,
      'measured.base_dtb_has_symbols': f.baseDtbHasSymbols,
      'measured.accel_node': f.accelNode,
      'measured.vdd_npu_present': f.vddNpuPresent,
      'measured.npu_cores_bound': f.npuCoresBound,
      'measured.iommus_bound': f.iommusBound,
      'measured.npu_clock_hz': f.npuClockHz,
      'measured.vdd_npu_uv': f.vddNpuUv,
      'measured.devfreq_present': f.devfreqPresent,
      'measured.ram_total_bytes': f.ramTotalBytes,
    });
  }
  const real = probe?.find((p) => !p.simulator && p.driver);
  if (real?.driver) u['measured.drm_name'] = real.driver;
  return u;
}

/** Update the kit-owned keys of a fleet file from this run (only when the doctor found an RK3588). */
export function applyFleet(
  file: string,
  report: Pick<AcceptReport, 'finished_at' | 'kit_version'>,
  d: DoctorReport | undefined,
  probe: Partial<ProbeRun>[] | undefined,
  hostname: string | null,
): FleetResult {
  const text = fs.readFileSync(file, 'utf8');
  const cur = readFleet(text);
  let skip: string | null = null;
  if (cur.get('schema_version') !== 1) skip = `schema_version ${cur.get('schema_version')} is not 1`;
  else if (!d?.facts.rk3588)
    skip =
      'this machine is not an RK3588 (the doctor found no RK3588 device tree), so there is nothing to record for the board';
  if (skip || !d) return { file, written: [], missing: [], skipped_reason: skip, mismatches: [] };
  const u = updateFleet(text, fleetUpdates(report, d, probe));
  fs.writeFileSync(file, u.text);
  return {
    file,
    written: u.written,
    missing: u.missing,
    skipped_reason: null,
    mismatches: fleetMismatches(cur, d, hostname),
  };
}
