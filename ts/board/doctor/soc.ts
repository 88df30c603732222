// SoC and board: the device tree must say rockchip,rk3588; the overlay is written for the ROCK 5 ITX.
import os from 'node:os';
import { KREADME, type DoctorRun } from './types.js';

export function checkSoc(r: DoctorRun): void {
  const { f, facts } = r;
  const compatible = f.dt('/proc/device-tree/compatible');
  const dtbModel = f.dt('/proc/device-tree/model');
  const rk3588 = !!compatible && /rockchip,rk3588\b/.test(compatible);
  facts.rk3588 = rk3588;
  facts.dtbModel = dtbModel;
  const arch = f.live ? os.arch() : 'unknown (sysroot)';
  if (rk3588) r.add('SoC', 'ok', `RK3588 (${dtbModel ?? 'no model string'})`);
  else if (compatible)
    r.add(
      'SoC',
      'fail',
      `not an RK3588: device tree says "${compatible}"`,
      'run the kit on the RK3588 board (boltzmann); elsewhere use --sim',
    );
  else
    r.add(
      'SoC',
      'fail',
      `not an RK3588: no device tree at ${f.p('/proc/device-tree')} (machine ${arch})`,
      'run the kit on the RK3588 board (boltzmann); on this machine use --sim (software NPU)',
    );
  if (rk3588 && dtbModel && !/ROCK 5 ITX/i.test(dtbModel)) {
    r.add(
      'board',
      'warn',
      `device tree model "${dtbModel}" is not a ROCK 5 ITX`,
      `the overlay kernel/rock-5-itx-npu.dtso is written for the ROCK 5 ITX dtb; other boards need their own enablement (${KREADME})`,
    );
  } else if (rk3588) r.add('board', 'ok', dtbModel ?? 'unknown');
}
