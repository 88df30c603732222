// rosenblatt-dl calibrate on the software NPU: every rung passes, the board profile is written where asked (or
// in the config home), the plugin then reports and uses it (test-backend-ops MUL_MAT passes in the board and
// vendor envelopes), stale and missing profiles, RKNPU_ENVELOPE=board without one, and a ladder that stops:
// what failed, the registers, what to send back, the old profile moved aside. Every run here names its own
// profile or config home: the user's own profile is never touched.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { BoardProfile } from '../ts/board/calibrate/index.js';
import { cli, pluginPath, tool } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-calibrate-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
/** No profile anywhere unless a test puts one there. */
const isolated = { XDG_CONFIG_HOME: path.join(tmp, 'no-config'), RKNPU_PROFILE: '' };
const sim = { ...isolated, GGML_BACKEND_PATH: pluginPath(), RKNPU_DEVICE: 'sim' };

const profile = path.join(tmp, 'board-profile.json');

t.test('calibrate --sim: every rung passes and the profile is written', (t) => {
  const r = cli(['calibrate', '--sim', '--profile', profile, '--json'], isolated);
  t.equal(r.status, 0, r.stderr.slice(-1500));
  const j = JSON.parse(r.stdout);
  t.equal(j.ok, true);
  t.equal(j.written, true);
  t.equal(j.profile_file, profile);
  const steps = j.ladder.steps as { rung: string; ran: boolean; ok: boolean; id: string }[];
  t.same([...new Set(steps.map((s) => s.rung))], ['a', 'b', 'c', 'd'], 'rungs a to d');
  t.ok(steps.length > 30 && steps.every((s) => s.ran && s.ok), `all ${steps.length} steps ran and passed`);
  t.same(j.ladder.edges, [], 'no edge on a flawless simulator');
  t.same(
    steps.filter((s) => s.id.startsWith('c8')).map((s) => s.id),
    ['c8.1', 'c8.2'],
    'c8: weight reuse, int8 then fp16',
  );
  t.match(r.stderr, /npu-calibrate: \[a2\] simulated cores that ran the three fds: 0, 1, 2/, 'a2: one core per fd');
  t.match(r.stderr, /calibrate: PASS; the widest envelope that passed: tasks <= 128 rows x 3072 columns/);

  const p = JSON.parse(fs.readFileSync(profile, 'utf8')) as BoardProfile;
  t.equal(p.format, 'rosenblatt-board-profile');
  t.equal(p.version, 1);
  t.equal(p.kernel, os.release(), 'the kernel it ran on');
  t.same(p.driver, { name: 'npusim', version: '1.0.0' });
  t.equal(p.clock_mhz, 200);
  t.equal(p.cores, 3);
  t.equal(p.simulator, true);
  t.same(p.envelope, {
    m_tile_max: 128,
    n_tile_max: 3072,
    k_task_max_int8: 8192,
    k_task_max_fp16: 4096,
    inplace_k_slices: true,
    chained_tails: true,
    weight_reuse: true,
    out_pairs: ['int8-int32', 'int8-fp32', 'fp16-fp32'],
    tasks_per_job_max: 4095,
    job_budget_ms: 250,
  });
  // on the simulator the measured times are the timing model's pessimistic bound, so the fit gives that
  // bound's parameters back (the per-job cost with the IOMMU attach; the DMA per core with three streaming)
  t.same(p.timing, {
    task_overhead_us: 47,
    job_overhead_us: 1090,
    int8_macs_per_cycle: 1024,
    fp16_macs_per_cycle: 512,
    dma_gbps: 3.2,
    mac_efficiency: 1,
    job_time_ratio_max: 1,
  });
  t.match(p.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.end();
});

t.test('the plugin reports the profile and passes test-backend-ops MUL_MAT in it and in vendor', (t) => {
  for (const [env, want] of [
    [{ RKNPU_PROFILE: profile }, `envelope board \\(tasks <= 128 rows.*\\) from board profile ${profile} of `],
    [
      { RKNPU_ENVELOPE: 'vendor' },
      'envelope vendor \\(tasks <= 128 rows.*\\(RKNPU_ENVELOPE=vendor\\); no board profile',
    ],
  ] as const) {
    const r = tool('test-backend-ops', ['-o', 'MUL_MAT', '-b', 'RKNPU0'], { ...sim, ...env });
    t.equal(r.status, 0, r.stderr.slice(-600));
    const m = /(\d+)\/(\d+) tests passed/.exec(r.stdout);
    t.ok(m && m[1] === m[2] && Number(m[1]) > 100, `${JSON.stringify(env)}: all cases pass (${m?.[0]})`);
    t.match(r.stderr, new RegExp(`RKNPU: RKNPU0 = .*; ${want}`), 'the load line names the envelope');
  }
  t.end();
});

t.test('the config home holds the profile by default', (t) => {
  const home = path.join(tmp, 'config-home');
  const r = cli(['calibrate', '--sim'], { XDG_CONFIG_HOME: home, RKNPU_PROFILE: '' });
  t.equal(r.status, 0, r.stderr.slice(-800));
  const file = path.join(home, 'rosenblatt', 'board-profile.json');
  t.ok(fs.existsSync(file), `written to ${file}`);
  t.match(r.stdout, new RegExp(`board profile written to ${file}`));
  const v = cli(['run', '-v', '-n', '2', '-p', 'The kernel manages memory for the processes of the system'], {
    XDG_CONFIG_HOME: home,
    RKNPU_PROFILE: '',
    RKNPU_DEVICE: 'sim',
  });
  t.equal(v.status, 0, v.stderr.slice(-800));
  t.match(v.stderr, new RegExp(`envelope board .* from board profile ${file}`), 'rosenblatt-dl run uses it');
  t.match(v.stderr, /timing model 200 MHz, board profile \d{4}-\d\d-\d\dT/, 'and its measured timing');
  const none = cli(['calibrate', '--sim', '--no-write'], { XDG_CONFIG_HOME: path.join(tmp, 'nowrite') });
  t.equal(none.status, 0);
  t.notOk(fs.existsSync(path.join(tmp, 'nowrite')), '--no-write writes nothing');
  t.end();
});

t.test('a stale profile is reported and not used; RKNPU_ENVELOPE=board then is a config error', (t) => {
  const stale = path.join(tmp, 'stale.json');
  const p = JSON.parse(fs.readFileSync(profile, 'utf8'));
  fs.writeFileSync(stale, JSON.stringify({ ...p, kernel: '0.0.1-another' }));
  const r = tool('test-backend-ops', ['-o', 'MUL_MAT', '-b', 'RKNPU0', '-p', 'type_a=q4_0'], {
    ...sim,
    RKNPU_PROFILE: stale,
  });
  t.equal(r.status, 0, r.stderr.slice(-400));
  t.match(
    r.stderr,
    /envelope safe \(.*\); board profile \S+stale\.json is stale and not used: made for kernel 0\.0\.1-another/,
  );
  const cliRun = ['run', '-n', '1', '-p', 'hello'];
  const b = cli(cliRun, { ...isolated, RKNPU_DEVICE: 'sim', RKNPU_ENVELOPE: 'board', RKNPU_PROFILE: stale });
  t.equal(b.status, 1, 'the CLI refuses');
  t.match(b.stderr, /RKNPU_ENVELOPE=board, but the board profile \S+ is stale/);
  const n = cli(cliRun, { ...isolated, RKNPU_DEVICE: 'sim', RKNPU_ENVELOPE: 'board' });
  t.equal(n.status, 1);
  t.match(
    n.stderr,
    /RKNPU_ENVELOPE=board, but there is no board profile at \S+no-config\/rosenblatt\/board-profile\.json/,
  );
  const s = tool('test-backend-ops', ['-o', 'MUL_MAT', '-b', 'RKNPU0', '-p', 'type_a=q4_0'], {
    ...sim,
    RKNPU_ENVELOPE: 'board',
  });
  t.match(
    s.stderr,
    /RKNPU: RKNPU_ENVELOPE=board, but there is no board profile .*; no device registered/,
    'a stock tool logs it',
  );
  const bad = cli(cliRun, { ...isolated, RKNPU_DEVICE: 'sim', RKNPU_ENVELOPE: 'fast' });
  t.equal(bad.status, 1);
  t.match(bad.stderr, /unknown RKNPU_ENVELOPE='fast'/);
  t.end();
});

t.test('a ladder that stops: what failed, the registers, what to send back; the old profile moved aside', (t) => {
  const file = path.join(tmp, 'retired.json');
  fs.writeFileSync(file, '{"an old profile": true}\n');
  // rows beyond 8 come back wrong: the probe cases' 32-row tiles (safe) already fail in rung b
  const r = cli(['calibrate', '--sim', '--profile', file], { ...isolated, RKNPU_SIM_FLAW: 'm-tile>8' });
  t.equal(r.status, 1, 'exit 1');
  t.match(r.stdout, /calibrate: FAILED at b1: \[b1\] probe case 64x64x64 int8 -> int32.*first at row 8/);
  t.match(r.stdout, /calibrate: passed before it: a1, a2/);
  t.match(r.stdout, /the failing task: fd 1, task 0: rows \[0, 32\), columns \[0, 64\)/);
  t.match(r.stdout, /^ +\d+ +0201000100201020 +CNA_DATA_SIZE0 \(0x1020\) = 0x00010020$/m, 'registers decoded');
  t.match(r.stdout, /send back: the output of `rosenblatt-dl calibrate --json/);
  t.match(r.stdout, new RegExp(`previous board profile was moved to ${file}\\.failed-ladder`));
  t.notOk(fs.existsSync(file), 'the old profile is gone from its place');
  t.notMatch(r.stderr, /\[c1\.1\]/, 'nothing after the failure ran');
  const j = cli(['calibrate', '--sim', '--no-write', '--json'], { ...isolated, RKNPU_SIM_FLAW: 'm-tile>8' });
  t.equal(j.status, 1);
  const out = JSON.parse(j.stdout);
  t.equal(out.ok, false);
  t.equal(out.ladder.stopped_at, 'b1');
  const b1 = out.ladder.steps.find((s: { id: string }) => s.id === 'b1');
  t.equal(b1.failing_task.registers.length, 112, 'the JSON holds the 112 entries');
  t.same(b1.failing_task.first_wrong.row, 8);
  const bogus = cli(['calibrate', '--sim', '--no-write'], { ...isolated, RKNPU_SIM_FLAW: 'bogus' });
  t.equal(bogus.status, 1);
  t.match(bogus.stderr, /unknown flaw 'bogus'/);
  t.end();
});
