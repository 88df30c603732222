// fleet/<host>.yaml: the YAML-subset reader and line-by-line writer, and the kit's update of a fleet
// file from a run (only on an RK3588; human-written keys compared, never written).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { applyFleet } from '../../ts/board/accept/fleet-update.js';
import type { AcceptReport } from '../../ts/board/accept/types.js';
import { runDoctor } from '../../ts/board/doctor/index.js';
import { readFleet, updateFleet } from '../../ts/board/fleet.js';
import { makeBoard } from '../fixtures/board/fake-board.js';
import { repo } from '../helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-fleet-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

t.test('fleet writer: kit-owned values replaced line by line, everything else untouched', (t) => {
  const src = fs.readFileSync(path.join(repo, 'fleet', 'boltzmann.yaml'), 'utf8');
  const before = readFleet(src);
  t.equal(before.get('schema_version'), 1);
  t.equal(before.get('soc.cpu.big_cpus'), '4-7');
  const u = updateFleet(src, {
    'kernel.release': '7.3.0',
    'measured.npu_cores_bound': 3,
    'measured.overlay_applied': true,
    'kernel.cmdline': 'a "quoted" b',
    'measured.nope': 1,
  });
  t.same(u.missing, ['measured.nope']);
  const a = src.split('\n'),
    b = u.text.split('\n');
  t.equal(b.length, a.length, 'same number of lines');
  const changed = a.map((l, i) => (l === b[i] ? null : b[i])).filter((l) => l !== null);
  t.same(changed, [
    '  release: "7.3.0"',
    '  cmdline: "a  quoted  b"',
    '  overlay_applied: true',
    '  npu_cores_bound: 3',
  ]);
  const after = readFleet(u.text);
  t.equal(after.get('measured.npu_cores_bound'), 3);
  t.equal(after.get('kernel.release'), '7.3.0');
  t.throws(() => readFleet('a:\n\tb: 1\n'), /outside the schema/);
  t.end();
});

t.test('fleet update: skipped off the board; mismatches with human keys reported, not written', (t) => {
  const file = path.join(tmp, 'fleet-unit.yaml');
  const src = fs.readFileSync(path.join(repo, 'fleet', 'boltzmann.yaml'), 'utf8');
  fs.writeFileSync(file, src);
  const rep = { finished_at: '2026-11-22T08:00:00.123Z', kit_version: '0.1.0+abc' } as AcceptReport;
  const here = runDoctor('/nonexistent-sysroot');
  let f = applyFleet(file, rep, here, [], 'vm');
  t.match(f.skipped_reason, /not an RK3588/);
  t.equal(fs.readFileSync(file, 'utf8'), src, 'file untouched');
  const root = makeBoard({ cores: 2, clockHz: 400000000, memKb: 16_000_000 });
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  f = applyFleet(file, rep, runDoctor(root), [{ simulator: false, driver: 'rocket' }], 'somewhere');
  t.equal(f.skipped_reason, null);
  t.same(f.missing, []);
  t.ok(f.written.includes('measured.npu_cores_bound') && f.written.includes('measured.drm_name'));
  t.match(f.mismatches.join('\n'), /host\.hostname is "boltzmann" but this host is "somewhere"/);
  t.match(f.mismatches.join('\n'), /soc\.memory\.total_gb is 32 but MemTotal is 15\.3 GiB/);
  t.match(f.mismatches.join('\n'), /npu\.cores is 3 but 2 cores are bound/);
  t.match(f.mismatches.join('\n'), /npu\.clock_hz_expected is 200000000 but the NPU clock runs at 400000000/);
  const y = readFleet(fs.readFileSync(file, 'utf8'));
  t.equal(y.get('npu.cores'), 3, 'human key left unchanged');
  t.equal(y.get('measured.npu_cores_bound'), 2);
  t.equal(y.get('measured.drm_name'), 'rocket');
  t.equal(y.get('measured.updated_at'), '2026-11-22T08:00:00Z');
  t.end();
});
