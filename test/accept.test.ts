// rosenblatt-dl accept end to end on the software NPU (--sim, quick sizes) into a temp folder: the
// report's fields and values, the Markdown sections, the PNGs, the raw stage outputs, the progress
// lines, and the fleet file update (on a fake RK3588 tree, a temp copy of fleet/boltzmann.yaml). The
// fleet writer and the tool-output parsers have their unit tests in test/unit/.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { readFleet } from '../ts/board/fleet.js';
import { readPng } from '../ts/util/png.js';
import { makeBoard } from './fixtures/board/fake-board.js';
import { cli, defaultModel, e2eModel, repo, sharedModel } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-accept-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

const model = () => e2eModel('tiny-qwen2-q4_k_m.gguf');
const text = sharedModel('valid.txt');

t.test('accept --sim --quick end to end', (t) => {
  const out = path.join(tmp, 'results');
  const fleet = path.join(tmp, 'boltzmann.yaml');
  fs.copyFileSync(path.join(repo, 'fleet', 'boltzmann.yaml'), fleet);
  const root = makeBoard();
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const args = ['accept', '--sim', '--quick', '-m', model(), '--out', out, '--fleet', fleet, '--root', root];
  if (text) args.push('-f', text);
  const r = cli(args, { ROSENBLATT_PROGRESS_MS: '2000' });
  t.equal(r.status, 0, `exit 0\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);

  // progress
  for (const [i, title] of [
    [1, 'doctor'],
    [2, 'calibrate'],
    [3, 'probe'],
    [4, 'GEMM sweep'],
    [5, 'test-backend-ops MUL_MAT'],
    [6, 'llama-bench'],
    [7, 'perplexity'],
    [8, 'report'],
  ] as const) {
    t.match(r.stdout, new RegExp(`^\\[${i}/8\\] ${title}.* \\.\\.\\.$`, 'm'), `progress line for stage ${i} starts`);
  }
  t.match(
    r.stdout,
    /^\[5\/8\] test-backend-ops MUL_MAT \.\.\. \d+ s ok: \d+\/\d+ MUL_MAT cases/m,
    'stage end line with time and verdict',
  );
  t.match(
    r.stdout,
    /^\[2\/8\] calibrate.* \.\.\. \d+ s ok: \d+\/\d+ steps; envelope board: tasks <= 128 rows x 3072 columns/m,
    'the calibration passes on the simulator',
  );
  t.match(r.stdout, /accept: PASS \(SIMULATOR run/);
  t.match(
    r.stdout,
    /^\[4\/8\] GEMM sweep.* \.\.\. \d+ s, bench-gemm running: /m,
    'still-running lines during a long stage',
  );

  // report.json
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  t.equal(rep.tool, 'rosenblatt-dl accept');
  t.equal(rep.verdict, 'PASS');
  t.equal(rep.simulator, true);
  t.equal(rep.device, 'sim');
  t.equal(rep.quick, true);
  t.equal(rep.npu_clock_hz, null, 'no hardware clock on the simulator');
  t.match(rep.note, /simulator \+ timing MODEL, not hardware/);
  t.same(
    rep.stages.map((s: any) => s.id),
    ['doctor', 'calibrate', 'probe', 'gemm', 'backend_ops', 'bench', 'perplexity'],
  );
  const st = Object.fromEntries(rep.stages.map((s: any) => [s.id, s]));
  t.equal(st.doctor.verdict, 'info', 'doctor is informational on the simulator');
  t.equal(st.doctor.figures.facts.rk3588, true, 'doctor read the fake board');
  for (const id of ['calibrate', 'probe', 'gemm', 'backend_ops', 'bench'])
    t.equal(st[id].verdict, 'pass', `${id}: ${st[id].summary}`);
  // the calibration's profile: in the results folder only (a simulator run never installs it), used by the
  // later stages
  const cal = st.calibrate.figures;
  t.ok(cal.ok && cal.steps > 30 && cal.passed === cal.steps && cal.stopped_at === null, 'every ladder step passed');
  t.equal(cal.envelope.m_tile_max, 128);
  t.equal(cal.profile, 'board-profile.json');
  t.equal(cal.installed_to, null, 'not installed into the user config on the simulator');
  const prof = JSON.parse(fs.readFileSync(path.join(out, 'board-profile.json'), 'utf8'));
  t.equal(prof.format, 'rosenblatt-board-profile');
  t.equal(prof.driver.name, 'npusim');
  t.match(st.backend_ops.commands[0], /RKNPU_PROFILE=\S+board-profile\.json/, 'test-backend-ops ran with it');
  t.match(st.gemm.commands[0], /--envelope board --profile \S+board-profile\.json/, 'bench-gemm too');
  t.match(fs.readFileSync(path.join(out, 'test-backend-ops.txt'), 'utf8'), /envelope board/);
  t.equal(st.probe.figures.runs.length, 6);
  t.same(
    st.probe.figures.runs.map((x: any) => `${x.dtype}/${x.cores}`),
    ['int8/1', 'int8/2', 'int8/3', 'fp16/1', 'fp16/2', 'fp16/3'],
  );
  t.ok(st.probe.figures.runs.every((x: any) => x.ok && x.driver === 'npusim'));
  t.same(
    st.probe.figures.concurrent.map((x: any) => x.ok),
    [true, true],
    'two probe processes at once, both ok',
  );
  t.match(st.probe.summary, /two processes at once ok/);
  t.ok(st.gemm.figures.cases > 0);
  t.equal(st.gemm.figures.int_mismatches, 0, 'GEMM int32 results bit-exact');
  t.ok(st.gemm.figures.int_compared > 0);
  t.ok(
    st.gemm.figures.rows.every(
      (x: any) =>
        x.model_ms_200mhz[0] > 0 &&
        x.model_ms_200mhz[0] <= x.model_ms_200mhz[1] &&
        x.model_ms_1ghz[0] <= x.model_ms_1ghz[1] &&
        x.model_ms_1ghz[1] <= x.model_ms_200mhz[1] + 1e-9,
    ),
  );
  t.ok(st.backend_ops.figures.total > 0);
  t.equal(st.backend_ops.figures.passed, st.backend_ops.figures.total);
  const b = st.bench.figures;
  t.equal(b.p, 64);
  t.equal(b.n, 16);
  for (const k of [
    'cpu_pp_tps',
    'cpu_tg_tps',
    'npu_pp_tps',
    'npu_tg_tps',
    'model_pp_tps_200_opt',
    'model_pp_tps_200_pess',
    'model_pp_tps_1000_opt',
    'model_pp_tps_1000_pess',
  ])
    t.ok(b[k] > 0, `${k} = ${b[k]}`);
  t.ok(b.model_estimate.matmuls > 0, 'prefill ran matmuls on the NPU');
  t.ok(
    b.model_estimate.model_ms_1000_pess <= b.model_estimate.model_ms_200_pess,
    '1 GHz model not slower than 200 MHz',
  );
  t.ok(b.model_estimate.model_ms_200_opt <= b.model_estimate.model_ms_200_pess, 'optimistic bound below pessimistic');
  t.match(b.npu_load_line, /RKNPU: RKNPU0 = .*SIMULATOR/);
  if (text) {
    t.equal(st.perplexity.verdict, 'pass', st.perplexity.summary);
    t.ok(st.perplexity.figures.ppl_cpu > 1 && st.perplexity.figures.ppl_npu > 1);
    t.ok(st.perplexity.figures.rel_diff <= 0.01);
    t.ok(st.perplexity.figures.kld >= 0 && st.perplexity.figures.kld <= 0.01);
  } else t.equal(st.perplexity.verdict, 'skip');
  for (const s of rep.stages)
    for (const f of s.files) t.ok(fs.statSync(path.join(out, f)).size > 0, `raw output ${f} saved`);
  t.match(fs.readFileSync(path.join(out, 'test-backend-ops.txt'), 'utf8'), /tests passed/);
  t.match(fs.readFileSync(path.join(out, 'probe-int8-3core.txt'), 'utf8'), /"tool":"npu-probe"/);
  for (const p of ['a', 'b'])
    t.match(fs.readFileSync(path.join(out, `probe-int8-3core-concurrent-${p}.txt`), 'utf8'), /"ok":true/);

  // plots
  t.same(
    [...rep.plots].sort(),
    (text ? ['gemm.png', 'perplexity.png', 'pp_tg.png'] : ['gemm.png', 'pp_tg.png']).sort(),
  );
  for (const p of rep.plots) {
    const info = readPng(fs.readFileSync(path.join(out, p)));
    t.equal(info.colorType, 2, `${p}: RGB`);
    t.equal(info.bitDepth, 8);
    t.ok(info.width >= 400 && info.height >= 300, `${p}: ${info.width}x${info.height}`);
    t.ok(info.colors >= 5, `${p}: ${info.colors} distinct colours (not blank)`);
    t.same(info.chunks, ['IHDR', 'IDAT', 'IEND']);
  }

  // report.md
  const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
  t.match(md, /^# Rosenblatt acceptance report: PASS/);
  t.match(md, /\*\*Simulator run\.\*\*.*not hardware/);
  for (const h of [
    '## Summary',
    '## Stages',
    '## What failed',
    '## Board (doctor)',
    '## Calibration (first-light ladder)',
    '## Figures',
    '## Plots',
    '## Fleet file',
    '## Commands run',
    '## Files',
  ])
    t.match(md, h);
  if (text) t.match(md, '## Accuracy');
  t.match(md, /\| 5 \| test-backend-ops MUL_MAT \| PASS \|/);
  t.match(md, /\| 2 \| calibrate \(first-light ladder, board profile\) \| PASS \|/);
  t.match(md, /- board profile: `board-profile\.json`; the later stages ran in it/);
  t.match(md, /\| NPU clock \| simulator/);
  t.match(md, /\| NPU, timing MODEL 200 MHz \(optimistic-pessimistic\) \| [0-9.]+-[0-9.]+ \|/);
  t.match(
    md,
    /GGML_BACKEND_PATH=\$PLUGIN RKNPU_DEVICE=sim RKNPU_PROFILE=\S+ (RKNPU_\w+=\S+ )*\$BIN\/test-backend-ops -o MUL_MAT -b RKNPU0/,
  );
  t.match(md, /\$NATIVE\/npu-calibrate --device sim --clock-mhz 200 --json/);
  t.match(md, /\$BIN\/llama-bench -m .* -p 64 -n 16/);
  t.match(md, /!\[pp_tg\.png\]\(pp_tg\.png\)/);
  t.notMatch(
    md,
    new RegExp(os.homedir() === '/' ? '^$x' : `${path.dirname(repo)}/main/build`),
    'commands use $BIN/$PLUGIN/$NATIVE',
  );

  // fleet file: only kit-owned lines changed
  t.equal(rep.fleet.skipped_reason, null);
  t.same(rep.fleet.mismatches, [], 'the fake board agrees with boltzmann.yaml');
  const orig = fs.readFileSync(path.join(repo, 'fleet', 'boltzmann.yaml'), 'utf8').split('\n');
  const now = fs.readFileSync(fleet, 'utf8').split('\n');
  t.equal(now.length, orig.length);
  const owned =
    /^\s+(release|rocket_config|cmdline|id|version_id|pretty_name|updated_at|kit_version|dtb_model|base_dtb_has_symbols|overlay_applied|accel_node|vdd_npu_present|npu_cores_bound|iommus_bound|npu_clock_hz|vdd_npu_uv|devfreq_present|ram_total_bytes):/;
  orig.forEach((l, i) => {
    if (l !== now[i]) t.match(now[i], owned, `changed line ${i + 1} is kit-owned: ${now[i]}`);
  });
  const f = readFleet(now.join('\n'));
  t.equal(f.get('measured.npu_cores_bound'), 3);
  t.equal(f.get('measured.iommus_bound'), 3);
  t.equal(f.get('measured.accel_node'), '/dev/accel/accel0');
  t.equal(f.get('measured.npu_clock_hz'), 200000000);
  t.equal(f.get('kernel.release'), '7.3.0');
  t.equal(f.get('measured.base_dtb_has_symbols'), true);
  t.equal(f.get('measured.drm_name'), null, 'no DRM name recorded from a simulator run');
  t.match(String(f.get('measured.updated_at')), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.end();
});

t.test(
  'accept on a machine without the NPU, told to use rocket: every NPU stage fails with the reason',
  { skip: fs.existsSync('/dev/accel') && 'this machine has /dev/accel' },
  (t) => {
    const out = path.join(tmp, 'rocket');
    const r = cli(['accept', '--quick', '-m', defaultModel(), '--out', out], {
      RKNPU_DEVICE: 'rocket',
      RKNPU_ACCEL_DIR: '/nonexistent-accel',
    });
    t.equal(r.status, 1, 'exit 1');
    t.match(r.stdout, /accept: FAIL/);
    const rep = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    t.equal(rep.verdict, 'FAIL');
    t.equal(rep.simulator, false);
    t.equal(rep.device, 'rocket');
    t.equal(rep.npu_clock_hz, 'unknown');
    const st = Object.fromEntries(rep.stages.map((s: any) => [s.id, s]));
    t.equal(st.doctor.verdict, 'fail', 'doctor counts on a board run');
    t.match(st.doctor.summary, /not an RK3588/);
    t.equal(st.calibrate.figures.envelope, null, 'no envelope without an NPU');
    for (const id of ['calibrate', 'probe', 'gemm', 'backend_ops', 'bench']) {
      t.equal(st[id].verdict, 'fail', id);
      t.match(st[id].summary, /no rocket NPU found/, `${id} says why`);
    }
    t.equal(st.perplexity.verdict, 'skip', 'no text with -m and no -f');
    t.ok(st.bench.files.includes('llama-bench-npu.log'), "the failing run's log is listed");
    const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    t.match(md, /^# Rosenblatt acceptance report: FAIL/);
    t.notMatch(md, /Simulator run/);
    t.match(md, /## What failed\n\n- \*\*doctor/);
    t.match(md, /## Board tests this kit does not settle yet/);
    t.end();
  },
);
