// rosenblatt-dl calibrate, the board-kit side: run the first-light ladder (npu-calibrate), and when it passes
// write the board profile the plugin reads at start-up; when it fails, move an old profile out of the way.
// Used by the command (ts/commands/calibrate.ts) and by accept's calibrate stage.
import path from 'node:path';
import { toolEnv, type NpuSettings } from '../../runtime/npu-settings.js';
import { runLadder } from './ladder.js';
import { buildProfile, retireProfile, systemFacts, writeProfile } from './profile.js';
import type { BoardProfile, LadderResult } from './types.js';

export { parseLadderJson, runLadder } from './ladder.js';
export { buildProfile, defaultProfilePath, edgeLine, profilePath, writeProfile } from './profile.js';
export { envelopeLine, ladderReport, stoppingStep } from './report.js';
export type { BoardProfile, LadderResult, LadderStep, ProfileEnvelope } from './types.js';

export interface CalibrateOptions {
  /** Device sim or rocket (the CLI resolves auto first). */
  npu: NpuSettings;
  nativeOut: string;
  clockMhz: number;
  /** Where clockMhz comes from, for the profile ("RKNPU_CLOCK_MHZ", "--clock-mhz", "mainline default"). */
  clockSource: string;
  seed?: number;
  /** Where to write the profile; null: nowhere. */
  profileFile: string | null;
  kitVersion: string;
  /** Each progress line of the ladder as it runs. */
  progress: (line: string) => void;
}

export interface CalibrateOutcome {
  ok: boolean;
  ladder: LadderResult | null;
  /** Why there is no ladder result at all. */
  problem: string | null;
  profile: BoardProfile | null;
  profileFile: string | null;
  written: boolean;
  /** Where an old profile went after a failed ladder. */
  aside: string | null;
  /** The tool run, for the results folder. */
  args: string[];
  status: number | null;
  stdout: string;
  stderr: string;
}

export function calibrateArgs(o: Pick<CalibrateOptions, 'npu' | 'clockMhz' | 'seed'>): string[] {
  const args = ['--device', o.npu.device, '--clock-mhz', String(o.clockMhz)];
  if (o.seed !== undefined) args.push('--seed', String(o.seed));
  return args;
}

export async function runCalibrate(o: CalibrateOptions): Promise<CalibrateOutcome> {
  const args = calibrateArgs(o);
  const run = await runLadder(path.join(o.nativeOut, 'npu-calibrate'), args, toolEnv(o.npu), o.progress);
  const r = run.result;
  const out: CalibrateOutcome = {
    ok: !!r?.ok && run.status === 0,
    ladder: r,
    problem: run.problem,
    profile: null,
    profileFile: o.profileFile,
    written: false,
    aside: null,
    args,
    status: run.status,
    stdout: run.stdout,
    stderr: run.stderr,
  };
  if (r && out.ok) {
    out.profile = buildProfile(r, systemFacts(o.kitVersion, o.clockSource));
    if (o.profileFile) {
      writeProfile(o.profileFile, out.profile);
      out.written = true;
    }
  } else if (r?.stopped_at && o.profileFile) {
    /* a step failed on this NPU (not: it could not be opened), so an old profile claims too much */
    out.aside = retireProfile(o.profileFile);
  }
  return out;
}
