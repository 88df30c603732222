// The acceptance kit's data: options, one result per stage, the report, and what the stages share.
import type { NpuSettings } from '../../runtime/npu-settings.js';
import type { BenchResult } from '../bench.js';
import type { CalibrateOutcome } from '../calibrate/index.js';
import type { DoctorReport } from '../doctor/index.js';

export type Verdict = 'pass' | 'fail' | 'skip' | 'info';

export interface StageResult {
  id: string;
  title: string;
  verdict: Verdict;
  summary: string;
  seconds: number;
  commands: string[];
  files: string[];
  figures: Record<string, unknown>;
}

export interface AcceptOptions {
  /** The NPU stages' settings: device sim or rocket (the kit never leaves the choice to auto). */
  npu: NpuSettings;
  quick: boolean;
  model: string;
  text: string | null;
  outDir: string;
  binDir: string;
  plugin: string;
  nativeOut: string;
  root?: string;
  fleet?: string;
  threads?: number;
  repoRoot: string;
  say: (s: string) => void;
  /** Interval of the still-running progress lines (default 30 s). */
  heartbeatMs?: number;
  /** llama.cpp's log of the in-process timing-model run on stderr. */
  verbose?: boolean;
}

export interface FleetResult {
  file: string;
  written: string[];
  missing: string[];
  skipped_reason: string | null;
  mismatches: string[];
}

export interface AcceptReport {
  tool: 'rosenblatt-dl accept';
  kit_version: string;
  started_at: string;
  finished_at: string;
  host: string;
  arch: string;
  device: string;
  simulator: boolean;
  quick: boolean;
  model: string;
  text: string | null;
  /** The NPU clock the doctor read (fleet/SCHEMA.md: every figure goes with the clock of its run); null on the simulator. */
  npu_clock_hz: number | 'unknown' | null;
  note: string;
  verdict: 'PASS' | 'FAIL';
  stages: StageResult[];
  plots: string[];
  fleet: FleetResult | null;
}

/** One npu-probe run of the probe stage. */
export interface ProbeRun {
  dtype: string;
  cores: number;
  ok: boolean;
  driver?: string;
  simulator?: boolean;
  error?: string;
  cases?: any[];
}

export interface Perplexities {
  cpu: number;
  npu: number;
  kld: number | null;
  same_top_pct: number | null;
}

/** What the stages leave for the later ones, the plots and the report. */
export interface StageContext {
  o: AcceptOptions;
  /** The NPU stages run on the software NPU. */
  sim: boolean;
  /** "[i/n] title ..." of the running stage, for its progress lines. */
  prefix: string;
  /** The settings of the NPU stages after calibration: its board profile, or the safe envelope. */
  npu: NpuSettings;
  doctor?: DoctorReport;
  calibration?: CalibrateOutcome;
  probe?: ProbeRun[];
  gemm?: any;
  bench?: BenchResult;
  ppl?: Perplexities;
}

export type StageFn = (c: StageContext, s: StageResult) => void | Promise<void>;
