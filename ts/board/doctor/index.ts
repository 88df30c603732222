// rosenblatt-dl doctor: board checks for the RK3588 NPU on mainline Linux, one function per group of
// checks, all reading through a sysroot (sysroot.ts). The facts checked come from
// docs/npu-mainline-status.md §1-§8 and §12 and from kernel/README.md §4; where the layout on a real
// ITX board is not verified the check says "unknown".
import { checkAccelNode } from './accel.js';
import { checkKernel } from './kernel.js';
import { checkKernelLog } from './kernel-log.js';
import { checkDriverBinding, checkDtbSymbols, checkNpuNodes } from './npu-nodes.js';
import { checkClock, checkDevfreq, checkRegulator } from './power.js';
import { checkSoc } from './soc.js';
import { Sysroot, sysroot } from './sysroot.js';
import { checkRam, readDistro } from './system.js';
import { DoctorRun, type DoctorReport, type Status } from './types.js';

export { kernelVerdict, parseRelease } from './kernel.js';
export { npuClockFromSummary } from './power.js';
export { sysroot } from './sysroot.js';
export type { Check, DoctorFacts, DoctorReport, Status } from './types.js';

/** The checks that need the board, in table order; skipped elsewhere. */
const BOARD_CHECKS: ((r: DoctorRun) => void)[] = [
  checkDtbSymbols,
  checkKernelLog,
  checkNpuNodes,
  checkDriverBinding,
  checkAccelNode,
  checkRegulator,
  checkClock,
  checkDevfreq,
];
const BOARD_CHECK_NAMES = [
  'dtb symbols',
  'kernel log',
  'device tree NPU nodes',
  'module',
  'NPU cores bound',
  'IOMMUs bound',
  '/dev/accel node',
  'driver',
  'node permissions',
  'vdd_npu_s0',
  'NPU clock',
  'devfreq',
];

/** Run every check against the tree under `root`. */
export function runDoctor(rootOpt?: string): DoctorReport {
  const root = sysroot(rootOpt);
  const r = new DoctorRun(new Sysroot(root));
  checkSoc(r);
  checkKernel(r);
  if (r.facts.rk3588) for (const check of BOARD_CHECKS) check(r);
  else for (const name of BOARD_CHECK_NAMES) r.add(name, 'skip', 'not an RK3588', '');
  checkRam(r);
  readDistro(r);
  return { root, ok: !r.checks.some((c) => c.status === 'fail'), checks: r.checks, facts: r.facts };
}

const MARK: Record<Status, string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', skip: '-' };

/** The human table. */
export function formatDoctor(r: DoctorReport): string {
  const w = Math.max(...r.checks.map((c) => c.name.length));
  const lines = [`rosenblatt-dl doctor${r.root !== '/' ? ` (sysroot ${r.root})` : ''}`];
  for (const c of r.checks) {
    lines.push(`${MARK[c.status].padEnd(4)}  ${c.name.padEnd(w)}  ${c.found}`);
    if (c.fix && c.status !== 'ok' && c.status !== 'skip') lines.push(`${''.padEnd(6 + w)}  fix: ${c.fix}`);
  }
  const n = (s: Status) => r.checks.filter((c) => c.status === s).length;
  lines.push(
    `${n('ok')} ok, ${n('warn')} warnings, ${n('fail')} failed, ${n('skip')} skipped${r.facts.rk3588 ? '' : ' (not an RK3588: the NPU checks need the board)'}`,
  );
  return lines.join('\n') + '\n';
}
