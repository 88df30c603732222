// The soak, short (scripts/soak.sh; the long run and its figures: docs/reliability.md): matmuls of every
// weight type through the plugin on the software NPU with faults injected at random; every injected fault
// must fail its matmul, every other result must match the CPU backend, and memory must stay flat.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { repo, tapLinesAsAsserts } from './helpers.js';

const RUN_TIMEOUT_MS = 300_000;

const r = spawnSync('bash', [path.join(repo, 'scripts', 'soak.sh')], { encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
t.comment(
  r.stdout
    .split('\n')
    .filter((l) => l.startsWith('# soak'))
    .join('\n'),
);
t.ok(tapLinesAsAsserts(t, r.stdout) >= 5, 'the soak ran its checks');
t.equal(r.status, 0, `scripts/soak.sh exits 0${r.stderr ? `\n${r.stderr.slice(-800)}` : ''}`);
