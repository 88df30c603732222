// A served model under load (docs/reliability.md): stock llama-server of the pinned build, CPU only or with
// the plugin on the software NPU, several slots, a bounded number of greedy requests from concurrent clients
// on loopback. Each request is first answered alone (the reference: one request at a time), then all of them
// again by `--clients` clients at once; every answer under load is compared with its reference token by token
// (load/compare.ts says when a difference counts as corruption). Reports answered/errors, p50/p95 latency,
// peak and late RSS growth, and the comparison; exit status 1 when a check fails.
//
//   node dist/tools/load-test.js --server cpu|npu [--min-batch N] [--fault SPEC] [--requests N] [--clients C]
//        [--slots S] [--n-predict T] [--seed S] [--model GGUF] [--text FILE] [--reference FILE.json]
//        [--time-limit-s T] [--tie-nats X] [--out FILE.json]
//   node dist/tools/load-test.js compare A.json B.json [--tie-nats X]     A's references against B's
//
// With --fault (RKNPU_SIM_FAULT, e.g. dma%4000) the reference comes from --reference (a fault-free run of the
// same requests): the requests a fault hits must get an error, the server must keep serving, and the others
// must be correct. scripts/load-test.sh runs the figures of docs/reliability.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { complete, type Completion } from './load/client.js';
import { compareRuns, quantile, type ComparisonSummary } from './load/compare.js';
import { makeRequests, type LoadRequest } from './load/prompts.js';
import { LlamaServer, RssSampler, freePort } from './load/server.js';
import { defaultModelPath, pluginPath, upstreamBinDir } from '../util/paths.js';

const DEFAULTS = {
  requests: 60,
  clients: 8,
  slots: 4,
  nPredict: 12,
  seed: 1,
  ctxPerSlot: 512,
  timeLimitS: 600,
  tieNats: 0.5,
  nProbs: 2,
};
/** One request may take this long under load on a loaded 2-core host before it counts as failed. */
const REQUEST_TIMEOUT_MS = 180_000;
/** RSS growth over the second half of the load pass that still counts as flat. */
const RSS_FLAT_KIB = 16 * 1024;
const RSS_FLAT_FRACTION = 0.05;
const RSS_SERIES_POINTS = 300;
/** Not one of the test's requests: loads the weights (lazily converted ones too) before RSS is sampled, and
 * shows after the run that the server still answers. */
const WARM_UP = {
  prompt: 'Warming up the server with a prompt of a dozen or so tokens to reach the NPU',
  stream: false,
  nPredict: 2,
  nProbs: 0,
};
/** The plugin's log line for a failed MUL_MAT (backend/plugin/ggml-rknpu.cpp). */
const NPU_FAILURE = /failed on the NPU/g;
/** What llama-server answers a request whose batch failed to decode. */
const DECODE_ERROR = 'Compute error.';
/** Attempts of the after-run request that shows the server still serves: with faults injected one may hit
 * a fault (at the rates used, about one in six); ten in a row do not. */
const ALIVE_ATTEMPTS = 10;

interface Args {
  server: 'cpu' | 'npu';
  minBatch: number | null;
  fault: string | null;
  requests: number;
  clients: number;
  slots: number;
  nPredict: number;
  seed: number;
  model: string;
  text: string | null;
  reference: string | null;
  timeLimitS: number;
  tieNats: number;
  out: string | null;
}

export interface LoadReport {
  config: Omit<Args, 'out' | 'reference'> & { reference: string; command: string; hostCores: number };
  requests: { id: number; lengthClass: string; stream: boolean; words: number }[];
  reference: Completion[];
  load: Completion[];
  wallS: { reference: number; load: number };
  latencyMs: { p50: number; p95: number; max: number; firstTokenP50: number | null };
  promptTokens: { min: number; max: number; mean: number };
  rssKiB: { start: number; peak: number; firstHalfPeak: number; secondHalfPeak: number; end: number };
  /** [ms since the reference pass began, KiB], at most RSS_SERIES_POINTS of the samples */
  rssSeries: [number, number][];
  /** MUL_MAT failures the plugin logged during the load pass */
  npuFailuresLogged: number;
  aliveAfter: boolean;
  comparison: ComparisonSummary;
  checks: { name: string; ok: boolean; detail: string }[];
}

