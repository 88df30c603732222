// rosenblatt-dl doctor as a user runs it: on fake board trees (--root, ROSENBLATT_SYSROOT), on this
// machine (not an RK3588), and every doctor command docs/acceptance.md shows. The checks themselves
// have their unit tests in test/unit/doctor.test.ts.
import fs from 'node:fs';
import t from 'tap';
import { makeBoard } from './fixtures/board/fake-board.js';
import { cli } from './helpers.js';

const roots: string[] = [];
t.teardown(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })));
const board = (o: Parameters<typeof makeBoard>[0] = {}) => {
  const r = makeBoard(o);
  roots.push(r);
  return r;
};

t.test('CLI on a fake board: table, --json, --strict, ROSENBLATT_SYSROOT', (t) => {
  const good = board();
  let r = cli(['doctor', '--root', good]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /ok\s+NPU cores bound\s+3 \(fdab0000\.npu fdac0000\.npu fdad0000\.npu\)/);
  r = cli(['doctor', '--json', '--strict'], { ROSENBLATT_SYSROOT: good });
  t.equal(r.status, 0);
  t.equal(JSON.parse(r.stdout).facts.npuCoresBound, 3);
  const bad = board({ overlay: false });
  r = cli(['doctor', '--root', bad]);
  t.equal(r.status, 0, 'without --strict a failing board exits 0');
  t.match(r.stdout, /FAIL\s+device tree NPU nodes\s+NPU nodes disabled in the device tree/);
  t.match(r.stdout, /fix: apply kernel\/rock-5-itx-npu\.dtso, see kernel\/README\.md/);
  r = cli(['doctor', '--root', bad, '--strict']);
  t.equal(r.status, 1, '--strict: exit 1');
  t.end();
});

t.test(
  'this machine is not an RK3588',
  {
    skip:
      fs.existsSync('/proc/device-tree/compatible') &&
      /rk3588/.test(fs.readFileSync('/proc/device-tree/compatible', 'utf8')) &&
      'running on an RK3588',
  },
  (t) => {
    const r = cli(['doctor'], { ROSENBLATT_SYSROOT: '' });
    t.equal(r.status, 0, 'exit 0 without --strict');
    t.match(r.stdout, /FAIL\s+SoC\s+not an RK3588/);
    t.match(r.stdout, /not an RK3588: the NPU checks need the board/);
    const s = cli(['doctor', '--strict', '--json']);
    t.equal(s.status, 1);
    const j = JSON.parse(s.stdout);
    t.equal(j.facts.rk3588, false);
    t.equal(j.checks.find((c: any) => c.name === '/dev/accel node').status, 'skip');
    t.end();
  },
);

t.test('docs/acceptance.md: every command shown uses options the CLI has; the doctor ones run', (t) => {
  const md = fs.readFileSync(new URL('../docs/acceptance.md', import.meta.url), 'utf8');
  const blocks = [...md.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  const cmds = blocks
    .flatMap((b) => b.split('\n'))
    .map((l) =>
      l
        .replace(/\s+#.*$/, '')
        .replace(/^sudo /, '')
        .replace(/^taskset -c \S+ /, '')
        .trim(),
    )
    .filter((l) => l.startsWith('npx rosenblatt-dl '));
  t.ok(cmds.length >= 8, `${cmds.length} commands`);
  const helps = new Map<string, string>();
  for (const c of cmds) {
    const words = c.split(/\s+/).slice(2);
    const sub = words[0];
    t.ok(['doctor', 'accept', 'bench'].includes(sub), `${sub} is one of the kit commands`);
    if (!helps.has(sub)) helps.set(sub, cli([sub, '--help']).stdout);
    for (const w of words.filter((x) => /^-/.test(x)))
      t.match(helps.get(sub)!, new RegExp(`(^|[\\s,])${w.replace(/[-]/g, '\\-')}\\b`, 'm'), `${sub} has option ${w}`);
    if (sub === 'doctor') {
      const r = cli(
        words.filter((w) => w !== '>'),
        { ROSENBLATT_SYSROOT: '' },
      );
      t.ok(r.status === 0 || (words.includes('--strict') && r.status === 1), `"${c}" runs (exit ${r.status})`);
    }
  }
  t.end();
});
