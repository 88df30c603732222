// bench-gemm on the matmul shapes of the stretch and current models (backend/gemm/bench/model_shapes.c:
// Qwen2.5-3B, Qwen2.5-7B, Qwen3-1.7B, Gemma 2 2B, Gemma 3 1B and 4B, and the MoE Qwen3-30B-A3B), bounded for CI:
// every layer shape at M = 8 through the simulator (K = 11008 and 18944 among them), one 256k-vocabulary lm_head
// at M = 8, and every shape at M = 8, 128, 512 planned with the NPU memory of each model. The full sweep (M up to
// 512, every lm_head, hours on the simulator) runs on demand: its figures and command are in docs/performance.md.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { nativeOut } from './helpers.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-bench-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
// --model stretch: every model but the default Qwen2.5-1.5B (the five asked for and a MoE)
const STRETCH = ['qwen2.5-3b', 'qwen2.5-7b', 'qwen3-1.7b', 'gemma2-2b', 'gemma3-1b', 'gemma3-4b', 'qwen3-30b-a3b'];
const GIB = 1024 ** 3;

interface Case {
  model: string;
  shape: string;
  K: number;
  N: number;
  M: number;
  ok?: boolean;
  int_compared?: number;
  int_mismatches?: number;
  over_bound?: number;
}

function bench(args: string[]) {
  const json = path.join(dir, `bench-${Date.now()}.json`);
  const r = spawnSync(path.join(nativeOut(), 'bench-gemm'), [...args, '--json', json], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  const out = fs.existsSync(json) ? JSON.parse(fs.readFileSync(json, 'utf8')) : { cases: [] };
  return { r, out };
}

function verified(t: Test, cases: Case[]) {
  t.ok(cases.length > 0, `${cases.length} cases`);
  t.same(
    cases.filter((c) => !c.ok || !c.int_compared || c.int_mismatches !== 0 || c.over_bound !== 0),
    [],
    'every case ran, its int32 result bit-exact against the CPU reference and its f32 error within the bound',
  );
}

t.test('every layer shape of the stretch models at M = 8', (t) => {
  const { r, out } = bench(['--model', 'stretch', '--shapes', 'small', '--m', '8', '--verify', '--cpu-reps', '1']);
  t.equal(r.status, 0, 'exit status 0', { stdout: r.stdout.slice(-800), stderr: r.stderr.slice(-400) });
  const cases = out.cases as Case[];
  verified(t, cases);
  t.same([...new Set(cases.map((c) => c.model))].sort(), [...STRETCH].sort(), 'all of them');
  t.ok(
    [11008, 18944, 10240, 9216].every((K) => cases.some((c) => c.K === K)),
    'K above 8192 (K-slices): 11008, 18944, 10240, 9216',
  );
  t.end();
});

t.test('a 256k-vocabulary lm_head (Gemma 3 1B) at M = 8', (t) => {
  const { r, out } = bench(['--model', 'gemma3-1b', '--shapes', 'lm_head', '--m', '8', '--verify', '--cpu-reps', '1']);
  t.equal(r.status, 0, 'exit status 0', { stdout: r.stdout.slice(-800), stderr: r.stderr.slice(-400) });
  verified(t, out.cases);
  t.ok(
    (out.cases as Case[]).every((c) => c.N === 262144),
    'N = 262144',
  );
  t.end();
});

t.test('--model-only: every shape of every model plans at M = 8, 128, 512; NPU memory per model', (t) => {
  const { r, out } = bench(['--model-only', '--model', 'all', '--mode', 'both', '--m', '8,128,512']);
  t.equal(r.status, 0, 'exit status 0', { stdout: r.stdout.slice(-800) });
  t.equal(out.failures, 0, 'nothing declined');
  const models = out.models as { model: string; mode: string; npu_weight_bytes: number }[];
  const int8 = (m: string) => models.find((x) => x.model === m && x.mode === 'int8')!.npu_weight_bytes;
  const fp16 = (m: string) => models.find((x) => x.model === m && x.mode === 'fp16')!.npu_weight_bytes;
  const names = new Set((out.cases as Case[]).map((c) => c.model));
  t.ok(names.size === STRETCH.length + 1, `${names.size} models (the target and the stretch models)`);
  t.equal(models.length, 2 * names.size, 'int8 and fp16 totals of each');
  t.ok(
    STRETCH.every((m) => Math.abs(fp16(m) / int8(m) - 2) < 0.01),
    'fp16 copies take twice the int8 bytes (scales apart)',
  );
  t.ok(int8('qwen2.5-7b') > 6 * GIB && int8('gemma3-1b') < GIB, 'from under 1 GiB (Gemma 3 1B) to over 6 GiB (7B)');
  t.ok(int8('qwen3-30b-a3b') > 12 * GIB, 'a 30B MoE needs more than three 4 GiB address spaces');
  t.end();
});
