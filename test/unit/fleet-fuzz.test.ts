// Fuzzing the fleet file reader and writer (ts/board/fleet.ts; docs/reliability.md, "Fuzzing"): a seeded
// mutation loop over fleet/boltzmann.yaml (lines deleted, repeated, swapped, re-indented, keys and values
// replaced by odd ones, characters inserted), then the invariants:
//   - readFleet accepts the text or throws an Error naming a line of it, nothing else;
//   - what it accepts has well-formed dotted keys (no key under a scalar or under no mapping);
//   - updateFleet on accepted text writes exactly the keys it was given that exist, changes no other line,
//     and what it wrote reads back as the value (numbers included: no exponent notation the reader would
//     take for a string).
// RKNPU_FUZZ_FLEET_RUNS=N runs longer; the seed is fixed (RKNPU_FUZZ_SEED overrides).
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { formatScalar, parseScalar, readFleet, updateFleet, type Scalar } from '../../ts/board/fleet.js';
import { rng } from '../../ts/util/rng.js';
import { repo } from '../helpers.js';

const RUNS = Number(process.env.RKNPU_FUZZ_FLEET_RUNS ?? 3000);
const SEED = Number(process.env.RKNPU_FUZZ_SEED ?? 1);
const seedText = fs.readFileSync(path.join(repo, 'fleet', 'boltzmann.yaml'), 'utf8');

const VALUES = [
  'null',
  'true',
  'false',
  '"quoted"',
  '"unterminated',
  'unterminated"',
  '""',
  '"',
  '1',
  '-3',
  '1.5',
  '-0.25',
  '1e5',
  '1.5e-7',
  '0x10',
  '007',
  '"4-7"',
  '"a: b"',
  'a: b',
  '- item',
  '# not a comment',
  '[1, 2]',
  '{a: 1}',
  '&anchor',
  '*alias',
  '|',
  '>',
  '---',
  '',
  ' ',
  '\t',
  'ünïcode',
  '"\\"',
  'x'.repeat(300),
  '9'.repeat(40),
];
const KEYS = ['a', 'host', 'board', 'Key', 'with-dash', 'dot.ted', 'ü', '', '_', '0', 'schema_version', 'measured'];
const LINES = ['# comment', '', '  ', '- item', '  - item', 'orphan:', '    deep: 1', 'a:b', ':', 'x: y: z', '\t: 1'];

/** A value the kit might write: every scalar type, numbers of every magnitude, strings with odd characters. */
function randomScalar(r: () => number): Scalar {
  const k = Math.floor(r() * 6);
  if (k === 0) return null;
  if (k === 1) return r() < 0.5;
  if (k === 2) return Math.round((r() - 0.5) * 1e6);
  if (k === 3) return (r() - 0.5) * 10 ** Math.floor(r() * 60 - 30);
  if (k === 4)
    return ['plain', 'ROCK 5 ITX+', '4-7', 'a "q" \\ b', 'tab\there', 'line\nbreak', ''][Math.floor(r() * 7)];
  return VALUES[Math.floor(r() * VALUES.length)];
}

function mutate(text: string, r: () => number): string {
  const lines = text.split('\n');
  const pick = () => Math.floor(r() * lines.length);
  const edits = 1 + Math.floor(r() * 4);
  for (let e = 0; e < edits && lines.length; e++) {
    const i = pick();
    const m = /^( *)([^:]*):(?: (.*))?$/.exec(lines[i]);
    switch (Math.floor(r() * 9)) {
      case 0:
        lines.splice(i, 1);
        break;
      case 1:
        lines.splice(i, 0, lines[pick()]);
        break;
      case 2: {
        const j = pick();
        [lines[i], lines[j]] = [lines[j], lines[i]];
        break;
      }
      case 3: // indentation off by one, by a level, or a tab
        lines[i] = [' ', '  ', '    ', '\t'][Math.floor(r() * 4)] + lines[i].replace(/^ {0,2}/, r() < 0.5 ? '' : ' ');
        break;
      case 4:
        if (m) lines[i] = `${m[1]}${m[2]}: ${VALUES[Math.floor(r() * VALUES.length)]}`;
        break;
      case 5:
        if (m) lines[i] = `${m[1]}${KEYS[Math.floor(r() * KEYS.length)]}:${m[3] === undefined ? '' : ` ${m[3]}`}`;
        break;
      case 6:
        lines.splice(i, 0, LINES[Math.floor(r() * LINES.length)]);
        break;
      case 7: {
        const s = lines[i],
          at = Math.floor(r() * (s.length + 1));
        lines[i] = s.slice(0, at) + ' :#"-\t\r'.charAt(Math.floor(r() * 7)) + s.slice(at + (r() < 0.3 ? 1 : 0));
        break;
      }
      default:
        lines[i] = lines[i] + '\r';
    }
  }
  return lines.join('\n');
}

