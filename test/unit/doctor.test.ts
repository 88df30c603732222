// The doctor's checks on fake board trees (test/fixtures/board): one thing broken at a time.
import fs from 'node:fs';
import t from 'tap';
import { kernelVerdict, npuClockFromSummary, runDoctor, type DoctorReport } from '../../ts/board/doctor/index.js';
import { makeBoard } from '../fixtures/board/fake-board.js';

const byName = (r: DoctorReport, name: string) => {
  const c = r.checks.find((k) => k.name === name);
  if (!c) throw new Error(`no check named ${name}`);
  return c;
};

const roots: string[] = [];
t.teardown(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })));
const board = (o: Parameters<typeof makeBoard>[0] = {}) => {
  const r = makeBoard(o);
  roots.push(r);
  return r;
};

t.test('kernel versions (docs/npu-mainline-status.md §1.2)', (t) => {
  t.equal(kernelVerdict('7.3.0').status, 'ok');
  t.equal(kernelVerdict('7.0.1-rockchip').status, 'ok');
  t.equal(kernelVerdict('6.18.17').status, 'ok');
  t.equal(kernelVerdict('6.18.9').status, 'warn');
  t.equal(kernelVerdict('6.12.40').status, 'fail');
  t.end();
});

t.test('clk_summary parsing', (t) => {
  const c = npuClockFromSummary(' clk_npu   1 1 0 200000000 0 0 50000 Y\n aclk_npu0 1 1 0 100000000 0 0 50000 Y\n');
  t.equal(c.hz, 200000000);
  t.equal(npuClockFromSummary(' pll_gpll 1 1 0 1188000000 0 0\n').hz, null, 'no NPU line -> unknown');
  t.end();
});

t.test('a healthy board: every NPU check ok', (t) => {
  const r = runDoctor(board());
  t.ok(r.ok, 'no failures');
  for (const n of [
    'SoC',
    'board',
    'kernel',
    'kernel config',
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
  ]) {
    t.equal(byName(r, n).status, 'ok', `${n}: ${byName(r, n).found}`);
  }
  t.equal(byName(r, 'RAM').status, 'warn', 'RAM above 4 GB flagged (U6)');
  t.match(byName(r, 'RAM').fix, /mem=4G/);
  t.equal(r.facts.accelNode, '/dev/accel/accel0');
  t.equal(r.facts.npuCoresBound, 3);
  t.equal(r.facts.iommusBound, 3);
  t.equal(r.facts.npuClockHz, 200000000);
  t.equal(r.facts.vddNpuUv, 800000);
  t.equal(r.facts.rocketConfig, 'm');
  t.equal(r.facts.kernelRelease, '7.3.0');
  t.equal(r.facts.ramTotalBytes, 32_578_112 * 1024);
  t.equal(r.facts.distro.id, 'debian');
  t.end();
});

t.test('overlay not applied: says so and points at the overlay', (t) => {
  const r = runDoctor(board({ overlay: false }));
  t.notOk(r.ok);
  const dt = byName(r, 'device tree NPU nodes');
  t.equal(dt.status, 'fail');
  t.match(dt.found, /NPU nodes disabled in the device tree/);
  t.match(dt.fix, /kernel\/rock-5-itx-npu\.dtso.*kernel\/README\.md/);
  t.equal(byName(r, 'NPU cores bound').status, 'fail');
  t.equal(byName(r, '/dev/accel node').status, 'fail');
  t.equal(r.facts.overlayApplied, false);
  t.end();
});

t.test('old kernel, module missing from the config, config in /boot', (t) => {
  const r = runDoctor(board({ release: '6.18.5', rocketConfig: 'absent', configGz: false, module: false }));
  t.equal(byName(r, 'kernel').status, 'warn');
  t.match(byName(r, 'kernel').fix, /6\.18\.17/);
  t.equal(byName(r, 'kernel config').status, 'fail');
  t.match(byName(r, 'kernel config').found, /\/boot\/config-6\.18\.5/);
  t.equal(byName(r, 'module').status, 'fail');
  t.match(byName(r, 'module').fix, /npu\.config/);
  t.end();
});

t.test('module not loaded, two cores, no debugfs, clock not 200 MHz', (t) => {
  let r = runDoctor(board({ cores: 2, clkSummary: false }));
  t.equal(byName(r, 'NPU cores bound').status, 'warn');
  t.match(byName(r, 'NPU cores bound').found, /2 of 3/);
  t.equal(byName(r, 'NPU clock').status, 'warn');
  t.match(byName(r, 'NPU clock').found, /unknown/);
  t.match(byName(r, 'NPU clock').fix, /debugfs/);
  t.equal(r.facts.npuClockHz, 'unknown');
  r = runDoctor(board({ module: false }));
  t.equal(byName(r, 'module').status, 'fail');
  t.match(byName(r, 'module').fix, /modprobe rocket/);
  r = runDoctor(board({ clockHz: 1000000000 }));
  t.equal(byName(r, 'NPU clock').status, 'warn');
  t.match(byName(r, 'NPU clock').found, /1000 MHz/);
  t.end();
});

t.test('no dtb symbols; errors in the kernel log', (t) => {
  const r = runDoctor(
    board({
      symbols: false,
      dmesg: '[ 9.0] rocket fdab0000.npu: NPU job timed out\n[ 9.1] rk_iommu fdab9000.iommu: Page fault at 0x1000\n',
    }),
  );
  t.equal(byName(r, 'dtb symbols').status, 'warn');
  t.equal(r.facts.baseDtbHasSymbols, 'unknown');
  const k = byName(r, 'kernel log');
  t.equal(k.status, 'fail');
  t.match(k.found, /NPU job timed out, rk_iommu page fault/);
  t.end();
});

t.test('another SoC', (t) => {
  const r = runDoctor(board({ compatible: 'raspberrypi,5-model-b\0brcm,bcm2712\0' }));
  t.equal(byName(r, 'SoC').status, 'fail');
  t.match(byName(r, 'SoC').found, /not an RK3588/);
  t.equal(byName(r, 'module').status, 'skip');
  t.end();
});
