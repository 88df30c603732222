// rosenblatt-dl probe: the Phase-1 check. Runs the native npu-probe (open the NPU, INT8/FP16 matmuls
// through our regcmd builder, compare with a CPU reference, timing) and passes its verdict through.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { chooseDevice, requireNpuDevice, toolEnv, type NpuDevice } from '../runtime/npu-settings.js';
import { nativeOutDir, requireFile } from '../util/paths.js';
import { sayErr, simOption } from './common.js';

export interface ProbeArgs {
  sim?: boolean;
  device?: 'auto' | 'rocket' | 'sim';
  dtype: string;
  cores: number;
  'clock-mhz': number;
  seed?: number;
  json?: boolean;
}

export const command = 'probe';
export const describe =
  'check the NPU: matmuls compared with a CPU reference (on the software NPU with --sim, or when the machine has no NPU)';

export function builder(y: Argv) {
  return simOption(y, 'use the software NPU (simulator) instead of the rocket driver')
    .option('device', {
      type: 'string',
      choices: ['auto', 'rocket', 'sim'] as const,
      describe: 'device (default: $RKNPU_DEVICE, else the simulator when there is no /dev/accel, else auto)',
    })
    .option('dtype', { type: 'string', choices: ['int8', 'fp16'], default: 'int8' })
    .option('cores', { type: 'number', choices: [1, 2, 3], default: 1 })
    .option('clock-mhz', {
      type: 'number',
      choices: [200, 1000],
      default: 200,
      describe: 'NPU clock for the timing model',
    })
    .option('seed', { type: 'number' })
    .option('json', { type: 'boolean', describe: 'one JSON result line on stdout' })
    .conflicts('sim', 'device');
}

/** Arguments for the native npu-probe on `device` (exported for the tests). */
export function probeArgv(a: ProbeArgs, device: NpuDevice): string[] {
  const argv = ['--device', device, '--dtype', a.dtype, '--cores', String(a.cores)];
  argv.push('--clock-mhz', String(a['clock-mhz']));
  if (a.seed !== undefined) argv.push('--seed', String(a.seed));
  if (a.json) argv.push('--json');
  return argv;
}

export function handler(args: ArgumentsCamelCase<ProbeArgs>) {
  const npu = requireNpuDevice(chooseDevice({ requested: args.sim ? 'sim' : args.device, say: sayErr }), 'probe');
  const exe = requireFile(path.join(nativeOutDir(), 'npu-probe'), 'npu-probe', 'run `npm run setup` to build it');
  const r = spawnSync(exe, probeArgv(args, npu.device), { stdio: 'inherit', env: toolEnv(npu) });
  if (r.error) throw r.error;
  process.exitCode = r.status ?? 2;
}
