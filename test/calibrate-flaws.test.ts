// The software NPU misbehaving like unknown silicon might (RKNPU_SIM_FLAW): for each flaw, calibrate narrows the
// envelope to exactly what still works (the flawed dimension at the last value that passed, everything else at
// its widest), and the plugin running with that profile under the same flaw stays correct: test-backend-ops
// MUL_MAT on cases that reach every flaw passes (while a built-in envelope the flaw breaks fails them), and
// greedy generation equals the CPU's. Then all flaws at once, with the whole of test-backend-ops MUL_MAT.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { BoardProfile, ProfileEnvelope } from '../ts/board/calibrate/index.js';
import { cli, e2eModel, pluginPath, tool } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-flaws-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
const isolated = { XDG_CONFIG_HOME: path.join(tmp, 'no-config'), RKNPU_PROFILE: '' };

const WIDEST: ProfileEnvelope = {
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
};

/** Each flaw, what calibrate must find, and a built-in envelope whose tasks the flaw breaks (null: none). */
const FLAWS: { flaw: string; narrowed: Partial<ProfileEnvelope>; edges: string[]; breaks: string | null }[] = [
  { flaw: 'm-tile>32', narrowed: { m_tile_max: 32 }, edges: ['m-tile'], breaks: 'vendor' },
  { flaw: 'n-tile>256', narrowed: { n_tile_max: 256 }, edges: ['n-tile'], breaks: 'vendor' },
  // safe runs K up to 8192 per task (vendor slices these Ks into smaller pieces on its own)
  {
    flaw: 'k>3008',
    narrowed: { k_task_max_int8: 3008, k_task_max_fp16: 3008 },
    edges: ['k-int8', 'k-fp16'],
    breaks: 'safe',
  },
  { flaw: 'inplace', narrowed: { inplace_k_slices: false }, edges: ['k-slices'], breaks: 'vendor' },
  { flaw: 'chain', narrowed: { chained_tails: false }, edges: ['tails'], breaks: 'vendor' },
  // vendor reuses CBUF weights where the model finds it cheaper (m=576 and m=1,n=2048 among the cases below)
  { flaw: 'reuse', narrowed: { weight_reuse: false }, edges: ['weight-reuse'], breaks: 'vendor' },
  // the engine never asks for int8 -> fp32 output: the profile drops it, nothing else changes
  { flaw: 'int8-fp32', narrowed: { out_pairs: ['int8-int32', 'fp16-fp32'] }, edges: ['out'], breaks: null },
];

// test-backend-ops cases that reach each flaw: more than 32 rows, more than 256 columns per core, K above 3008,
// fp16 K-slices (K above 4096 with f16 weights), multi-task jobs
const REACHING =
  'type_a=(q4_0|f16),.*(m=1,n=64,k=256|m=2880,|m=1023,|m=576,|m=6,n=4096|m=1,n=2048,k=8192|m=16,n=8,k=4096|m=32,n=509)';
const prompt =
  'The kernel is responsible for managing the memory of the system and the processes that run on it, and the ' +
  'scheduler decides which of the processes runs next on each of the cores of the machine.';

function calibrate(flaw: string, file: string) {
  const r = cli(['calibrate', '--sim', '--profile', file, '--json'], { ...isolated, RKNPU_SIM_FLAW: flaw });
  return { r, j: r.status === 0 ? JSON.parse(r.stdout) : null };
}

function backendOps(env: Record<string, string>, filter?: string) {
  const args = ['-o', 'MUL_MAT', '-b', 'RKNPU0', ...(filter ? ['-p', filter] : [])];
  const r = tool('test-backend-ops', args, {
    ...isolated,
    GGML_BACKEND_PATH: pluginPath(),
    RKNPU_DEVICE: 'sim',
    ...env,
  });
  const m = /(\d+)\/(\d+) tests passed/.exec(r.stdout);
  return { r, passed: m ? Number(m[1]) : 0, total: m ? Number(m[2]) : 0 };
}

