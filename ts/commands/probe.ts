// rosenblatt-dl probe: the Phase-1 check. Runs the native npu-probe (open the NPU, INT8/FP16 matmuls
// through our regcmd builder, compare with a CPU reference, timing) and passes its verdict through.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { nativeOutDir, requireFile } from '../lib/paths.js';

interface ProbeArgs {
  sim?: boolean;
  device?: string;
  dtype: string;
  cores: number;
  'clock-mhz': number;
  seed?: number;
  json?: boolean;
}

export const command = 'probe';
export const describe = 'check the NPU: matmuls compared with a CPU reference (--sim: on the software NPU)';

export function builder(y: Argv) {
  return y
    .option('sim', { type: 'boolean', describe: 'use the software NPU (simulator) instead of the rocket driver' })
    .option('device', {
      type: 'string',
      choices: ['auto', 'rocket', 'sim'],
      describe: 'device (default: $RKNPU_DEVICE, else auto)',
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

/** Arguments for the native npu-probe (exported for the tests). */
export function probeArgv(a: ProbeArgs): string[] {
  const argv = ['--dtype', a.dtype, '--cores', String(a.cores), '--clock-mhz', String(a['clock-mhz'])];
  const device = a.sim ? 'sim' : a.device;
  if (device) argv.push('--device', device);
  if (a.seed !== undefined) argv.push('--seed', String(a.seed));
  if (a.json) argv.push('--json');
  return argv;
}

export function handler(args: ArgumentsCamelCase<ProbeArgs>) {
  const exe = requireFile(path.join(nativeOutDir(), 'npu-probe'), 'npu-probe', 'run `npm run setup` to build it');
  const r = spawnSync(exe, probeArgv(args), { stdio: 'inherit' });
  if (r.error) throw r.error;
  process.exitCode = r.status ?? 2;
}
