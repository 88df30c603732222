// The board profile: where it lives (the same rule as the plugin's, backend/plugin/rknpu-config.cpp), how it is
// made from a ladder that passed, and writing it so a reader never sees half a file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BoardProfile, LadderResult } from './types.js';

const PROFILE_SUBPATH = path.join('rosenblatt', 'board-profile.json');
export const PROFILE_FORMAT = 'rosenblatt-board-profile';
export const PROFILE_VERSION = 1;

function given(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** $XDG_CONFIG_HOME/rosenblatt/board-profile.json, else ~/.config/...; null without either. */
export function defaultProfilePath(env: NodeJS.ProcessEnv = process.env): string | null {
  const xdg = given(env, 'XDG_CONFIG_HOME');
  if (xdg) return path.join(xdg, PROFILE_SUBPATH);
  const home = given(env, 'HOME');
  return home ? path.join(home, '.config', PROFILE_SUBPATH) : null;
}

/** The profile the plugin reads: RKNPU_PROFILE when set, else the default. */
export function profilePath(env: NodeJS.ProcessEnv = process.env): string | null {
  return given(env, 'RKNPU_PROFILE') ?? defaultProfilePath(env);
}

export interface SystemFacts {
  kernel: string;
  host: string;
  created: string;
  clockSource: string;
  kitVersion: string;
}

export function systemFacts(kitVersion: string, clockSource: string, at: Date = new Date()): SystemFacts {
  return {
    kernel: os.release(),
    host: os.hostname(),
    created: at.toISOString().replace(/\.\d+Z$/, 'Z'),
    clockSource,
    kitVersion,
  };
}

/** One line per edge, for the profile and the reports. */
export function edgeLine(e: LadderResult['edges'][number]): string {
  if (e.dim === 'out') return `output ${e.failed} broken (${e.step})`;
  if (e.dim === 'k-slices' || e.dim === 'tails' || e.dim === 'weight-reuse')
    return `${e.dim}: ${e.passed} only, ${e.failed} failed (${e.step})`;
  return `${e.dim}: ${e.passed} passed, ${e.failed} failed (${e.step})`;
}

/** The profile of a ladder that passed. */
export function buildProfile(r: LadderResult, f: SystemFacts): BoardProfile {
  if (!r.ok || !r.envelope || !r.timing) throw new Error('the ladder did not pass: no profile');
  const t = r.timing;
  return {
    format: PROFILE_FORMAT,
    version: PROFILE_VERSION,
    created: f.created,
    host: f.host,
    kernel: f.kernel,
    driver: { name: r.driver, version: r.driver_version },
    clock_mhz: r.clock_mhz,
    clock_source: f.clockSource,
    cores: r.device_cores,
    simulator: r.simulator,
    envelope: r.envelope,
    timing: {
      task_overhead_us: t.task_overhead_us,
      job_overhead_us: t.job_overhead_us,
      int8_macs_per_cycle: t.int8_macs_per_cycle,
      fp16_macs_per_cycle: t.fp16_macs_per_cycle,
      dma_gbps: t.dma_gbps,
      mac_efficiency: t.mac_efficiency,
      job_time_ratio_max: t.job_time_ratio_max,
    },
    ladder: {
      tool: r.tool,
      kit_version: f.kitVersion,
      steps: r.steps.filter((s) => s.ran).length,
      passed: r.steps.filter((s) => s.ok).length,
      edges: r.edges.map(edgeLine),
    },
  };
}

/** Write the profile through a temporary file in the same folder, then rename it into place. */
export function writeProfile(file: string, p: BoardProfile): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(p, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/** A ladder that failed: a profile left at `file` claims what no longer holds, so it goes aside. */
export function retireProfile(file: string): string | null {
  if (!fs.existsSync(file)) return null;
  const aside = `${file}.failed-ladder`;
  fs.renameSync(file, aside);
  return aside;
}
