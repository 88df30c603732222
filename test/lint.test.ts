// npm run lint as part of the suite, so CI runs it: tsc's strict flags over ts/ and test/, prettier, and
// clang-format with the repository's .clang-format over backend/ and the C test fixtures.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

t.test('npm run lint', (tt) => {
  const r = spawnSync('bash', [path.join(repo, 'scripts', 'lint.sh')], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 300_000,
  });
  const out = `${r.stdout}${r.stderr}`;
  tt.equal(r.status, 0, `lint passes${r.status === 0 ? '' : `\n${out.slice(-4000)}`}`);
  tt.match(r.stdout, /lint: clean/);
  tt.end();
});
