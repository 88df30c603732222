// Accuracy of the NPU path against the CPU path on a real small model (../shared/models), with the
// bounds stated in docs/accuracy.md: perplexity within 1% of the CPU's, mean KL divergence below
// 0.01 nats, in every mode (attention on the NPU: flash attention on, and off for the default mode). A few chunks here; the docs record the long run.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { repo, sharedModel } from './helpers.js';

const PPL_REL_BOUND = 0.01;
const KLD_BOUND = 0.01;
const model = sharedModel('tiny-qwen2-q4_k_m.gguf');

t.test('perplexity and KLD, CPU vs RKNPU (simulator), every mode', { skip: !model && 'no shared model' }, (t) => {
  const r = spawnSync('bash', [path.join(repo, 'scripts', 'accuracy.sh'), model!, '', '4'], {
    encoding: 'utf8',
    env: { ...process.env, RKNPU_DEVICE: 'sim' },
    timeout: 600_000,
  });
  t.equal(r.status, 0, r.stderr.slice(-800));
  const rows = r.stdout.split('\n').filter((l) => l.startsWith('| tiny-qwen2'));
  const num = (cell: string) => Number(cell.trim().split(/\s/)[0]);
  const cpu = rows.find((l) => l.includes('| CPU |'));
  t.ok(cpu, 'a CPU row');
  const pplCpu = num(cpu!.split('|')[3]);
  t.ok(pplCpu > 5 && pplCpu < 100, `CPU perplexity ${pplCpu}`);
  const off = spawnSync('bash', [path.join(repo, 'scripts', 'accuracy.sh'), model!, '', '4'], {
    encoding: 'utf8',
    env: { ...process.env, RKNPU_DEVICE: 'sim', ACCURACY_MODES: 'auto', ACCURACY_FA: 'off' },
    timeout: 600_000,
  });
  t.equal(off.status, 0, off.stderr.slice(-800));
  const offRows = off.stdout.split('\n').filter((l) => l.startsWith('| tiny-qwen2'));
  const cpuOff = offRows.find((l) => l.includes('| CPU (fa off) |'));
  const rowOff = offRows.find((l) => l.includes('(sim, auto, fa off)'));
  t.ok(cpuOff && rowOff, 'rows with flash attention off (KQ/KQV on the NPU)');
  if (cpuOff && rowOff) {
    const base = num(cpuOff.split('|')[3]),
      ppl = num(rowOff.split('|')[3]),
      kld = num(rowOff.split('|')[4]);
    t.ok(Math.abs(ppl - base) / base <= PPL_REL_BOUND, `fa off: perplexity ${ppl} within 1% of ${base}`);
    t.ok(kld >= 0 && kld <= KLD_BOUND, `fa off: mean KLD ${kld} <= ${KLD_BOUND}`);
  }
  for (const mode of ['auto', 'int8', 'int8-had', 'fp16']) {
    const row = rows.find((l) => l.includes(`(sim, ${mode})`));
    t.ok(row, `a row for ${mode}`);
    if (!row) continue;
    const cells = row.split('|');
    const ppl = num(cells[3]),
      kld = num(cells[4]);
    t.ok(Math.abs(ppl - pplCpu) / pplCpu <= PPL_REL_BOUND, `${mode}: perplexity ${ppl} within 1% of ${pplCpu}`);
    t.ok(kld >= 0 && kld <= KLD_BOUND, `${mode}: mean KLD ${kld} <= ${KLD_BOUND}`);
  }
  t.end();
});
