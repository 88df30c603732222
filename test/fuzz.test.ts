// The bounded fuzz stage (scripts/fuzz.sh): npu-fuzz on the sanitizer build feeds the software NPU core,
// npu-replay's script parser, the memory image reader and the board profile reader a fixed set of seeded, mutated inputs. One
// assertion per target: no finding (an invariant the target checks), no hang, no sanitizer report.
// RKNPU_FUZZ_SECONDS=N runs longer (docs/reliability.md).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { repo, tapLinesAsAsserts } from './helpers.js';

const STAGE_TIMEOUT_MS = 900_000;

const asan = spawnSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' });
const haveAsan = asan.status === 0 && asan.stdout.trim().startsWith('/');

t.test('npu-fuzz under ASan + UBSan', { skip: !haveAsan && 'no libasan' }, (t) => {
  const build = spawnSync('bash', [path.join(repo, 'scripts', 'sanitize.sh'), 'build'], {
    encoding: 'utf8',
    timeout: STAGE_TIMEOUT_MS,
  });
  tapLinesAsAsserts(t, build.stdout);
  if (build.status !== 0) {
    t.end();
    return;
  }
  const r = spawnSync('bash', [path.join(repo, 'scripts', 'fuzz.sh')], {
    encoding: 'utf8',
    timeout: STAGE_TIMEOUT_MS,
  });
  t.comment(
    r.stdout
      .split('\n')
      .filter((l) => /^ok/.test(l))
      .join('\n'),
  );
  const n = tapLinesAsAsserts(t, r.stdout);
  t.equal(n, 4, 'four targets ran: sim, image, script, profile');
  t.equal(r.status, 0, `scripts/fuzz.sh exits 0${r.stderr ? `\n${r.stderr.slice(-800)}` : ''}`);
  t.end();
});
