// The ROCK 5 ITX/ITX+ NPU overlay compiles with dtc and passes kernel/build-overlay.sh's checks
// (fixups, enabled cores and MMUs, supplies, applied to a stand-in base tree).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { repo } from './helpers.js';

const dtc = spawnSync('dtc', ['--version']).status === 0;

t.test('kernel/build-overlay.sh', { skip: !dtc && 'dtc not installed (apt-get install device-tree-compiler)' }, (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-overlay-'));
  const r = spawnSync('bash', [path.join(repo, 'kernel', 'build-overlay.sh'), '-o', out], { encoding: 'utf8' });
  const text = r.stdout + r.stderr;
  t.equal(r.status, 0, text.slice(-800));
  const m = /(\d+) passed, (\d+) failed/.exec(text);
  t.ok(m && Number(m[1]) > 10 && m[2] === '0', `its checks: ${m?.[0]}`);
  t.ok(fs.statSync(path.join(out, 'rock-5-itx-npu.dtbo')).size > 500, 'the .dtbo is written');
  const dts = fs.readFileSync(path.join(out, 'rock-5-itx-npu.dtbo.dts'), 'utf8');
  for (const label of [
    'rknn_core_0',
    'rknn_core_1',
    'rknn_core_2',
    'rknn_mmu_0',
    'rknn_mmu_1',
    'rknn_mmu_2',
    'pd_npu',
    'vdd_npu_s0',
  ]) {
    t.match(dts, new RegExp(label), `the overlay refers to ${label}`);
  }
  fs.rmSync(out, { recursive: true, force: true });
  t.end();
});
