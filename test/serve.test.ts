// A served model under load, bounded for CI (ts/tools/load-test.ts; the full figures: scripts/load-test.sh and
// docs/reliability.md): stock llama-server with the plugin on the software NPU, 4 slots, greedy requests of
// mixed prompt lengths, streamed and not, first one at a time (the reference), then from 8 concurrent
// clients on loopback: every request answered, none corrupted, memory flat. Then the same requests with NPU
// faults injected at a low rate: the requests in a failed batch get llama-server's error, the server keeps
// serving, every other answer is correct.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { e2eModel, repo, sharedModel } from './helpers.js';

const REQUESTS = 48;
const CLIENTS = 8;
const N_PREDICT = 8;
/** One NPU job in this many faults: a few faults in the load pass, whose ~1300 jobs (default model) or ~5000
 * (the trained tiny Qwen2) each fault's batch shares among up to 4 requests. */
const FAULT = sharedModel('tiny-qwen2-q8_0.gguf') ? 'dma%1500' : 'dma%300';
const RUN_TIMEOUT_MS = 600_000;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-serve-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
const loadTest = path.join(repo, 'dist', 'tools', 'load-test.js');
const common = ['--model', e2eModel(), '--requests', String(REQUESTS), '--clients', String(CLIENTS)];
common.push('--n-predict', String(N_PREDICT), '--time-limit-s', String(RUN_TIMEOUT_MS / 1000 - 60));

function loadRun(t: Test, what: string, args: string[]) {
  const r = spawnSync(process.execPath, [loadTest, ...common, ...args], { encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
  t.comment(r.stdout.trim());
  const lines = r.stdout.split('\n').filter((l) => /^(ok|NOT OK): /.test(l));
  t.ok(lines.length >= 5, `${what}: the checks ran${r.stderr ? `\n${r.stderr.slice(-800)}` : ''}`);
  for (const l of lines) t.ok(l.startsWith('ok: '), `${what}: ${l.replace(/^(ok|NOT OK): /, '')}`);
  t.equal(r.status, 0, `${what}: load-test exits 0`);
}

const reference = path.join(tmp, 'npu.json');
t.test('llama-server + plugin (sim): 48 requests, 8 clients, 4 slots', (t) => {
  loadRun(t, 'npu', ['--server', 'npu', '--out', reference]);
  t.end();
});

t.test(`the same with RKNPU_SIM_FAULT=${FAULT}`, { skip: !fs.existsSync(reference) && 'no reference run' }, (t) => {
  loadRun(t, `npu, faults ${FAULT}`, ['--server', 'npu', '--fault', FAULT, '--reference', reference]);
  t.end();
});