/** What a written value reads back as: strings lose quotes, backslashes and control characters. */
function expected(v: Scalar): Scalar {
  return typeof v === 'string'
    ? v.replace(/["\\\n\r\t]/g, ' ')
    : typeof v === 'number' && !Number.isFinite(v)
      ? null
      : v;
}

t.test(`fleet reader and writer: ${RUNS} mutated files (seed ${SEED})`, (t) => {
  const r = rng(SEED);
  const findings: string[] = [];
  let accepted = 0,
    rejected = 0,
    updates = 0;
  for (let run = 0; run < RUNS && findings.length < 10; run++) {
    const text = mutate(seedText, r);
    const nLines = text.split('\n').length;
    let parsed: Map<string, Scalar>;
    try {
      parsed = readFleet(text);
    } catch (e) {
      rejected++;
      const m = e instanceof Error && e.constructor === Error ? /^fleet file line (\d+)/.exec(e.message) : null;
      if (!m || Number(m[1]) < 1 || Number(m[1]) > nLines)
        findings.push(`run ${run}: rejected without naming a line of the file: ${String(e)}`);
      continue;
    }
    accepted++;
    for (const k of parsed.keys())
      if (!/^[a-z0-9_]+(\.[a-z0-9_]+)*$/.test(k)) findings.push(`run ${run}: accepted a malformed key path '${k}'`);
    const keys = [...parsed.keys()].filter(() => r() < 0.3);
    const want: Record<string, Scalar> = {};
    for (const k of keys) want[k] = randomScalar(r);
    want['not.in.the.file'] = 1;
    let u: ReturnType<typeof updateFleet>;
    try {
      u = updateFleet(text, want);
    } catch (e) {
      findings.push(`run ${run}: updateFleet threw on text readFleet accepted: ${String(e)}`);
      continue;
    }
    updates += keys.length;
    if (u.missing.join() !== 'not.in.the.file' || new Set(u.written).size !== keys.length)
      findings.push(`run ${run}: written ${u.written.length} of ${keys.length}, missing ${u.missing.join(',')}`);
    const before = text.split('\n'),
      after = u.text.split('\n');
    const changed = before.filter((l, i) => l !== after[i]).length;
    if (after.length !== before.length || changed > u.written.length)
      findings.push(`run ${run}: ${changed} lines changed for ${u.written.length} written keys`);
    let again: Map<string, Scalar>;
    try {
      again = readFleet(u.text);
    } catch (e) {
      findings.push(`run ${run}: the written file does not read back: ${String(e)}`);
      continue;
    }
    for (const k of keys)
      if (!Object.is(again.get(k), expected(want[k])))
        findings.push(
          `run ${run}: ${k} written as ${JSON.stringify(want[k])} reads back as ${JSON.stringify(again.get(k))}`,
        );
    for (const [k, v] of parsed)
      if (!(k in want) && !Object.is(again.get(k), v)) findings.push(`run ${run}: ${k} changed`);
  }
  t.comment(`${RUNS} inputs: ${accepted} accepted, ${rejected} rejected with their line; ${updates} values written`);
  t.same(findings, [], 'no finding');
  t.ok(accepted > RUNS / 10 && rejected > RUNS / 10, 'the mutations reach both the accepting and the rejecting paths');
  t.end();
});

t.test('scalars round-trip through formatScalar and parseScalar', (t) => {
  const r = rng(SEED + 1);
  const bad: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const v = randomScalar(r);
    if (!Object.is(parseScalar(formatScalar(v)), expected(v))) bad.push(`${JSON.stringify(v)} -> ${formatScalar(v)}`);
  }
  t.same(bad.slice(0, 5), [], `every value reads back (${bad.length} did not)`);
  t.end();
});
