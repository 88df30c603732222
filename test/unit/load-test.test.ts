// The load test's pure parts (ts/tools/load): server-sent events split into JSON events, the seeded
// requests, and the comparison that decides whether an answer under load was corrupted.
import t from 'tap';
import type { Completion, GeneratedToken } from '../../ts/tools/load/client.js';
import { parseSse } from '../../ts/tools/load/client.js';
import { compareRuns, quantile } from '../../ts/tools/load/compare.js';
import { LENGTH_CLASSES, makeRequests } from '../../ts/tools/load/prompts.js';

t.test('parseSse: whole events parsed, a cut one kept for the next chunk', (t) => {
  const a = parseSse('data: {"content":"a"}\n\ndata: {"content":"b","stop":true}\n\ndata: {"cont');
  t.same(a.events, [{ content: 'a' }, { content: 'b', stop: true }]);
  t.equal(a.rest, 'data: {"cont');
  const b = parseSse(a.rest + 'ent":"c"}\r\n\r\ndata: [DONE]\n\n');
  t.same(b.events, [{ content: 'c' }], 'CRLF separators; [DONE] is not an event');
  t.equal(b.rest, '');
  t.same(parseSse('data: {"error":{"message":"Compute error."}}\n\n').events, [
    { error: { message: 'Compute error.' } },
  ]);
  t.throws(() => parseSse('data: {broken\n\n'), 'a malformed event is an error, not a skipped token');
  t.end();
});

t.test('makeRequests: seeded, distinct, every length class, streaming and not', (t) => {
  const text = Array.from({ length: 30_000 }, (_, i) => `w${i % 997}`).join(' ');
  const a = makeRequests(text, 200, 7, 12, 2);
  t.same(makeRequests(text, 200, 7, 12, 2), a, 'the same seed gives the same requests');
  t.not(JSON.stringify(makeRequests(text, 200, 8, 12, 2)), JSON.stringify(a), 'another seed, other requests');
  t.equal(new Set(a.map((r) => r.prompt)).size, 200, 'distinct prompts');
  for (const c of LENGTH_CLASSES) {
    const of = a.filter((r) => r.lengthClass === c.name);
    t.ok(of.length > 20, `${c.name}: ${of.length} requests`);
    t.ok(
      of.every((r) => {
        const n = r.prompt.split(' ').length;
        return n >= c.minWords && n <= c.maxWords;
      }),
      `${c.name}: ${c.minWords}-${c.maxWords} words`,
    );
  }
  const streamed = a.filter((r) => r.stream).length;
  t.ok(streamed > 60 && streamed < 140, `about half streamed (${streamed})`);
  t.same(
    a.map((r) => r.id),
    a.map((_, i) => i),
  );
  const short = makeRequests('', 50, 3, 4, 2);
  t.equal(short.length, 50, 'no text: the built-in words still give 50 distinct prompts');
  t.end();
});

const tok = (id: number, logprob: number, top: [number, number][]): GeneratedToken => ({
  id,
  logprob,
  top: top.map(([i, lp]) => ({ id: i, logprob: lp })),
});

function answer(id: number, tokens: GeneratedToken[], error: string | null = null): Completion {
  return {
    id,
    stream: false,
    status: error ? 500 : 200,
    error,
    content: '',
    tokens,
    promptTokens: 10,
    stopType: 'limit',
    latencyMs: 1,
    firstTokenMs: null,
  };
}

t.test('compareRuns: identical, near-tie, diverged, error', (t) => {
  const ref = [
    answer(0, [
      tok(5, -0.1, [
        [5, -0.1],
        [6, -2],
      ]),
      tok(7, -0.5, [
        [7, -0.5],
        [8, -0.52],
      ]),
      tok(9, -1, [[9, -1]]),
    ]),
    answer(1, [
      tok(5, -0.1, [
        [5, -0.1],
        [6, -2],
      ]),
      tok(7, -0.5, [
        [7, -0.5],
        [8, -0.52],
      ]),
    ]),
    answer(2, [
      tok(5, -0.1, [
        [5, -0.1],
        [6, -3],
      ]),
      tok(7, -0.1, [
        [7, -0.1],
        [8, -3],
      ]),
    ]),
    answer(3, [
      tok(5, -0.1, [
        [5, -0.1],
        [6, -0.15],
      ]),
    ]),
    answer(4, [
      tok(1, -0.1, [
        [1, -0.1],
        [2, -0.12],
      ]),
    ]),
    answer(5, [
      tok(3, -0.2, [
        [3, -0.2],
        [4, -3],
      ]),
    ]),
  ];
  const run = [
    answer(0, [
      tok(5, -0.1004, [
        [5, -0.1004],
        [6, -2],
      ]),
      tok(7, -0.51, []),
      tok(9, -1, []),
    ]), // same ids
    answer(1, [tok(5, -0.1, []), tok(8, -0.51, [])]), // runner-up at a 0.02-nat tie
    answer(2, [tok(5, -0.1, []), tok(8, -2.9, [])]), // runner-up, but the reference was sure: 2.9 nats
    answer(3, [tok(9, -0.1, [])]), // not even the runner-up
    answer(4, [], 'HTTP 500: Compute error.'),
    answer(5, [tok(3, -0.9, [])]), // the same token, but its log-probability moved by 0.7 nats
  ];
  const c = compareRuns(ref, run, 0.5, 1);
  t.same(
    c.perRequest.map((p) => p.verdict),
    ['identical', 'near-tie', 'diverged', 'diverged', 'error', 'diverged'],
  );
  t.match(c, { compared: 5, identical: 1, nearTie: 1, diverged: 3, errors: 1, noReference: 0, prefixAgree: 4 });
  t.match(c.perRequest[2].why, /preferred its token 1 by 2\.900 nats/);
  t.match(c.perRequest[3].why, /not the reference's runner-up/);
  t.match(c.perRequest[5].why, /moved by 0\.700 nats/);
  t.equal(c.perRequest[1].firstDiff, 1);
  t.ok(Math.abs((c.perRequest[1].refMargin ?? 0) - 0.02) < 1e-9, 'the reference margin at the divergence');
  t.ok(Math.abs(c.delta.max - 0.7) < 1e-9, 'largest |Δ logprob| over shared positions');
  t.equal(c.delta.n, 6, 'positions before each divergence: 3 + 1 + 1 + 0 + 1');
  t.equal(compareRuns([], run.slice(0, 1), 0.25).noReference, 1, 'no reference: not compared');
  const stopped = compareRuns([ref[0]], [answer(0, ref[0].tokens.slice(0, 2))], 0.5);
  t.equal(stopped.perRequest[0].verdict, 'diverged', 'an answer cut short where the reference was sure');
  t.end();
});

t.test('quantile', (t) => {
  t.equal(quantile([], 0.5), 0);
  t.equal(quantile([1, 2, 3, 4], 0.5), 2);
  t.equal(quantile([1, 2, 3, 4], 0.95), 4);
  t.equal(quantile([1, 2, 3, 4], 1), 4);
  t.end();
});
