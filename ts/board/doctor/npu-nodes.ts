// The NPU in the device tree and in the driver model: __symbols__ for the overlay (U2), the NPU and
// MMU nodes enabled (the overlay applied), the rocket module, the cores and IOMMUs it bound.
import { KREADME, STATUS_DOC, type DoctorRun } from './types.js';

const NPU_CORES = 3;

/** U2: does the booted tree carry __symbols__ (so a bootloader can apply the overlay)? */
export function checkDtbSymbols(r: DoctorRun): void {
  const symDir = r.f.list('/proc/device-tree/__symbols__');
  if (symDir === null) {
    r.facts.baseDtbHasSymbols = 'unknown';
    r.add(
      'dtb symbols',
      'warn',
      'unknown: the live device tree has no __symbols__ node (the base dtb was built without dtc -@, or the bootloader dropped it)',
      `check the boot dtb with fdtget (${KREADME} §1); without symbols boot a merged dtb (${KREADME} §3.4)`,
    );
    return;
  }
  const need = ['rknn_core_0', 'pd_npu', 'vdd_npu_s0'];
  const miss = need.filter((n) => !symDir.includes(n));
  r.facts.baseDtbHasSymbols = miss.length === 0;
  if (!miss.length) r.add('dtb symbols', 'ok', `__symbols__ has ${need.join(', ')}`);
  else
    r.add(
      'dtb symbols',
      'warn',
      `__symbols__ lacks ${miss.join(', ')}`,
      `the overlay targets these labels; use a >= 6.18 dtb or a merged dtb (${KREADME} §3.4)`,
    );
}

// Each NPU core and its MMU, with the alternative unit addresses the MMU nodes go by.
const NODES: [string, string[]][] = [
  ['npu@fdab0000', ['npu@fdab0000']],
  ['npu@fdac0000', ['npu@fdac0000']],
  ['npu@fdad0000', ['npu@fdad0000']],
  ['iommu@fdab9000', ['iommu@fdab9000']],
  ['iommu@fdaca000', ['iommu@fdaca000', 'iommu@fdac9000']],
  ['iommu@fdada000', ['iommu@fdada000', 'iommu@fdad9000']],
];

export function checkNpuNodes(r: DoctorRun): void {
  const f = r.f;
  const states = NODES.map(([label, alts]) => {
    for (const a of alts) {
      const s = f.dt(`/proc/device-tree/${a}/status`);
      if (s !== null) return { label, node: a, status: s };
      if (f.exists(`/proc/device-tree/${a}`)) return { label, node: a, status: 'okay' }; // no status property = enabled
    }
    return { label, node: alts[0], status: 'missing' };
  });
  const bad = states.filter((s) => s.status !== 'okay' && s.status !== 'ok');
  r.facts.overlayApplied = bad.length === 0;
  if (!bad.length) r.add('device tree NPU nodes', 'ok', '3 NPU cores + 3 MMUs okay');
  else if (bad.every((s) => s.status === 'missing'))
    r.add(
      'device tree NPU nodes',
      'fail',
      'no NPU nodes in the device tree (kernel older than 6.18, or a vendor dtb)',
      `boot a mainline >= 6.18 kernel and dtb (${STATUS_DOC} §4)`,
    );
  else
    r.add(
      'device tree NPU nodes',
      'fail',
      `NPU nodes disabled in the device tree: ${bad.map((s) => `${s.node}=${s.status}`).join(', ')}`,
      `apply kernel/rock-5-itx-npu.dtso, see ${KREADME} §2-§3`,
    );
}

/** module, NPU cores bound, IOMMUs bound. */
export function checkDriverBinding(r: DoctorRun): void {
  const { f, facts } = r;
  const modLoaded = f.exists('/sys/module/rocket');
  const drvDir = f.list('/sys/bus/platform/drivers/rocket');
  if (modLoaded || drvDir)
    r.add(
      'module',
      'ok',
      `rocket ${modLoaded ? 'loaded' : 'registered'}${facts.rocketConfig === 'y' ? ' (built in)' : ''}`,
    );
  else if (facts.rocketConfig === 'absent')
    r.add('module', 'fail', 'rocket not in this kernel', `rebuild with kernel/npu.config (${KREADME} §5)`);
  else
    r.add(
      'module',
      'fail',
      'rocket module not loaded',
      'sudo modprobe rocket (and add "rocket" to /etc/modules to load it at boot)',
    );

  const bound = drvDir?.filter((e) => /\.npu$/.test(e)) ?? [];
  const cores = bound.length;
  facts.npuCoresBound = cores;
  const coreNames = bound.join(' ') || 'none';
  if (cores === NPU_CORES) r.add('NPU cores bound', 'ok', `3 (${coreNames})`);
  else if (cores > 0)
    r.add(
      'NPU cores bound',
      'warn',
      `${cores} of 3 (${coreNames})`,
      `check dmesg | grep -iE "rocket|rknn|npu" for probe errors; core 0 failing leaves the others timing out (${STATUS_DOC} §7)`,
    );
  else
    r.add(
      'NPU cores bound',
      'fail',
      'no *.npu device bound to the rocket driver',
      facts.overlayApplied
        ? 'sudo modprobe rocket; then dmesg | grep -iE "rocket|rknn|npu" for probe errors'
        : `enable the NPU nodes first (apply kernel/rock-5-itx-npu.dtso, ${KREADME} §3)`,
    );

  const iommuDir = f.list('/sys/bus/platform/drivers/rk_iommu');
  const mmus = iommuDir ? iommuDir.filter((e) => /fdab9000|fdac[a9]000|fdad[a9]000/.test(e)).length : 0;
  facts.iommusBound = mmus;
  if (mmus === NPU_CORES) r.add('IOMMUs bound', 'ok', '3 NPU MMUs bound to rk_iommu');
  else if (iommuDir === null)
    r.add('IOMMUs bound', 'fail', 'no rk_iommu driver', `CONFIG_ROCKCHIP_IOMMU=y is required (${KREADME} §5)`);
  else
    r.add(
      'IOMMUs bound',
      mmus > 0 ? 'warn' : 'fail',
      `${mmus} of 3 NPU MMUs bound to rk_iommu`,
      `the MMU nodes come with the overlay (${KREADME} §3); check dmesg | grep rk_iommu`,
    );
}
