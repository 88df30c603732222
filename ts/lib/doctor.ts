// rosenblatt-dl doctor: board checks for the RK3588 NPU on mainline Linux. Every read of /proc, /sys,
// /dev and /boot goes through a sysroot prefix (--root DIR or ROSENBLATT_SYSROOT) so tests can feed a
// fake board tree. The facts checked come from docs/npu-mainline-status.md §1-§8 and §12 and from
// kernel/README.md §4; where the layout on a real ITX board is not verified the check says "unknown".
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

export type Status = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  name: string;
  status: Status;
  found: string;
  fix: string;
}

export interface DoctorFacts {
  rk3588: boolean;
  dtbModel: string | null;
  kernelRelease: string | null;
  rocketConfig: string | null; // m | y | absent | unknown
  cmdline: string | null;
  accelNode: string | null;
  accelNodes: string[];
  overlayApplied: boolean | null;
  baseDtbHasSymbols: boolean | 'unknown' | null;
  npuCoresBound: number | null;
  iommusBound: number | null;
  npuClockHz: number | 'unknown' | null;
  vddNpuPresent: boolean | null;
  vddNpuUv: number | null;
  devfreqPresent: boolean | null;
  ramTotalBytes: number | null;
  distro: { id: string | null; version_id: string | null; pretty_name: string | null };
}

export interface DoctorReport {
  root: string;
  ok: boolean;
  checks: Check[];
  facts: DoctorFacts;
}

const KREADME = 'kernel/README.md';
const STATUS_DOC = 'docs/npu-mainline-status.md';

/** The sysroot: --root, else $ROSENBLATT_SYSROOT, else "/". */
export function sysroot(opt?: string): string {
  return path.resolve(opt || process.env.ROSENBLATT_SYSROOT || '/');
}

class Fs {
  constructor(readonly root: string) {}
  p(abs: string): string {
    return path.join(this.root, abs);
  }
  exists(abs: string): boolean {
    return fs.existsSync(this.p(abs));
  }
  read(abs: string): string | null {
    try {
      return fs.readFileSync(this.p(abs), 'utf8');
    } catch {
      return null;
    }
  }
  /** A device-tree string property: NULs removed. */
  dt(abs: string): string | null {
    const s = this.read(abs);
    return s === null ? null : s.replace(/\0+$/, '').replace(/\0/g, ' ').trim();
  }
  list(abs: string): string[] | null {
    try {
      return fs.readdirSync(this.p(abs)).sort();
    } catch {
      return null;
    }
  }
  link(abs: string): string | null {
    try {
      return fs.readlinkSync(this.p(abs));
    } catch {
      return null;
    }
  }
}

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

function rocketConfig(f: Fs, rel: string | null): { value: string; source: string } {
  let text: string | null = null;
  let source = '';
  try {
    const gz = fs.readFileSync(f.p('/proc/config.gz'));
    text = zlib.gunzipSync(gz).toString('utf8');
    source = '/proc/config.gz';
  } catch {
    /* not there */
  }
  if (text === null && rel) {
    text = f.read(`/boot/config-${rel}`);
    source = `/boot/config-${rel}`;
  }
  if (text === null) return { value: 'unknown', source: 'no /proc/config.gz or /boot/config-<release>' };
  const m = /^CONFIG_DRM_ACCEL_ROCKET=([ym])$/m.exec(text);
  return { value: m ? m[1] : 'absent', source };
}

/** clk_summary: the rate of the NPU clock. Returns null when debugfs is not readable. */
export function npuClockFromSummary(text: string): { hz: number | null; line: string | null } {
  const lines = text.split('\n').filter((l) => /npu/i.test(l));
  // Prefer the SCMI clock (named clk_npu / scmi_clk_npu on mainline; the exact name is unverified).
  const pick =
    lines.find((l) => /^\s*(scmi_)?clk_npu\s/i.test(l)) ?? lines.find((l) => /scmi.*npu|npu.*scmi/i.test(l)) ?? null;
  if (!pick) return { hz: null, line: null };
  // columns: name enable_cnt prepare_cnt protect_cnt rate ...
  const nums = pick.trim().split(/\s+/).slice(1).map(Number);
  const rate = nums.length >= 4 ? nums[3] : NaN;
  return { hz: Number.isFinite(rate) ? rate : null, line: pick.trim().replace(/\s+/g, ' ') };
}