function usage(why: string): never {
  process.stderr.write(`load-test: ${why}\n(see the header of ts/tools/load-test.ts)\n`);
  process.exit(64);
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    server: 'npu',
    minBatch: null,
    fault: null,
    requests: DEFAULTS.requests,
    clients: DEFAULTS.clients,
    slots: DEFAULTS.slots,
    nPredict: DEFAULTS.nPredict,
    seed: DEFAULTS.seed,
    model: '',
    text: null,
    reference: null,
    timeLimitS: DEFAULTS.timeLimitS,
    tieNats: DEFAULTS.tieNats,
    out: null,
  };
  const num = (v: string | undefined, name: string, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) usage(`${name} needs a number >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i],
      v = argv[i + 1];
    const take = () => (i++, v ?? usage(`${k} needs a value`));
    if (k === '--server') a.server = take() === 'cpu' ? 'cpu' : v === 'npu' ? 'npu' : usage('--server cpu|npu');
    else if (k === '--min-batch') a.minBatch = num(take(), k, 1);
    else if (k === '--fault') a.fault = take();
    else if (k === '--requests') a.requests = num(take(), k, 1);
    else if (k === '--clients') a.clients = num(take(), k, 1);
    else if (k === '--slots') a.slots = num(take(), k, 1);
    else if (k === '--n-predict') a.nPredict = num(take(), k, 1);
    else if (k === '--seed') a.seed = num(take(), k, 0);
    else if (k === '--model') a.model = take();
    else if (k === '--text') a.text = take();
    else if (k === '--reference') a.reference = take();
    else if (k === '--time-limit-s') a.timeLimitS = num(take(), k, 1);
    else if (k === '--tie-nats') a.tieNats = num(take(), k, 0);
    else if (k === '--out') a.out = take();
    else usage(`unknown argument ${k}`);
  }
  if (a.fault && a.server !== 'npu') usage('--fault needs --server npu');
  if (a.fault && !a.reference) usage('--fault needs --reference (a fault-free run of the same requests)');
  a.model ||= defaultModelPath();
  if (!fs.existsSync(a.model)) usage(`no model at ${a.model}`);
  return a;
}

function log(s: string) {
  process.stderr.write(`load-test: ${s}\n`);
}

/** Tokens a slot keeps free besides the prompt and the answer (BOS and the like). */
const CTX_MARGIN = 8;

/** Cut the prompts the model tokenizes into more than a slot holds (words of man-page text can be several
 * tokens each), so every request fits; done once before the runs, with the server's own tokenizer. */
async function fitPrompts(url: string, reqs: LoadRequest[], maxTokens: number): Promise<number> {
  let cut = 0;
  for (const r of reqs) {
    for (;;) {
      const res = await fetch(`${url}/tokenize`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ content: r.prompt }),
      });
      const n = ((await res.json()) as { tokens?: unknown[] }).tokens?.length ?? 0;
      if (!res.ok || n <= maxTokens) break;
      const words = r.prompt.split(' ');
      r.prompt = words.slice(0, Math.max(1, Math.floor((words.length * maxTokens) / n) - 1)).join(' ');
      cut++;
    }
  }
  return cut;
}

/** The requests in order, one at a time. */
async function sequential(url: string, reqs: LoadRequest[], deadline: number): Promise<Completion[]> {
  const out: Completion[] = [];
  for (const r of reqs) {
    if (Date.now() > deadline) break;
    out.push(await complete(url, r, REQUEST_TIMEOUT_MS));
  }
  return out;
}

/** The requests from `clients` concurrent clients, each taking the next one when its last is answered. */
async function concurrent(url: string, reqs: LoadRequest[], clients: number, deadline: number): Promise<Completion[]> {
  const out: Completion[] = [];
  let next = 0;
  const worker = async () => {
    while (next < reqs.length && Date.now() < deadline) {
      const r = reqs[next++];
      out.push(await complete(url, r, REQUEST_TIMEOUT_MS));
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  return out.sort((x, y) => x.id - y.id);
}

function rssHalves(samples: { ms: number; kib: number }[]): { first: number; second: number } {
  const end = samples.length ? samples[samples.length - 1].ms : 0;
  const peak = (from: number, to: number) =>
    samples.filter((s) => s.ms >= from && s.ms <= to).reduce((m, s) => Math.max(m, s.kib), 0);
  return { first: peak(0, end / 2), second: peak(end / 2, end) };
}

async function run(a: Args): Promise<LoadReport> {
  const bin = upstreamBinDir();
  const textFile = a.text ?? path.join(path.dirname(a.model), 'valid.txt');
  const text = fs.existsSync(textFile) ? fs.readFileSync(textFile, 'utf8') : '';
  const reqs = makeRequests(text, a.requests, a.seed, a.nPredict, DEFAULTS.nProbs);
  const env: Record<string, string> = {};
  if (a.server === 'npu') env.RKNPU_DEVICE = 'sim';
  if (a.minBatch !== null) env.RKNPU_MIN_BATCH = String(a.minBatch);
  if (a.fault) env.RKNPU_SIM_FAULT = a.fault;
  const logFile = path.join(os.tmpdir(), `rosenblatt-load-${a.server}-${process.pid}.log`);
  const server = new LlamaServer(
    {
      bin,
      model: a.model,
      plugin: a.server === 'npu' ? pluginPath() : null,
      env,
      slots: a.slots,
      ctxPerSlot: DEFAULTS.ctxPerSlot,
      logFile,
    },
    await freePort(),
  );
  const deadline = Date.now() + a.timeLimitS * 1000;
  log(`${a.server}${a.fault ? ` with faults ${a.fault}` : ''}: starting llama-server (${server.url}, log ${logFile})`);
  await server.start();
  const rss = new RssSampler(server.pid);
  let reference: Completion[] = [],
    load: Completion[] = [],
    refS = 0,
    loadS = 0,
    aliveAfter = false,
    rssStart = 0,
    exitBeforeStop: number | string | null = null,
    npuFailures = 0;
  try {
    const warm = await complete(server.url, { ...WARM_UP, id: -1 }, REQUEST_TIMEOUT_MS);
    if (warm.error && !a.fault) throw new Error(`the warm-up request failed: ${warm.error}`);
    const cut = await fitPrompts(server.url, reqs, DEFAULTS.ctxPerSlot - a.nPredict - CTX_MARGIN);
    if (cut) log(`${cut} prompts cut to fit a slot's ${DEFAULTS.ctxPerSlot} tokens`);
    rss.start();
    rssStart = rss.samples[0]?.kib ?? 0;
    if (a.reference) {
      const prev = JSON.parse(fs.readFileSync(a.reference, 'utf8')) as LoadReport;
      reference = prev.reference;
    } else {
      log(`reference: ${reqs.length} requests one at a time`);
      const t0 = performance.now();
      reference = await sequential(server.url, reqs, deadline);
      refS = (performance.now() - t0) / 1000;
    }
    log(`load: ${reqs.length} requests from ${a.clients} clients, ${a.slots} slots`);
    const t1 = performance.now();
    load = await concurrent(server.url, reqs, a.clients, deadline);
    loadS = (performance.now() - t1) / 1000;
    npuFailures = (server.log().match(NPU_FAILURE) ?? []).length; // before the probe below, which may fail too
    rss.stop();
    for (let i = 0; i < ALIVE_ATTEMPTS && !aliveAfter; i++) {
      const probe = await complete(server.url, { ...WARM_UP, id: -2 }, REQUEST_TIMEOUT_MS);
      aliveAfter = probe.error === null && (await server.healthy());
    }
  } finally {
    rss.stop();
    exitBeforeStop = server.exit;
    await server.stop();
  }
  const lat = load.map((c) => c.latencyMs).sort((x, y) => x - y);
  const ttft = load
    .filter((c) => c.firstTokenMs !== null)
    .map((c) => c.firstTokenMs as number)
    .sort((x, y) => x - y);
  const prompts = load.filter((c) => !c.error).map((c) => c.promptTokens);
  const halves = rssHalves(rss.samples);
  const comparison = compareRuns(reference, load, a.tieNats);
  const report: LoadReport = {
    config: {
      ...a,
      reference: a.reference ?? 'sequential pass of this run',
      command: `load-test ${process.argv.slice(2).join(' ')}`,
      hostCores: os.cpus().length,
    },
    requests: reqs.map((r) => ({
      id: r.id,
      lengthClass: r.lengthClass,
      stream: r.stream,
      words: r.prompt.split(' ').length,
    })),
    reference,
    load,
    wallS: { reference: refS, load: loadS },
    latencyMs: {
      p50: quantile(lat, 0.5),
      p95: quantile(lat, 0.95),
      max: quantile(lat, 1),
      firstTokenP50: ttft.length ? quantile(ttft, 0.5) : null,
    },
    promptTokens: {
      min: prompts.length ? Math.min(...prompts) : 0,
      max: prompts.length ? Math.max(...prompts) : 0,
      mean: prompts.length ? prompts.reduce((s, x) => s + x, 0) / prompts.length : 0,
    },
    rssKiB: {
      start: rssStart,
      peak: rss.peakKiB,
      firstHalfPeak: halves.first,
      secondHalfPeak: halves.second,
      end: rss.samples.length ? rss.samples[rss.samples.length - 1].kib : 0,
    },
    rssSeries: rss.samples
      .filter((_, i, all) => i % Math.ceil(all.length / RSS_SERIES_POINTS) === 0)
      .map((x) => [x.ms, x.kib]),
    npuFailuresLogged: npuFailures,
    aliveAfter,
    comparison,
    checks: [],
  };
  report.checks = checks(a, reqs.length, report, exitBeforeStop);
  return report;
}

