// The accel node: exactly one /dev/accel/accelN (rocket has one node for all cores), owned by the
// rocket driver (sysfs; DRM_IOCTL_VERSION is read by the probe stage), readable and writable.
import fs from 'node:fs';
import path from 'node:path';
import { KREADME, STATUS_DOC, type DoctorRun } from './types.js';

export function checkAccelNode(r: DoctorRun): void {
  const { f, facts } = r;
  const nodes = (f.list('/dev/accel') ?? []).filter((e) => /^accel\d+$/.test(e)).map((e) => `/dev/accel/${e}`);
  facts.accelNodes = nodes;
  facts.accelNode = nodes[0] ?? null;
  if (nodes.length === 1) r.add('/dev/accel node', 'ok', nodes[0]);
  else if (nodes.length > 1)
    r.add(
      '/dev/accel node',
      'warn',
      `${nodes.join(', ')}: more than one accel device; rocket has ONE node for all cores`,
      'find the rocket one (ls -l /sys/class/accel/*/device/driver) and set RKNPU_ACCEL_DIR or unload the other accel driver',
    );
  else
    r.add(
      '/dev/accel node',
      'fail',
      'no /dev/accel/accel* node',
      facts.npuCoresBound
        ? 'the driver bound but no node: check dmesg for "Initialized rocket"'
        : 'the node appears when the rocket driver binds the NPU cores (see the checks above)',
    );

  const node = facts.accelNode;
  if (!node) {
    r.add('driver', 'skip', 'no accel node');
    r.add('node permissions', 'skip', 'no accel node');
    return;
  }
  const base = path.basename(node);
  const drvLink = f.link(`/sys/class/accel/${base}/device/driver`);
  const uevent = f.read(`/sys/class/accel/${base}/device/uevent`);
  const drv = drvLink ? path.basename(drvLink) : (/^DRIVER=(\S+)/m.exec(uevent ?? '')?.[1] ?? null);
  if (drv === 'rocket') r.add('driver', 'ok', `${base} -> rocket`);
  else if (drv)
    r.add(
      'driver',
      'fail',
      `${base} belongs to driver "${drv}", not rocket`,
      `a vendor rknpu or another accel driver owns the node; boot a mainline kernel with rocket (${STATUS_DOC} §10)`,
    );
  else
    r.add(
      'driver',
      'warn',
      `unknown: no driver link under /sys/class/accel/${base}/device (layout unverified)`,
      `the probe stage (npu-probe) reads the DRM driver name; or run the DRM_IOCTL_VERSION snippet in ${KREADME} §4`,
    );
  try {
    fs.accessSync(f.p(node), fs.constants.R_OK | fs.constants.W_OK);
    r.add('node permissions', 'ok', `${node} readable and writable by this user`);
  } catch {
    r.add(
      'node permissions',
      'fail',
      `${node} not readable/writable by this user`,
      `sudo usermod -aG render $USER, then log in again (or check ls -l ${node})`,
    );
  }
}
