// Kernel release (docs/npu-mainline-status.md §1.2) and CONFIG_DRM_ACCEL_ROCKET.
import zlib from 'node:zlib';
import type { Sysroot } from './sysroot.js';
import { KREADME, STATUS_DOC, type DoctorRun, type Status } from './types.js';

/** Parse "6.18.17-foo" -> [6, 18, 17]. */
export function parseRelease(rel: string): [number, number, number] | null {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(rel);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

/** Kernel verdict per docs/npu-mainline-status.md §1.2. */
export function kernelVerdict(rel: string): { status: Status; why: string } {
  const v = parseRelease(rel);
  if (!v) return { status: 'warn', why: 'version not recognised' };
  const [a, b, c] = v;
  const ge = (x: number, y: number, z: number) => a > x || (a === x && (b > y || (b === y && c >= z)));
  if (!ge(6, 18, 0)) return { status: 'fail', why: 'older than 6.18: no rocket driver, no NPU device-tree nodes' };
  if (ge(7, 0, 0))
    return {
      status: 'ok',
      why: ge(7, 3, 0)
        ? 'has the probe-unwind and job-path fixes'
        : 'has the probe-unwind fixes (7.3+ adds the rocket_job_push/run fixes)',
    };
  if (a === 6 && b === 18 && c >= 17) return { status: 'ok', why: '6.18.y with the probe-unwind fixes (6.18.17+)' };
  if (a === 6 && b === 19)
    return {
      status: 'warn',
      why: '6.19.y: the probe-unwind fixes are in later 6.19 stable releases only; check the changelog',
    };
  return { status: 'warn', why: 'before 6.18.17: a failed probe with rocket built in (=y) can oops' };
}

function rocketConfig(f: Sysroot, rel: string | null): { value: string; source: string } {
  let text: string | null = null;
  let source = '';
  const gz = f.readBytes('/proc/config.gz');
  if (gz) {
    try {
      text = zlib.gunzipSync(gz).toString('utf8');
      source = '/proc/config.gz';
    } catch {
      /* not gzip: fall back to /boot */
    }
  }
  if (text === null && rel) {
    text = f.read(`/boot/config-${rel}`);
    source = `/boot/config-${rel}`;
  }
  if (text === null) return { value: 'unknown', source: 'no /proc/config.gz or /boot/config-<release>' };
  const m = /^CONFIG_DRM_ACCEL_ROCKET=([ym])$/m.exec(text);
  return { value: m ? m[1] : 'absent', source };
}

/** kernel and kernel config; the verdicts count only on an RK3588. */
export function checkKernel(r: DoctorRun): void {
  const { f, facts } = r;
  const rk3588 = facts.rk3588;
  const rel =
    (f.read('/proc/sys/kernel/osrelease') ?? '').trim() ||
    (/Linux version (\S+)/.exec(f.read('/proc/version') ?? '')?.[1] ?? '');
  facts.kernelRelease = rel || null;
  if (!rel) r.add('kernel', rk3588 ? 'warn' : 'skip', 'unknown (no /proc/sys/kernel/osrelease or /proc/version)', '');
  else {
    const v = kernelVerdict(rel);
    r.add(
      'kernel',
      rk3588 ? v.status : 'skip',
      `${rel}: ${v.why}`,
      v.status === 'ok' ? '' : `run Linux >= 7.0 or 6.18.y >= 6.18.17 (${STATUS_DOC} §1.2)`,
    );
  }
  const cfg = rocketConfig(f, facts.kernelRelease);
  facts.rocketConfig = cfg.value;
  if (!rk3588) r.add('kernel config', 'skip', `CONFIG_DRM_ACCEL_ROCKET: ${cfg.value} (${cfg.source})`);
  else if (cfg.value === 'm' || cfg.value === 'y')
    r.add('kernel config', 'ok', `CONFIG_DRM_ACCEL_ROCKET=${cfg.value} (${cfg.source})`);
  else if (cfg.value === 'absent')
    r.add(
      'kernel config',
      'fail',
      `CONFIG_DRM_ACCEL_ROCKET not set (${cfg.source})`,
      `rebuild the kernel with kernel/npu.config merged (${KREADME} §5)`,
    );
  else
    r.add(
      'kernel config',
      'warn',
      `unknown: ${cfg.source}`,
      `enable CONFIG_IKCONFIG_PROC or install /boot/config-$(uname -r) so the config can be checked (${KREADME} §5)`,
    );
  facts.cmdline = (f.read('/proc/cmdline') ?? '').trim() || null;
}
