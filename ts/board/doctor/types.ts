// What the doctor reports: one check per line of its table, and the facts the accept kit records.
import type { Sysroot } from './sysroot.js';

export type Status = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  name: string;
  status: Status;
  found: string;
  fix: string;
}

export interface DoctorFacts {
  rk3588: boolean;
  dtbModel: string | null;
  kernelRelease: string | null;
  rocketConfig: string | null; // m | y | absent | unknown
  cmdline: string | null;
  accelNode: string | null;
  accelNodes: string[];
  overlayApplied: boolean | null;
  baseDtbHasSymbols: boolean | 'unknown' | null;
  npuCoresBound: number | null;
  iommusBound: number | null;
  npuClockHz: number | 'unknown' | null;
  vddNpuPresent: boolean | null;
  vddNpuUv: number | null;
  devfreqPresent: boolean | null;
  ramTotalBytes: number | null;
  distro: { id: string | null; version_id: string | null; pretty_name: string | null };
}

export interface DoctorReport {
  root: string;
  ok: boolean;
  checks: Check[];
  facts: DoctorFacts;
}

/** Where the fixes point. */
export const KREADME = 'kernel/README.md';
export const STATUS_DOC = 'docs/npu-mainline-status.md';

/** One doctor run: the tree it reads, the checks so far (in table order) and the facts found. */
export class DoctorRun {
  readonly checks: Check[] = [];
  readonly facts: DoctorFacts = {
    rk3588: false,
    dtbModel: null,
    kernelRelease: null,
    rocketConfig: null,
    cmdline: null,
    accelNode: null,
    accelNodes: [],
    overlayApplied: null,
    baseDtbHasSymbols: null,
    npuCoresBound: null,
    iommusBound: null,
    npuClockHz: null,
    vddNpuPresent: null,
    vddNpuUv: null,
    devfreqPresent: null,
    ramTotalBytes: null,
    distro: { id: null, version_id: null, pretty_name: null },
  };

  constructor(readonly f: Sysroot) {}

  add(name: string, status: Status, found: string, fix = ''): void {
    this.checks.push({ name, status, found, fix });
  }
}