function checks(a: Args, n: number, r: LoadReport, exit: number | string | null): LoadReport['checks'] {
  const c = r.comparison;
  const out: LoadReport['checks'] = [];
  const add = (name: string, ok: boolean, detail: string) => out.push({ name, ok, detail });
  add('every request sent and finished', r.load.length === n, `${r.load.length} of ${n} within the time limit`);
  if (!a.reference) add('every reference answered', r.reference.length === n && r.reference.every((x) => !x.error), '');
  if (a.fault) {
    // a failed batch fails every request in it (llama-server answers them all with its decode error)
    const errs = r.load.filter((x) => x.error !== null);
    const decodeErrs = errs.filter((x) => x.error?.includes(DECODE_ERROR)).length;
    add(
      'faults struck during the load and the affected requests got an error',
      r.npuFailuresLogged > 0 && errs.length > 0 && decodeErrs === errs.length,
      `${r.npuFailuresLogged} NPU failures logged, ${errs.length} requests with an error, ${decodeErrs} of them ` +
        `llama-server's '${DECODE_ERROR}'`,
    );
  } else {
    add('every request answered', c.errors === 0, `${c.errors} errors`);
  }
  add(
    'no answer corrupted',
    c.diverged === 0,
    `${c.identical} identical, ${c.nearTie} near-tie, ${c.diverged} diverged of ${c.compared}`,
  );
  add(
    'the server kept serving',
    r.aliveAfter && exit === null,
    `answered after the run: ${r.aliveAfter}${exit === null ? '' : `, exited (${exit})`}`,
  );
  const growth = r.rssKiB.secondHalfPeak - r.rssKiB.firstHalfPeak;
  const allowed = Math.max(RSS_FLAT_KIB, r.rssKiB.firstHalfPeak * RSS_FLAT_FRACTION);
  add(
    'server memory bounded',
    growth <= allowed,
    `peak ${mib(r.rssKiB.peak)}, second half ${mib(r.rssKiB.secondHalfPeak)} vs first ${mib(r.rssKiB.firstHalfPeak)}`,
  );
  return out;
}

