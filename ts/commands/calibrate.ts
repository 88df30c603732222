// rosenblatt-dl calibrate: the first-light ladder on the board (or the software NPU with --sim), from the
// vendor-identical stream to the widest execution envelope that computes correctly; writes the board profile
// the plugin then uses (ts/board/calibrate/, docs/first-light.md).
import path from 'node:path';
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { defaultProfilePath, ladderReport, profilePath, runCalibrate } from '../board/calibrate/index.js';
import { chooseDevice, requireNpuDevice, SettingsError } from '../runtime/npu-settings.js';
import { kitVersion } from '../util/kit.js';
import { nativeOutDir, repoRoot, requireFile } from '../util/paths.js';
import { sayErr, simOption } from './common.js';

interface CalibrateArgs {
  sim?: boolean;
  device?: 'auto' | 'rocket' | 'sim';
  profile?: string;
  write?: boolean;
  json?: boolean;
  'clock-mhz'?: number;
  seed?: number;
}

const MAINLINE_MHZ = 200;

export const command = 'calibrate';
export const describe =
  'the first-light ladder: from the vendor stream to the widest envelope the NPU computes correctly; writes the board profile';

export function builder(y: Argv) {
  return simOption(y, 'run the ladder on the software NPU (simulator)')
    .option('device', {
      type: 'string',
      choices: ['auto', 'rocket', 'sim'] as const,
      describe: 'device (default: $RKNPU_DEVICE, else the simulator when there is no /dev/accel, else auto)',
    })
    .option('profile', {
      type: 'string',
      describe:
        'where to write the board profile (default: $RKNPU_PROFILE, else $XDG_CONFIG_HOME/rosenblatt/board-profile.json or ~/.config/...)',
    })
    .option('write', { type: 'boolean', default: true, describe: 'write the profile (--no-write: only report)' })
    .option('json', { type: 'boolean', describe: 'the ladder, the profile and where it went as JSON on stdout' })
    .option('clock-mhz', {
      type: 'number',
      describe: 'the NPU clock the timing model assumes (default: $RKNPU_CLOCK_MHZ, else 200)',
    })
    .option('seed', { type: 'number' })
    .conflicts('sim', 'device');
}

export async function handler(args: ArgumentsCamelCase<CalibrateArgs>) {
  const npu = requireNpuDevice(chooseDevice({ requested: args.sim ? 'sim' : args.device, say: sayErr }), 'calibrate');
  // auto on the CLI's own job: the rocket NPU, never the simulator (an error without one)
  const device = npu.device === 'auto' ? 'rocket' : npu.device;
  const env = process.env;
  const clockFromEnv = env.RKNPU_CLOCK_MHZ ? Number(env.RKNPU_CLOCK_MHZ) : undefined;
  const clockMhz = args['clock-mhz'] ?? clockFromEnv ?? MAINLINE_MHZ;
  if (!Number.isInteger(clockMhz) || clockMhz < 1)
    throw new SettingsError(`the NPU clock must be a positive integer in MHz (got ${clockMhz})`);
  const clockSource =
    args['clock-mhz'] !== undefined
      ? '--clock-mhz'
      : clockFromEnv !== undefined
        ? 'RKNPU_CLOCK_MHZ'
        : 'mainline default';
  const file = args.profile ? path.resolve(args.profile) : profilePath(env);
  if (args.write && !file)
    throw new SettingsError('no place for the board profile: set XDG_CONFIG_HOME or HOME, or give --profile');
  requireFile(path.join(nativeOutDir(), 'npu-calibrate'), 'npu-calibrate', 'run `npm run setup` to build it');
  const out = await runCalibrate({
    npu: { ...npu, device, clockMhz: String(clockMhz) },
    nativeOut: nativeOutDir(),
    clockMhz,
    clockSource,
    seed: args.seed,
    profileFile: args.write ? file : null,
    kitVersion: kitVersion(repoRoot),
    progress: (l) => sayErr(l),
  });
  if (!out.ladder) throw new Error(`${out.problem}; ${out.stderr.trim().split('\n').pop() ?? ''}`);
  const lines = ladderReport(out.ladder, {
    file: file ?? defaultProfilePath(),
    written: out.written,
    aside: out.aside,
  });
  if (args.json) {
    for (const l of lines) sayErr(l);
    process.stdout.write(
      `${JSON.stringify({ ok: out.ok, ladder: out.ladder, profile: out.profile, profile_file: out.profileFile, written: out.written, moved_aside: out.aside }, null, 2)}\n`,
    );
  } else {
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  process.exitCode = out.ok ? 0 : 1;
}
