// Stage 2: the first-light ladder (rosenblatt-dl calibrate) before any other NPU stage. Its board profile goes
// into the results folder, and on a board also where the plugin looks for it; every later stage runs with it
// (RKNPU_PROFILE), or with the safe envelope when the ladder failed.
import fs from 'node:fs';
import path from 'node:path';
import {
  edgeLine,
  envelopeLine,
  ladderReport,
  profilePath,
  runCalibrate,
  writeProfile,
} from '../../calibrate/index.js';
import { kitVersion } from '../../../util/kit.js';
import { shellLine } from '../../../util/tool.js';
import type { StageFn } from '../types.js';

const MAINLINE_MHZ = 200;
export const PROFILE_FILE = 'board-profile.json';

export const calibrateStage: StageFn = async (c, s) => {
  const clockMhz = c.o.npu.clockMhz ? Number(c.o.npu.clockMhz) : MAINLINE_MHZ;
  const inResults = path.join(c.o.outDir, PROFILE_FILE);
  const out = await runCalibrate({
    npu: c.o.npu,
    nativeOut: c.o.nativeOut,
    clockMhz,
    clockSource: c.o.npu.clockMhz ? 'RKNPU_CLOCK_MHZ' : 'mainline default',
    profileFile: inResults,
    kitVersion: kitVersion(c.o.repoRoot),
    progress: (l) => {
      if (/\.\.\. (WRONG|FAILED)|edge of /.test(l)) c.o.say(`${c.prefix} ${l.replace(/^npu-calibrate: /, '')}`);
    },
  });
  s.commands.push(shellLine({}, '$NATIVE/npu-calibrate', [...out.args, '--json']));
  fs.writeFileSync(
    path.join(c.o.outDir, 'calibrate.txt'),
    `# exit ${out.status}\n--- stderr\n${out.stderr}\n--- report\n${out.ladder ? ladderReport(out.ladder, { file: inResults, written: out.written, aside: null }).join('\n') : out.problem}\n`,
  );
  s.files.push('calibrate.txt');
  if (out.stdout.trim()) {
    fs.writeFileSync(path.join(c.o.outDir, 'calibrate.json'), out.stdout);
    s.files.push('calibrate.json');
  }
  c.calibration = out;
  const r = out.ladder;
  if (!r) throw new Error(out.problem ?? 'npu-calibrate gave no result');
  let installed: string | null = null;
  if (out.ok && out.profile) {
    s.files.push(PROFILE_FILE);
    c.npu = { ...c.npu, profile: inResults };
    // On the board the profile is also put where the plugin finds it by default; a simulator run never
    // touches the user's own profile.
    const home = c.sim ? null : profilePath();
    if (home) {
      writeProfile(home, out.profile);
      installed = home;
    }
  } else {
    c.npu = { ...c.npu, envelope: c.npu.envelope ?? 'safe' };
  }
  const ran = r.steps.filter((x) => x.ran);
  s.figures = {
    ok: out.ok,
    steps: ran.length,
    passed: ran.filter((x) => x.ok).length,
    stopped_at: r.stopped_at,
    error: r.error,
    edges: r.edges.map(edgeLine),
    envelope: r.envelope,
    timing: r.timing,
    profile: out.ok ? PROFILE_FILE : null,
    installed_to: installed,
  };
  s.verdict = out.ok ? 'pass' : 'fail';
  s.summary = out.ok
    ? `${ran.length}/${ran.length} steps; envelope board: ${envelopeLine(r.envelope!)}${r.edges.length ? `; edges: ${r.edges.map(edgeLine).join('; ')}` : ''}`
    : `stopped at ${r.stopped_at ?? 'the start'}: ${r.error}; the later stages run in the safe envelope`;
};
