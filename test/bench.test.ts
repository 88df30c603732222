// rosenblatt-dl bench on the software NPU: table, JSON, PNG; and a clear error for a bad model or an
// NPU-less setting.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { readPng } from '../ts/util/png.js';
import { cli, defaultModel } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-bench-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

t.test('bench --sim: table, bench.json, bench.png', (t) => {
  const out = path.join(tmp, 'b1');
  const r = cli(['bench', '--sim', '-m', defaultModel(), '-p', '32', '-n', '8', '-r', '1', '--out', out]);
  t.equal(r.status, 0, r.stderr.slice(-2000));
  t.match(r.stdout, /^run\s+pp32 t\/s\s+tg8 t\/s$/m, 'table header');
  t.match(r.stdout, /^CPU\s+[0-9.]+\s+[0-9.]+$/m);
  t.match(r.stdout, /^NPU \(simulator\)\s+[0-9.]+\s+[0-9.]+$/m);
  t.match(r.stdout, /^NPU, timing MODEL 200 MHz \(optimistic-pessimistic\)\s+[0-9.]+-[0-9.]+\s+[0-9.]+$/m);
  t.match(r.stdout, /^NPU, timing MODEL 1 GHz \(optimistic-pessimistic\)\s+[0-9.]+-[0-9.]+\s+[0-9.]+$/m);
  t.match(r.stdout, /parameters fitted to published measurements/, 'names the model parameters used');
  t.match(r.stdout, /SOFTWARE SIMULATOR/);
  const j = JSON.parse(fs.readFileSync(path.join(out, 'bench.json'), 'utf8'));
  t.equal(j.tool, 'rosenblatt-dl bench');
  t.equal(j.simulator, true);
  t.equal(j.device, 'sim');
  t.equal(j.p, 32);
  t.equal(j.n, 8);
  for (const k of ['pp_tps', 'tg_tps']) {
    t.ok(j.cpu[k] > 0, `cpu.${k} ${j.cpu[k]}`);
    t.ok(j.npu[k] > 0, `npu.${k} ${j.npu[k]}`);
  }
  t.equal(j.cpu.env.RKNPU_DEVICE, 'off');
  t.equal(j.npu.env.RKNPU_DEVICE, 'sim');
  t.match(j.npu.backends, /RKNPU/);
  t.match(j.npu_load_line, /RKNPU: RKNPU0 = .*SIMULATOR/);
  const e = j.model_estimate;
  t.equal(e.tokens, 32);
  t.ok(e.matmuls > 0 && e.jobs > 0 && e.tasks >= e.jobs, `${e.matmuls} matmuls, ${e.jobs} jobs, ${e.tasks} tasks`);
  for (const c of ['200', '1000']) {
    t.ok(
      e[`model_ms_${c}_opt`] > 0 && e[`model_ms_${c}_opt`] <= e[`model_ms_${c}_pess`],
      `${c} MHz: optimistic <= pessimistic`,
    );
    t.ok(
      e[`pp_tps_${c}_pess`] > 0 && e[`pp_tps_${c}_pess`] <= e[`pp_tps_${c}_opt`],
      `${c} MHz: rates in the same order`,
    );
  }
  t.ok(e.model_ms_1000_pess <= e.model_ms_200_pess, '1 GHz not slower than 200 MHz');
  t.equal(e.model_source, 'fitted to published measurements');
  for (const f of j.files.logs) t.ok(fs.statSync(path.join(out, f)).size > 0, `${f} saved`);
  const info = readPng(fs.readFileSync(path.join(out, 'bench.png')));
  t.equal(info.colorType, 2);
  t.ok(info.width >= 400 && info.height >= 300);
  t.ok(info.colors >= 5, `${info.colors} distinct colours`);
  const proj = readPng(fs.readFileSync(path.join(out, j.files.projection_png)));
  t.ok(proj.width >= 400 && proj.colors >= 7, 'projection.png: the prefill projection with the split');
  t.end();
});

t.test('bench --json --skip-estimate; a missing model or RKNPU_DEVICE=off is a clear error', (t) => {
  // Without --sim on a machine with no accel node the simulator is chosen, and said so first.
  const r = cli(
    [
      'bench',
      '-m',
      defaultModel(),
      '-p',
      '16',
      '-n',
      '4',
      '-r',
      '1',
      '--skip-estimate',
      '--json',
      '--out',
      path.join(tmp, 'b2'),
    ],
    { RKNPU_DEVICE: '', RKNPU_ACCEL_DIR: '/nonexistent-accel' },
  );
  t.equal(r.status, 0, r.stderr.slice(-1500));
  t.match(r.stderr.split('\n')[0], /^rosenblatt-dl: no NPU on this machine .*SOFTWARE SIMULATOR/);
  const j = JSON.parse(r.stdout);
  t.equal(j.simulator, true);
  t.equal(j.model_estimate, null);
  t.ok(j.npu.pp_tps > 0);
  const bad = cli(['bench', '--sim', '-m', path.join(tmp, 'nope.gguf'), '--out', path.join(tmp, 'b3')]);
  t.equal(bad.status, 1);
  t.match(bad.stderr, /model not found at .*nope\.gguf/);
  const off = cli(['bench', '-m', defaultModel(), '--out', path.join(tmp, 'b4')], { RKNPU_DEVICE: 'off' });
  t.equal(off.status, 1);
  t.match(off.stderr, /^rosenblatt-dl: error: bench runs the NPU, but RKNPU_DEVICE=off asks for none/m);
  t.notOk(fs.existsSync(path.join(tmp, 'b4')), 'nothing ran');
  t.end();
});