const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

function printReport(r: LoadReport) {
  const c = r.comparison;
  const cfg = r.config;
  const lines = [
    `# ${cfg.command}`,
    `server ${cfg.server}${cfg.minBatch ? ` RKNPU_MIN_BATCH=${cfg.minBatch}` : ''}${cfg.fault ? ` RKNPU_SIM_FAULT=${cfg.fault}` : ''}; ` +
      `${r.load.length} requests, ${cfg.clients} clients, ${cfg.slots} slots, ${cfg.nPredict} tokens each; ` +
      `prompts ${r.promptTokens.min}-${r.promptTokens.max} tokens (mean ${r.promptTokens.mean.toFixed(0)})`,
    `answered ${r.load.length - c.errors}, errors ${c.errors}; NPU failures logged ${r.npuFailuresLogged}; ` +
      `wall ${r.wallS.load.toFixed(1)} s (reference ${r.wallS.reference.toFixed(1)} s)`,
    `latency p50 ${(r.latencyMs.p50 / 1000).toFixed(2)} s, p95 ${(r.latencyMs.p95 / 1000).toFixed(2)} s, ` +
      `max ${(r.latencyMs.max / 1000).toFixed(2)} s; first token p50 ` +
      `${r.latencyMs.firstTokenP50 === null ? '-' : `${(r.latencyMs.firstTokenP50 / 1000).toFixed(2)} s`}`,
    `RSS start ${mib(r.rssKiB.start)}, peak ${mib(r.rssKiB.peak)}, end ${mib(r.rssKiB.end)}`,
    `vs reference: ${c.identical} identical, ${c.nearTie} near-tie, ${c.diverged} diverged of ${c.compared}; ` +
      `first ${c.prefixTokens} tokens agree ${c.prefixAgree}/${c.compared}; ` +
      `|Δ logprob| p50 ${c.delta.p50.toExponential(1)}, p99 ${c.delta.p99.toExponential(1)}, ` +
      `max ${c.delta.max.toExponential(1)} over ${c.delta.n} shared tokens; ` +
      `margins at divergences ${c.margins.map((m) => m.toFixed(3)).join(' ') || '-'} (tie <= ${c.tieNats})`,
    ...c.perRequest
      .filter((p) => p.verdict === 'diverged')
      .map((p) => `request ${p.id} corrupted: ${p.why} (first difference at token ${p.firstDiff})`),
    ...r.checks.map((k) => `${k.ok ? 'ok' : 'NOT OK'}: ${k.name}${k.detail ? ` (${k.detail})` : ''}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

function compareFiles(argv: string[]) {
  const [fa, fb] = argv;
  if (!fa || !fb) usage('compare A.json B.json');
  const tie = argv[2] === '--tie-nats' ? Number(argv[3]) : DEFAULTS.tieNats;
  const a = JSON.parse(fs.readFileSync(fa, 'utf8')) as LoadReport;
  const b = JSON.parse(fs.readFileSync(fb, 'utf8')) as LoadReport;
  const c = compareRuns(a.reference, b.reference, tie);
  process.stdout.write(
    `references of ${b.config.command} against ${a.config.command}: ${c.identical} identical, ${c.nearTie} near-tie, ` +
      `${c.diverged} diverged of ${c.compared}; first ${c.prefixTokens} tokens agree ${c.prefixAgree}/${c.compared}; ` +
      `|Δ logprob| p50 ${c.delta.p50.toExponential(1)}, p99 ${c.delta.p99.toExponential(1)}, max ${c.delta.max.toExponential(1)}; ` +
      `margins at divergences ${c.margins.map((m) => m.toFixed(3)).join(' ') || '-'}\n`,
  );
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === 'compare') return compareFiles(argv.slice(1));
  const a = parseArgs(argv);
  const report = await run(a);
  if (a.out) {
    fs.mkdirSync(path.dirname(path.resolve(a.out)), { recursive: true });
    fs.writeFileSync(a.out, JSON.stringify(report));
  }
  printReport(report);
  process.exitCode = report.checks.every((k) => k.ok) ? 0 : 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`load-test: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
