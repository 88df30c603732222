// NPU memory on the software NPU: weights over more IOVA spaces than one (a small simulated space), the memory
// budget RKNPU_MAX_MEM (whole layers from layer 0 up, the load line, the same greedy text as the CPU), and what
// get_memory reports. The model is the trained tiny Qwen2 (6 layers) when ../shared/models has it, else the
// embedded default model.
import t from 'tap';
import { completion, e2eModel, pluginPath, tool } from './helpers.js';

const sim = (more: Record<string, string> = {}) => ({
  GGML_BACKEND_PATH: pluginPath(),
  RKNPU_DEVICE: 'sim',
  ...more,
});
const prompt = 'The kernel is responsible for managing the memory of the system and the processes that run on it.';
const args = ['-m', e2eModel(), '-no-cnv', '-p', prompt, '-n', '12', '--temp', '0', '-t', '2'];

// MUL_MAT nodes of the graphs run after the weights were placed (the budget line): [name, backend].
function placed(stderr: string): [string, string][] {
  const after = stderr.slice(Math.max(0, stderr.indexOf('NPU copies for')));
  return [...after.matchAll(/node # *\d+ \( *MUL_MAT\): +(\S+) \( *\d+[KM]\) \[ *([A-Z]+)/g)].map((m) => [m[1], m[2]]);
}
const layerOf = (node: string): number => {
  const m = /-(\d+)$/.exec(node);
  return m ? Number(m[1]) : -1;
};

const cpu = completion(args, sim({ RKNPU_DEVICE: 'off' }));

// With room for everything: every layer and the output matrix, and what that costs.
const all = completion(args, sim({ RKNPU_MAX_MEM: '1G' }));
const allLine = /RKNPU: NPU copies for layers 0\u2013(\d+) and \S+ \(([\d.]+) MiB of 1\.0 GiB budget\)\n/.exec(
  all.stderr,
);
const lastLayer = Number(allLine?.[1] ?? -1);
const totalMiB = Number(allLine?.[2] ?? 0);

t.test('RKNPU_MAX_MEM large enough: every layer and the output matrix', (t) => {
  t.equal(all.status, 0, all.stderr.slice(-400));
  t.ok(allLine && lastLayer >= 1 && totalMiB > 0, `the load line names them all (${allLine?.[0].trim()})`);
  t.notMatch(all.stderr, /run on the CPU/);
  t.end();
});

t.test('RKNPU_MAX_MEM: whole layers from layer 0 on the NPU, the rest on the CPU, the same text', (t) => {
  t.equal(cpu.status, 0, cpu.stderr.slice(-300));
  const budgetKiB = Math.floor((totalMiB * 1024) / 2); // about half the layers
  const r = completion([...args, '-v'], sim({ RKNPU_MAX_MEM: `${budgetKiB}K`, GGML_SCHED_DEBUG: '2' }));
  t.equal(r.status, 0, r.stderr.slice(-400));
  const line =
    /RKNPU: NPU copies for layers? 0(?:\u2013(\d+))? \(([\d.]+) MiB of ([\d.]+) MiB budget\); layers? (\d+)(?:\u2013(\d+))? and (\S+) run on the CPU\n/.exec(
      r.stderr,
    );
  t.ok(line, `the load line says which layers (${line?.[0].trim()})`);
  if (!line) {
    t.end();
    return;
  }
  const lastOn = Number(line[1] ?? 0);
  t.ok(Number(line[2]) <= Number(line[3]) && Math.abs(Number(line[3]) - budgetKiB / 1024) < 0.06, 'within the budget');
  t.ok(Number(line[4]) === lastOn + 1 && Number(line[5] ?? line[4]) === lastLayer, 'the CPU takes the next layers on');
  const where = placed(r.stderr).filter(([n]) => layerOf(n) >= 0 && /^(Qcur|Kcur|Vcur|ffn_)/.test(n));
  const npuLayers = new Set(where.filter(([, d]) => d === 'RKNPU').map(([n]) => layerOf(n)));
  t.ok(npuLayers.size > 0 && [...npuLayers].every((l) => l <= lastOn), `NPU matmuls only in layers 0-${lastOn}`);
  t.ok(
    where.some(([n, d]) => layerOf(n) > lastOn && d === 'CPU') &&
      where.every(([n, d]) => layerOf(n) <= lastOn || d === 'CPU'),
    'the layers beyond the budget run on the CPU',
  );
  t.equal(r.stdout, cpu.stdout, 'greedy text equals the CPU run');
  t.end();
});

t.test('RKNPU_MAX_MEM: an invalid value is a config error; get_memory reports the budget', (t) => {
  const bad = tool('test-backend-ops', ['-o', 'MUL_MAT', '-b', 'RKNPU0', '-p', 'k=256,'], sim({ RKNPU_MAX_MEM: '4X' }));
  t.match(bad.stderr + bad.stdout, /invalid RKNPU_MAX_MEM='4X' \(accepted: a positive byte count/);
  const filter = ['-o', 'MUL_MAT', '-b', 'RKNPU0', '-p', 'type_a=q8_0,type_b=f32,m=16,n=1,k=256,'];
  const budget = tool('test-backend-ops', filter, sim({ RKNPU_MAX_MEM: '64M' }));
  t.match(budget.stdout, /Device memory: 64 MB \(64 MB free\)/, 'total and free are the budget when it is smaller');
  const host = tool('test-backend-ops', filter, sim());
  const m = /Backend \d+\/\d+: RKNPU0\n(?:.*\n)*?\s+Device memory: (\d+) MB \((\d+) MB free\)/.exec(host.stdout);
  t.ok(m && Number(m[1]) > 64 && Number(m[2]) <= Number(m[1]), `no budget: the host's memory (${m?.[0]})`);
  t.end();
});

t.test('weights over several fd groups (a 4 MiB simulated IOVA space): the same text as the CPU', (t) => {
  const r = completion([...args, '-v'], sim({ RKNPU_SIM_IOVA_SPACE: '4M', GGML_SCHED_DEBUG: '2' }));
  t.equal(r.status, 0, r.stderr.slice(-400));
  // Each fd has 3.5 MiB of room for weights: a model of more than 3 x 3.5 MiB needs a second group.
  if (totalMiB > 3 * 3.5) t.match(r.stderr, /RKNPU: NPU weights span [2-9] fd group\(s\)/, 'more than one fd group');
  else t.comment(`this model's ${totalMiB} MiB fit one group (test_gemm_fdgroups covers several)`);
  t.match(r.stderr, new RegExp(`MUL_MAT\\): +ffn_up-${lastLayer} .*\\[ *RKNPU`), 'the last layer runs on the NPU');
  t.notMatch(r.stderr, /IOVA space of this fd exhausted|for the NPU failed/);
  t.equal(r.stdout, cpu.stdout, 'greedy text equals the CPU run');
  const bad = completion(args, sim({ RKNPU_SIM_IOVA_SPACE: '12Q' }));
  t.match(bad.stderr, /invalid RKNPU_SIM_IOVA_SPACE='12Q'/, 'an invalid knob is reported');
  t.end();
});
