// The requests of a load test: distinct prompts cut from a text at seeded offsets, in three length classes
// so that some prefill batches stay below RKNPU_MIN_BATCH (CPU) and most reach the NPU, half of them
// streamed. The same seed gives the same requests, so two servers (or two runs) answer the same questions.
import { rng } from '../../util/rng.js';
import type { CompletionRequest } from './client.js';

/** Words per prompt, by class: a few tokens (below the NPU's minimum batch), a sentence or two, a paragraph. */
export const LENGTH_CLASSES = [
  { name: 'short', minWords: 2, maxWords: 5, weight: 3 },
  { name: 'medium', minWords: 15, maxWords: 40, weight: 4 },
  { name: 'long', minWords: 60, maxWords: 150, weight: 3 },
] as const;
export type LengthClass = (typeof LENGTH_CLASSES)[number]['name'];

/** Words of the built-in text, for models without a corpus of their own (the default model). */
const FALLBACK_TEXT = `The quick brown fox jumps over the lazy dog while the system reads its configuration file and
prints the name of each option with a short description of what it does when the program starts and how the
user may change it from the command line or the environment before running the tool again on another file`;

/** Words a text must have to serve as the corpus; otherwise the built-in words are shuffled into one. */
const FALLBACK_WORDS = 20_000;

export interface LoadRequest extends CompletionRequest {
  lengthClass: LengthClass;
}

/** `n` requests from `text` (or from the built-in words when the text is short). */
export function makeRequests(text: string, n: number, seed: number, nPredict: number, nProbs: number): LoadRequest[] {
  const r = rng(seed);
  let words = text.split(/\s+/).filter(Boolean);
  if (words.length < FALLBACK_WORDS) {
    // too little text for distinct long prompts: the built-in words in a seeded order
    const base = FALLBACK_TEXT.split(/\s+/);
    words = Array.from({ length: FALLBACK_WORDS }, () => base[Math.floor(r() * base.length)]);
  }
  const total = LENGTH_CLASSES.reduce((s, c) => s + c.weight, 0);
  const out: LoadRequest[] = [];
  const seen = new Set<string>();
  for (let id = 0; out.length < n && id < n * 100; id++) {
    let pick = r() * total;
    const cls = LENGTH_CLASSES.find((c) => (pick -= c.weight) < 0) ?? LENGTH_CLASSES[0];
    const len = cls.minWords + Math.floor(r() * (cls.maxWords - cls.minWords + 1));
    const start = Math.floor(r() * Math.max(1, words.length - len));
    const stream = r() < 0.5;
    const prompt = words
      .slice(start, start + len)
      .join(' ')
      .padEnd(1, 'x');
    if (seen.has(prompt)) continue; // distinct questions only
    seen.add(prompt);
    out.push({ id: out.length, prompt, stream, nPredict, nProbs, lengthClass: cls.name });
  }
  return out;
}
