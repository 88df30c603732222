// The sanitizer stage (scripts/sanitize.sh): backend/ built with AddressSanitizer + UBSan into build/sanitize,
// then the C unit tests, the plugin's own test and test-backend-ops MUL_MAT on RKNPU0 (the simulator) on that
// build. Each run is one TAP line of the script and one assertion here; a run fails on a failed check, a
// non-zero exit or any sanitizer report. Only on x86_64 and aarch64 hosts with the sanitizer runtimes.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { repo, tapLinesAsAsserts } from './helpers.js';

const STAGE_TIMEOUT_MS = 900_000;

const asan = spawnSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' });
const haveAsan = asan.status === 0 && asan.stdout.trim().startsWith('/');

t.test('ASan + UBSan: C tests, plugin test, test-backend-ops', { skip: !haveAsan && 'no libasan' }, (t) => {
  const r = spawnSync('bash', [path.join(repo, 'scripts', 'sanitize.sh'), 'all'], {
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
  t.ok(n >= 3, `the stage ran (${n} runs)`);
  t.equal(r.status, 0, `scripts/sanitize.sh exits 0${r.stderr ? `\n${r.stderr.slice(-800)}` : ''}`);
  t.end();
});
