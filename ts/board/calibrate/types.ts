// What npu-calibrate reports (its --json line, backend/tools/npu_ladder.c) and the board profile written from
// it (backend/profile/board_profile.h has the format the plugin reads).

export interface FailingTask {
  device: number;
  task: number;
  rows: [number, number];
  columns: [number, number];
  k_slice: number;
  first_wrong?: { row: number; column: number; npu: number; cpu: number };
  registers: { entry: string; text: string }[];
}

export interface LadderStep {
  id: string;
  rung: string;
  name: string;
  role: 'required' | 'widen';
  dim: string | null;
  value: number;
  ran: boolean;
  ok: boolean;
  skipped: boolean;
  in: string;
  out: string;
  m: number;
  k: number;
  n: number;
  tasks: number;
  jobs: number;
  fds: number;
  compared: number;
  mismatches: number;
  /** outputs still holding the poison: their job never ran to the end (dropped, or reset after the timeout) */
  unwritten: number;
  job_measured_ms: number;
  /** the timing MODEL's [optimistic, pessimistic] bounds of the same jobs */
  job_model_ms: [number, number];
  job_ratio_max: number;
  jobs_within_bounds: boolean;
  cores: number[];
  tolerance: string;
  error: string;
  failing_task?: FailingTask;
}

export interface LadderEdge {
  dim: string;
  passed: number | string | null;
  failed: number | string;
  step: string;
  error: string;
}

export interface ProfileEnvelope {
  m_tile_max: number;
  n_tile_max: number;
  k_task_max_int8: number;
  k_task_max_fp16: number;
  inplace_k_slices: boolean;
  chained_tails: boolean;
  weight_reuse: boolean;
  out_pairs: string[];
  tasks_per_job_max: number;
  job_budget_ms: number;
}

export interface ProfileTiming {
  task_overhead_us: number;
  job_overhead_us: number;
  int8_macs_per_cycle: number;
  fp16_macs_per_cycle: number;
  dma_gbps: number;
  mac_efficiency: number;
  job_time_ratio_max: number;
}

export interface LadderResult {
  tool: 'npu-calibrate';
  ok: boolean;
  device: string;
  simulator: boolean;
  driver: string;
  driver_version: string;
  node: string;
  device_cores: number;
  job_timeout_ms: number;
  clock_mhz: number;
  stopped_at: string | null;
  error: string | null;
  steps: LadderStep[];
  edges: LadderEdge[];
  envelope: ProfileEnvelope | null;
  timing: (ProfileTiming & { clock_mhz: number; measured: string; notes: string; jobs_within_bounds: boolean }) | null;
}

export interface BoardProfile {
  format: 'rosenblatt-board-profile';
  version: 1;
  created: string;
  host: string;
  kernel: string;
  driver: { name: string; version: string };
  clock_mhz: number;
  clock_source: string;
  cores: number;
  simulator: boolean;
  envelope: ProfileEnvelope;
  timing: ProfileTiming;
  /** Not read by the plugin: where the numbers come from. */
  ladder: { tool: string; kit_version: string; steps: number; passed: number; edges: string[] };
}
