// Was an answer under load corrupted? Greedy answers are compared token by token with a reference run of the
// same request (the same server answering it alone). Exact text is too strict: what a token is batched with
// changes the arithmetic on the CPU too (kernels chosen by batch size), and with the plugin it also decides
// whether the NPU or the CPU computes it (RKNPU_MIN_BATCH). Up to the first differing token both runs saw the
// same tokens, so the log-probability each gave the token both chose measures how far the numerics drifted
// (logit divergence). An answer counts as corrupted when that drift exceeds `tieNats` anywhere, or when the
// first differing token is not the reference's runner-up at a position where the reference's top two were
// within `tieNats` of each other: rounding moves a log-probability by hundredths to tenths of a nat, a wrong
// or stale result by whole nats.
import type { Completion } from './client.js';

export type Verdict = 'identical' | 'near-tie' | 'diverged' | 'error' | 'no-reference';

export interface RequestComparison {
  id: number;
  verdict: Verdict;
  /** first position where the token ids differ (-1: none) */
  firstDiff: number;
  /** the reference's top-1 minus top-2 log-probability at firstDiff (nats), when known */
  refMargin: number | null;
  /** largest |Δ logprob| of the chosen token before firstDiff */
  maxDelta: number;
  /** why a 'diverged' answer counts as corrupted */
  why: string;
}

export interface ComparisonSummary {
  compared: number;
  identical: number;
  nearTie: number;
  diverged: number;
  errors: number;
  noReference: number;
  /** requests whose first `prefixTokens` tokens agree with the reference, of those compared */
  prefixAgree: number;
  prefixTokens: number;
  /** |Δ logprob| of the chosen token over all positions both runs shared: quantiles and count */
  delta: { n: number; p50: number; p99: number; max: number };
  /** reference margins at the divergences (nats), ascending */
  margins: number[];
  tieNats: number;
  perRequest: RequestComparison[];
}

export function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function compareOne(ref: Completion | undefined, run: Completion, tieNats: number, deltas: number[]) {
  const res: RequestComparison = {
    id: run.id,
    verdict: 'identical',
    firstDiff: -1,
    refMargin: null,
    maxDelta: 0,
    why: '',
  };
  if (run.error !== null) return { ...res, verdict: 'error' as const };
  if (!ref || ref.error !== null) return { ...res, verdict: 'no-reference' as const };
  const a = ref.tokens,
    b = run.tokens;
  const n = Math.min(a.length, b.length);
  let d = 0;
  for (; d < n && a[d].id === b[d].id; d++) {
    const delta = Math.abs(a[d].logprob - b[d].logprob);
    deltas.push(delta);
    res.maxDelta = Math.max(res.maxDelta, delta);
  }
  const drifted = res.maxDelta > tieNats;
  if (drifted) res.why = `a shared token's log-probability moved by ${res.maxDelta.toFixed(3)} nats`;
  if (d === n && a.length === b.length) return drifted ? { ...res, verdict: 'diverged' as const } : res;
  res.firstDiff = d;
  // One answer ended where the other went on (an end-of-text token is not reported): a near-tie only if the
  // reference's top two at that position were close; otherwise the ids at d differ.
  const at = a[d] ?? b[d];
  const top = at?.top ?? [];
  res.refMargin = top.length >= 2 ? top[0].logprob - top[1].logprob : null;
  const runnerUp = d < a.length && d < b.length ? a[d].top[1]?.id === b[d].id : true;
  const close = res.refMargin !== null && res.refMargin <= tieNats;
  res.verdict = runnerUp && close && !drifted ? 'near-tie' : 'diverged';
  if (!runnerUp) res.why ||= `token ${d} is not the reference's runner-up`;
  else if (!close) res.why ||= `the reference preferred its token ${d} by ${res.refMargin?.toFixed(3) ?? '?'} nats`;
  return res;
}

/** Compare every answer of `run` with the reference answer of the same request id. */
export function compareRuns(
  refs: Completion[],
  run: Completion[],
  tieNats: number,
  prefixTokens = 8,
): ComparisonSummary {
  const byId = new Map(refs.map((r) => [r.id, r]));
  const deltas: number[] = [];
  const perRequest = run.map((r) => compareOne(byId.get(r.id), r, tieNats, deltas));
  const count = (v: Verdict) => perRequest.filter((p) => p.verdict === v).length;
  const compared = perRequest.filter((p) => p.verdict !== 'error' && p.verdict !== 'no-reference');
  deltas.sort((x, y) => x - y);
  return {
    compared: compared.length,
    identical: count('identical'),
    nearTie: count('near-tie'),
    diverged: count('diverged'),
    errors: count('error'),
    noReference: count('no-reference'),
    prefixAgree: compared.filter((p) => p.firstDiff < 0 || p.firstDiff >= prefixTokens).length,
    prefixTokens,
    delta: { n: deltas.length, p50: quantile(deltas, 0.5), p99: quantile(deltas, 0.99), max: quantile(deltas, 1) },
    margins: perRequest
      .filter((p) => p.refMargin !== null)
      .map((p) => p.refMargin as number)
      .sort((x, y) => x - y),
    tieNats,
    perRequest,
  };
}