const gen = ['run', '-m', e2eModel(), '--no-chat', '-p', prompt, '-n', '8'];
const firstWords = (s: string) => s.slice(prompt.length).split(/\s+/).slice(0, 6).join(' ');
let cpuText: string | null = null;
function cpuWords(): string {
  if (cpuText === null) {
    const r = cli(gen, { ...isolated, RKNPU_DEVICE: 'off' });
    if (r.status !== 0) throw new Error(`CPU generation failed: ${r.stderr.slice(-300)}`);
    cpuText = firstWords(r.stdout);
  }
  return cpuText;
}

for (const f of FLAWS) {
  t.test(`flaw ${f.flaw}`, (t) => {
    const file = path.join(tmp, `${f.flaw.replace(/[^a-z0-9]/g, '_')}.json`);
    const { r, j } = calibrate(f.flaw, file);
    t.equal(r.status, 0, `calibrate passes under the flaw\n${r.stderr.slice(-800)}`);
    if (!j) {
      t.end();
      return;
    }
    const p = JSON.parse(fs.readFileSync(file, 'utf8')) as BoardProfile;
    t.same(p.envelope, { ...WIDEST, ...f.narrowed }, 'the envelope narrowed to exactly what still works');
    t.same(
      j.ladder.edges.map((e: { dim: string }) => e.dim),
      f.edges,
      `edges found: ${j.ladder.edges.map((e: { dim: string; step: string }) => `${e.dim} at ${e.step}`).join(', ')}`,
    );

    const good = backendOps({ RKNPU_PROFILE: file, RKNPU_SIM_FLAW: f.flaw }, REACHING);
    t.equal(good.r.status, 0, good.r.stderr.slice(-500));
    t.ok(good.total > 0 && good.passed === good.total, `with the profile: ${good.passed}/${good.total} pass`);
    t.match(good.r.stderr, /envelope board .* from board profile/, 'the plugin runs in the board envelope');
    if (f.breaks) {
      const bad = backendOps({ RKNPU_ENVELOPE: f.breaks, RKNPU_SIM_FLAW: f.flaw }, REACHING);
      t.ok(
        bad.passed < bad.total || bad.r.status !== 0,
        `control, envelope ${f.breaks}: ${bad.passed}/${bad.total} pass`,
      );
    }
    const npu = cli(gen, { ...isolated, RKNPU_DEVICE: 'sim', RKNPU_PROFILE: file, RKNPU_SIM_FLAW: f.flaw });
    t.equal(npu.status, 0, npu.stderr.slice(-300));
    t.match(npu.stderr, /NPU \(SOFTWARE SIMULATOR\): [1-9]\d* matmuls/, 'the NPU ran the prompt');
    t.equal(firstWords(npu.stdout), cpuWords(), 'greedy generation equals the CPU path');
    t.end();
  });
}

t.test('all flaws at once: every dimension narrowed, the whole of test-backend-ops MUL_MAT passes', (t) => {
  const all = FLAWS.map((f) => f.flaw).join(',');
  const file = path.join(tmp, 'all.json');
  const { r } = calibrate(all, file);
  t.equal(r.status, 0, r.stderr.slice(-800));
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as BoardProfile;
  t.same(p.envelope, Object.assign({ ...WIDEST }, ...FLAWS.map((f) => f.narrowed)));
  const ops = backendOps({ RKNPU_PROFILE: file, RKNPU_SIM_FLAW: all });
  t.equal(ops.r.status, 0, ops.r.stderr.slice(-500));
  t.ok(ops.total > 100 && ops.passed === ops.total, `${ops.passed}/${ops.total} MUL_MAT cases pass`);
  const npu = cli(gen, { ...isolated, RKNPU_DEVICE: 'sim', RKNPU_PROFILE: file, RKNPU_SIM_FLAW: all });
  t.equal(npu.status, 0, npu.stderr.slice(-300));
  t.equal(firstWords(npu.stdout), cpuWords(), 'greedy generation equals the CPU path');
  t.end();
});
