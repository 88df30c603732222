// RAM (NPU MMU page tables above 4 GB are untested, U6) and the distribution.
import { STATUS_DOC, type DoctorRun } from './types.js';

const GIB = 2 ** 30;
/** Above this the NPU's 32-bit MMU page tables are untested on RK3588 (U6). */
const NPU_TESTED_RAM_BYTES = 4 * GIB;

export function checkRam(r: DoctorRun): void {
  const { f, facts } = r;
  const mem = /^MemTotal:\s+(\d+)\s*kB/m.exec(f.read('/proc/meminfo') ?? '');
  const bytes = mem ? Number(mem[1]) * 1024 : null;
  facts.ramTotalBytes = bytes;
  if (bytes === null) {
    r.add('RAM', 'warn', 'unknown: no MemTotal in /proc/meminfo');
    return;
  }
  const gib = (bytes / GIB).toFixed(1);
  const memLimit = facts.cmdline && /(^|\s)mem=\S+/.exec(facts.cmdline)?.[0]?.trim();
  if (!facts.rk3588) r.add('RAM', 'skip', `${gib} GiB`);
  else if (bytes > NPU_TESTED_RAM_BYTES)
    r.add(
      'RAM',
      'warn',
      `${gib} GiB: NPU MMU page tables above 4 GB are untested on RK3588`,
      `if NPU results are wrong or dmesg shows rk_iommu page faults, reboot with mem=4G and rerun (${STATUS_DOC} §8, U6)`,
    );
  else r.add('RAM', 'ok', `${gib} GiB${memLimit ? ` (limited by ${memLimit})` : ''}`);
}

/** /etc/os-release: facts only, no check. */
export function readDistro(r: DoctorRun): void {
  const text = r.f.read('/etc/os-release') ?? '';
  const field = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?$`, 'm').exec(text)?.[1] ?? null;
  r.facts.distro = { id: field('ID'), version_id: field('VERSION_ID'), pretty_name: field('PRETTY_NAME') };
}