/** Run every check against the tree under `root`. */
export function runDoctor(rootOpt?: string): DoctorReport {
  const root = sysroot(rootOpt);
  const f = new Fs(root);
  const checks: Check[] = [];
  const add = (name: string, status: Status, found: string, fix = '') => checks.push({ name, status, found, fix });

  // 1. SoC
  const compatible = f.dt('/proc/device-tree/compatible');
  const dtbModel = f.dt('/proc/device-tree/model');
  const rk3588 = !!compatible && /rockchip,rk3588\b/.test(compatible);
  const arch = root === '/' ? os.arch() : 'unknown (sysroot)';
  if (rk3588) add('SoC', 'ok', `RK3588 (${dtbModel ?? 'no model string'})`);
  else if (compatible)
    add(
      'SoC',
      'fail',
      `not an RK3588: device tree says "${compatible}"`,
      'run the kit on the RK3588 board (boltzmann); elsewhere use --sim',
    );
  else
    add(
      'SoC',
      'fail',
      `not an RK3588: no device tree at ${f.p('/proc/device-tree')} (machine ${arch})`,
      'run the kit on the RK3588 board (boltzmann); on this machine use --sim (software NPU)',
    );
  if (rk3588 && dtbModel && !/ROCK 5 ITX/i.test(dtbModel)) {
    add(
      'board',
      'warn',
      `device tree model "${dtbModel}" is not a ROCK 5 ITX`,
      `the overlay kernel/rock-5-itx-npu.dtso is written for the ROCK 5 ITX dtb; other boards need their own enablement (${KREADME})`,
    );
  } else if (rk3588) add('board', 'ok', dtbModel ?? 'unknown');

  // 2. Kernel
  const rel =
    (f.read('/proc/sys/kernel/osrelease') ?? '').trim() ||
    (/Linux version (\S+)/.exec(f.read('/proc/version') ?? '')?.[1] ?? '');
  const kernelRelease = rel || null;
  if (!rel) add('kernel', rk3588 ? 'warn' : 'skip', 'unknown (no /proc/sys/kernel/osrelease or /proc/version)', '');
  else {
    const v = kernelVerdict(rel);
    add(
      'kernel',
      rk3588 ? v.status : 'skip',
      `${rel}: ${v.why}`,
      v.status === 'ok' ? '' : `run Linux >= 7.0 or 6.18.y >= 6.18.17 (${STATUS_DOC} §1.2)`,
    );
  }
  const cfg = rocketConfig(f, kernelRelease);
  const rocketCfg = cfg.value;
  if (!rk3588) add('kernel config', 'skip', `CONFIG_DRM_ACCEL_ROCKET: ${cfg.value} (${cfg.source})`);
  else if (cfg.value === 'm' || cfg.value === 'y')
    add('kernel config', 'ok', `CONFIG_DRM_ACCEL_ROCKET=${cfg.value} (${cfg.source})`);
  else if (cfg.value === 'absent')
    add(
      'kernel config',
      'fail',
      `CONFIG_DRM_ACCEL_ROCKET not set (${cfg.source})`,
      `rebuild the kernel with kernel/npu.config merged (${KREADME} §5)`,
    );
  else
    add(
      'kernel config',
      'warn',
      `unknown: ${cfg.source}`,
      `enable CONFIG_IKCONFIG_PROC or install /boot/config-$(uname -r) so the config can be checked (${KREADME} §5)`,
    );

  const cmdline = (f.read('/proc/cmdline') ?? '').trim() || null;

  // The rest needs the board.
  const boardOnly = (name: string) => add(name, 'skip', 'not an RK3588', '');
  let accelNodes: string[] = [];
  let accelNode: string | null = null;
  let overlayApplied: boolean | null = null;
  let symbols: boolean | 'unknown' | null = null;
  let cores: number | null = null;
  let mmus: number | null = null;
  let clockHz: number | 'unknown' | null = null;
  let vddPresent: boolean | null = null;
  let vddUv: number | null = null;
  let devfreq: boolean | null = null;

  if (!rk3588) {
    for (const n of [
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
    ])
      boardOnly(n);
  } else {
    // 2b. U2: does the booted tree carry __symbols__ (so a bootloader can apply the overlay)?
    const symDir = f.list('/proc/device-tree/__symbols__');
    if (symDir === null) {
      symbols = 'unknown';
      add(
        'dtb symbols',
        'warn',
        'unknown: the live device tree has no __symbols__ node (the base dtb was built without dtc -@, or the bootloader dropped it)',
        `check the boot dtb with fdtget (${KREADME} §1); without symbols boot a merged dtb (${KREADME} §3.4)`,
      );
    } else {
      const need = ['rknn_core_0', 'pd_npu', 'vdd_npu_s0'];
      const miss = need.filter((n) => !symDir.includes(n));
      symbols = miss.length === 0;
      if (!miss.length) add('dtb symbols', 'ok', `__symbols__ has ${need.join(', ')}`);
      else
        add(
          'dtb symbols',
          'warn',
          `__symbols__ lacks ${miss.join(', ')}`,
          `the overlay targets these labels; use a >= 6.18 dtb or a merged dtb (${KREADME} §3.4)`,
        );
    }

    // 2c. Kernel log: probe lines and the bad signs of kernel/README.md §4. A sysroot may carry a
    // captured log as <root>/dmesg.txt (tests); on the live system `dmesg` may need root.
    let log: string | null = null;
    if (root === '/') {
      const r = spawnSync('dmesg', [], { encoding: 'utf8', timeout: 10_000 });
      log = r.status === 0 ? r.stdout : null;
    } else log = f.read('/dmesg.txt');
    if (log === null)
      add(
        'kernel log',
        'warn',
        'unknown: dmesg not readable by this user',
        'run as root (sudo), or sysctl kernel.dmesg_restrict=0',
      );
    else {
      const cores = new Set([...log.matchAll(/Rockchip NPU core (\d+) version/g)].map((m) => m[1]));
      const bad = [
        [/NPU job timed out/i, 'NPU job timed out'],
        [/failed to get ack on domain/i, 'power-domain ack failure'],
        [/rk_iommu.*page fault|page fault.*rk_iommu/i, 'rk_iommu page fault'],
        [/SError/i, 'SError'],
      ]
        .filter(([re]) => (re as RegExp).test(log!))
        .map(([, what]) => what as string);
      if (bad.length)
        add(
          'kernel log',
          'fail',
          `${bad.join(', ')} in dmesg`,
          `see ${KREADME} §7 (known failure modes) and ${STATUS_DOC} §7`,
        );
      else if (cores.size === 3)
        add('kernel log', 'ok', '"Rockchip NPU core N version" for cores 0, 1, 2; no NPU errors');
      else
        add(
          'kernel log',
          'warn',
          `${cores.size} "Rockchip NPU core N version" line(s) (expect 3; the log may have rotated)`,
          'dmesg | grep -iE "rocket|rknn|npu|rk_iommu"',
        );
    }

    // 3. Device tree nodes (overlay)
    const nodes: [string, string[]][] = [
      ['npu@fdab0000', ['npu@fdab0000']],
      ['npu@fdac0000', ['npu@fdac0000']],
      ['npu@fdad0000', ['npu@fdad0000']],
      ['iommu@fdab9000', ['iommu@fdab9000']],
      ['iommu@fdaca000', ['iommu@fdaca000', 'iommu@fdac9000']],
      ['iommu@fdada000', ['iommu@fdada000', 'iommu@fdad9000']],
    ];
    const states = nodes.map(([label, alts]) => {
      for (const a of alts) {
        const s = f.dt(`/proc/device-tree/${a}/status`);
        if (s !== null) return { label, node: a, status: s };
        if (f.exists(`/proc/device-tree/${a}`)) return { label, node: a, status: 'okay' }; // no status property = enabled
      }
      return { label, node: alts[0], status: 'missing' };
    });
    const bad = states.filter((s) => s.status !== 'okay' && s.status !== 'ok');
    overlayApplied = bad.length === 0;
    if (!bad.length) add('device tree NPU nodes', 'ok', '3 NPU cores + 3 MMUs okay');
    else if (bad.every((s) => s.status === 'missing'))
      add(
        'device tree NPU nodes',
        'fail',
        'no NPU nodes in the device tree (kernel older than 6.18, or a vendor dtb)',
        `boot a mainline >= 6.18 kernel and dtb (${STATUS_DOC} §4)`,
      );
    else
      add(
        'device tree NPU nodes',
        'fail',
        `NPU nodes disabled in the device tree: ${bad.map((s) => `${s.node}=${s.status}`).join(', ')}`,
        `apply kernel/rock-5-itx-npu.dtso, see ${KREADME} §2-§3`,
      );

    // 4. Module
    const modLoaded = f.exists('/sys/module/rocket');
    const drvDir = f.list('/sys/bus/platform/drivers/rocket');
    if (modLoaded || drvDir)
      add('module', 'ok', `rocket ${modLoaded ? 'loaded' : 'registered'}${rocketCfg === 'y' ? ' (built in)' : ''}`);
    else if (rocketCfg === 'absent')
      add('module', 'fail', 'rocket not in this kernel', `rebuild with kernel/npu.config (${KREADME} §5)`);
    else
      add(
        'module',
        'fail',
        'rocket module not loaded',
        'sudo modprobe rocket (and add "rocket" to /etc/modules to load it at boot)',
      );

    // 5. Cores bound
    cores = drvDir ? drvDir.filter((e) => /\.npu$/.test(e)).length : 0;
    const coreNames = drvDir?.filter((e) => /\.npu$/.test(e)).join(' ') || 'none';
    if (cores === 3) add('NPU cores bound', 'ok', `3 (${coreNames})`);
    else if (cores > 0)
      add(
        'NPU cores bound',
        'warn',
        `${cores} of 3 (${coreNames})`,
        'check dmesg | grep -iE "rocket|rknn|npu" for probe errors; core 0 failing leaves the others timing out (' +
          STATUS_DOC +
          ' §7)',
      );
    else
      add(
        'NPU cores bound',
        'fail',
        'no *.npu device bound to the rocket driver',
        overlayApplied
          ? 'sudo modprobe rocket; then dmesg | grep -iE "rocket|rknn|npu" for probe errors'
          : `enable the NPU nodes first (apply kernel/rock-5-itx-npu.dtso, ${KREADME} §3)`,
      );

    // 6. IOMMUs
    const iommuDir = f.list('/sys/bus/platform/drivers/rk_iommu');
    mmus = iommuDir ? iommuDir.filter((e) => /fdab9000|fdac[a9]000|fdad[a9]000/.test(e)).length : 0;
    if (mmus === 3) add('IOMMUs bound', 'ok', '3 NPU MMUs bound to rk_iommu');
    else if (iommuDir === null)
      add('IOMMUs bound', 'fail', 'no rk_iommu driver', `CONFIG_ROCKCHIP_IOMMU=y is required (${KREADME} §5)`);
    else
      add(
        'IOMMUs bound',
        mmus > 0 ? 'warn' : 'fail',
        `${mmus} of 3 NPU MMUs bound to rk_iommu`,
        `the MMU nodes come with the overlay (${KREADME} §3); check dmesg | grep rk_iommu`,
      );

    // 7. /dev/accel
    accelNodes = (f.list('/dev/accel') ?? []).filter((e) => /^accel\d+$/.test(e)).map((e) => `/dev/accel/${e}`);
    accelNode = accelNodes[0] ?? null;
    if (accelNodes.length === 1) add('/dev/accel node', 'ok', accelNodes[0]);
    else if (accelNodes.length > 1)
      add(
        '/dev/accel node',
        'warn',
        `${accelNodes.join(', ')}: more than one accel device; rocket has ONE node for all cores`,
        'find the rocket one (ls -l /sys/class/accel/*/device/driver) and set RKNPU_ACCEL_DIR or unload the other accel driver',
      );
    else
      add(
        '/dev/accel node',
        'fail',
        'no /dev/accel/accel* node',
        cores
          ? 'the driver bound but no node: check dmesg for "Initialized rocket"'
          : 'the node appears when the rocket driver binds the NPU cores (see the checks above)',
      );

    // 8. Driver name behind the node (sysfs; DRM_IOCTL_VERSION is read by the probe stage)
    if (accelNode) {
      const base = path.basename(accelNode);
      const drvLink = f.link(`/sys/class/accel/${base}/device/driver`);
      const uevent = f.read(`/sys/class/accel/${base}/device/uevent`);
      const drv = drvLink ? path.basename(drvLink) : (/^DRIVER=(\S+)/m.exec(uevent ?? '')?.[1] ?? null);
      if (drv === 'rocket') add('driver', 'ok', `${base} -> rocket`);
      else if (drv)
        add(
          'driver',
          'fail',
          `${base} belongs to driver "${drv}", not rocket`,
          'a vendor rknpu or another accel driver owns the node; boot a mainline kernel with rocket (' +
            STATUS_DOC +
            ' §10)',
        );
      else
        add(
          'driver',
          'warn',
          `unknown: no driver link under /sys/class/accel/${base}/device (layout unverified)`,
          'the probe stage (npu-probe) reads the DRM driver name; or run the DRM_IOCTL_VERSION snippet in ' +
            KREADME +
            ' §4',
        );
      try {
        fs.accessSync(f.p(accelNode), fs.constants.R_OK | fs.constants.W_OK);
        add('node permissions', 'ok', `${accelNode} readable and writable by this user`);
      } catch {
        add(
          'node permissions',
          'fail',
          `${accelNode} not readable/writable by this user`,
          `sudo usermod -aG render $USER, then log in again (or check ls -l ${accelNode})`,
        );
      }
    } else {
      add('driver', 'skip', 'no accel node');
      add('node permissions', 'skip', 'no accel node');
    }

    // 9. Regulator
    const regs = f.list('/sys/class/regulator') ?? [];
    const vdd = regs.find((r) => (f.read(`/sys/class/regulator/${r}/name`) ?? '').trim() === 'vdd_npu_s0');
    vddPresent = !!vdd;
    if (vdd) {
      const uv = Number((f.read(`/sys/class/regulator/${vdd}/microvolts`) ?? '').trim());
      vddUv = Number.isFinite(uv) && uv > 0 ? uv : null;
      add('vdd_npu_s0', 'ok', `${vdd}${vddUv ? `, ${vddUv} uV` : ''}`);
    } else
      add(
        'vdd_npu_s0',
        'warn',
        'no regulator named vdd_npu_s0',
        `the ITX dtb names the RK8602 on i2c1 vdd_npu_s0; check ls /sys/bus/i2c/devices/1-0042/ (${STATUS_DOC} §12 U3)`,
      );

    // 10. Clock (debugfs)
    const clk = f.read('/sys/kernel/debug/clk/clk_summary');
    if (clk === null) {
      clockHz = 'unknown';
      add(
        'NPU clock',
        'warn',
        'unknown: /sys/kernel/debug/clk/clk_summary not readable',
        'run as root with debugfs mounted: sudo mount -t debugfs none /sys/kernel/debug',
      );
    } else {
      const c = npuClockFromSummary(clk);
      clockHz = c.hz ?? 'unknown';
      if (c.hz === 200_000_000) add('NPU clock', 'ok', `200 MHz (${c.line})`);
      else if (c.hz)
        add(
          'NPU clock',
          'warn',
          `${c.hz / 1e6} MHz, expected 200 MHz (mainline assigned-clock-rates)`,
          `figures are only comparable at the same clock; see ${KREADME} §6 before changing it`,
        );
      else
        add(
          'NPU clock',
          'warn',
          'unknown: no NPU clock line recognised in clk_summary',
          `grep -i npu /sys/kernel/debug/clk/clk_summary and send the output (${STATUS_DOC} §12 U5)`,
        );
    }

    // 11. devfreq (expect none on mainline)
    const df = f.list('/sys/class/devfreq') ?? [];
    devfreq = df.some((d) => /npu|fdab0000/i.test(d) || /npu/i.test(f.link(`/sys/class/devfreq/${d}/device`) ?? ''));
    add(
      'devfreq',
      devfreq ? 'warn' : 'ok',
      devfreq
        ? 'an NPU devfreq entry exists (not mainline: the clock may change under load)'
        : 'none for the NPU (mainline: fixed clock)',
      devfreq ? 'pin the NPU frequency for benchmarks (userspace governor) and record it' : '',
    );
  }

  // 12. RAM
  const mem = /^MemTotal:\s+(\d+)\s*kB/m.exec(f.read('/proc/meminfo') ?? '');
  const ramTotalBytes = mem ? Number(mem[1]) * 1024 : null;
  if (ramTotalBytes === null) add('RAM', 'warn', 'unknown: no MemTotal in /proc/meminfo');
  else {
    const gib = (ramTotalBytes / 2 ** 30).toFixed(1);
    const memLimit = cmdline && /(^|\s)mem=\S+/.exec(cmdline)?.[0]?.trim();
    if (!rk3588) add('RAM', 'skip', `${gib} GiB`);
    else if (ramTotalBytes > 4 * 2 ** 30)
      add(
        'RAM',
        'warn',
        `${gib} GiB: NPU MMU page tables above 4 GB are untested on RK3588`,
        `if NPU results are wrong or dmesg shows rk_iommu page faults, reboot with mem=4G and rerun (${STATUS_DOC} §8, U6)`,
      );
    else add('RAM', 'ok', `${gib} GiB${memLimit ? ` (limited by ${memLimit})` : ''}`);
  }

  const os_ = f.read('/etc/os-release') ?? '';
  const osv = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?$`, 'm').exec(os_)?.[1] ?? null;

  return {
    root,
    ok: !checks.some((c) => c.status === 'fail'),
    checks,
    facts: {
      rk3588,
      dtbModel,
      kernelRelease,
      rocketConfig: rocketCfg,
      cmdline,
      accelNode,
      accelNodes,
      overlayApplied,
      baseDtbHasSymbols: symbols,
      npuCoresBound: cores,
      iommusBound: mmus,
      npuClockHz: clockHz,
      vddNpuPresent: vddPresent,
      vddNpuUv: vddUv,
      devfreqPresent: devfreq,
      ramTotalBytes,
      distro: { id: osv('ID'), version_id: osv('VERSION_ID'), pretty_name: osv('PRETTY_NAME') },
    },
  };
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
