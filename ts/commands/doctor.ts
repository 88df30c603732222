// rosenblatt-dl doctor: is this board ready for the NPU? Plain verdicts and fixes (ts/board/doctor/).
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { formatDoctor, runDoctor } from '../board/doctor/index.js';

interface DoctorArgs {
  root?: string;
  json?: boolean;
  strict?: boolean;
}

export const command = 'doctor';
export const describe =
  'check a board for the NPU (kernel, module, device tree, /dev/accel, cores, IOMMU, clock, RAM) and say how to fix what is missing';

export function builder(y: Argv) {
  return y
    .option('root', {
      type: 'string',
      describe: 'read /proc, /sys, /dev, /boot under this directory (default: $ROSENBLATT_SYSROOT, else /)',
    })
    .option('json', { type: 'boolean', describe: 'print the checks as JSON' })
    .option('strict', { type: 'boolean', describe: 'exit 1 when any check fails' });
}

export function handler(args: ArgumentsCamelCase<DoctorArgs>) {
  const r = runDoctor(args.root);
  process.stdout.write(args.json ? `${JSON.stringify(r, null, 2)}\n` : formatDoctor(r));
  if (args.strict && !r.ok) process.exitCode = 1;
}
