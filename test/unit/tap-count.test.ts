// scripts/tap-count.mjs: CI's one summary line from tap's TAP stream.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { repo } from '../helpers.js';

function count(tap: string) {
  const r = spawnSync(process.execPath, [path.join(repo, 'scripts', 'tap-count.mjs')], {
    input: tap,
    encoding: 'utf8',
  });
  return { status: r.status, last: r.stdout.trimEnd().split('\n').pop(), echoed: r.stdout.startsWith(tap) };
}

t.test('leaf assertions are counted, skips apart, the stream echoed', (t) => {
  const tap = [
    'TAP version 14',
    '# Subtest: a',
    '    ok 1 - one',
    '    ok 2 - two # SKIP no board',
    '    not ok 3 - three # TODO later',
    '    1..3',
    'ok 1 - a',
    '# Subtest: b',
    '    # Subtest: b1',
    '        ok 1 - deep',
    '        1..1',
    '    ok 1 - b1',
    '    1..1',
    'ok 2 - b',
    '1..2',
    '',
  ].join('\n');
  const r = count(tap);
  t.equal(r.last, '3 passed, 0 failed, 1 skipped');
  t.equal(r.status, 0);
  t.ok(r.echoed, 'the input is echoed first');
  t.end();
});

t.test('a failing leaf fails; a subtest that fails without a failing leaf (a crash) counts once', (t) => {
  const failing = ['# Subtest: a', '    ok 1 - x', '    not ok 2 - y', '    1..2', 'not ok 1 - a', '1..1', ''].join(
    '\n',
  );
  t.same([count(failing).last, count(failing).status], ['1 passed, 1 failed', 1]);
  const crashed = ['# Subtest: a', '    ok 1 - x', 'not ok 1 - a # timeout', '1..1', ''].join('\n');
  t.same([count(crashed).last, count(crashed).status], ['1 passed, 1 failed', 1]);
  t.equal(count('1..0\n').status, 1, 'nothing ran: a failure');
  t.end();
});
