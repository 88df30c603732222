// The kernel log: the three "Rockchip NPU core N version" probe lines and the bad signs of
// kernel/README.md §4. A sysroot may carry a captured log as <root>/dmesg.txt (tests); on the live
// system `dmesg` may need root.
import { spawnSync } from 'node:child_process';
import { KREADME, STATUS_DOC, type DoctorRun } from './types.js';

const DMESG_TIMEOUT_MS = 10_000;
const NPU_CORES = 3;

const BAD_SIGNS: [RegExp, string][] = [
  [/NPU job timed out/i, 'NPU job timed out'],
  [/failed to get ack on domain/i, 'power-domain ack failure'],
  [/rk_iommu.*page fault|page fault.*rk_iommu/i, 'rk_iommu page fault'],
  [/SError/i, 'SError'],
];

function readLog(r: DoctorRun): string | null {
  if (!r.f.live) return r.f.read('/dmesg.txt');
  const d = spawnSync('dmesg', [], { encoding: 'utf8', timeout: DMESG_TIMEOUT_MS });
  return d.status === 0 ? d.stdout : null;
}

export function checkKernelLog(r: DoctorRun): void {
  const log = readLog(r);
  if (log === null) {
    r.add(
      'kernel log',
      'warn',
      'unknown: dmesg not readable by this user',
      'run as root (sudo), or sysctl kernel.dmesg_restrict=0',
    );
    return;
  }
  const cores = new Set([...log.matchAll(/Rockchip NPU core (\d+) version/g)].map((m) => m[1]));
  const bad = BAD_SIGNS.filter(([re]) => re.test(log)).map(([, what]) => what);
  if (bad.length)
    r.add(
      'kernel log',
      'fail',
      `${bad.join(', ')} in dmesg`,
      `see ${KREADME} §7 (known failure modes) and ${STATUS_DOC} §7`,
    );
  else if (cores.size === NPU_CORES)
    r.add('kernel log', 'ok', '"Rockchip NPU core N version" for cores 0, 1, 2; no NPU errors');
  else
    r.add(
      'kernel log',
      'warn',
      `${cores.size} "Rockchip NPU core N version" line(s) (expect 3; the log may have rotated)`,
      'dmesg | grep -iE "rocket|rknn|npu|rk_iommu"',
    );
}
