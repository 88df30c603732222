// A tiny byte-level BPE in the GPT-2 style (byte → printable unicode mapping, merges learned by pair
// counting inside pre-tokenized words), so the embedded model has a real tokenizer llama.cpp loads
// with tokenizer.ggml.model = "gpt2".

/** GPT-2's reversible byte → unicode character mapping. */
export function byteToUnicode(): string[] {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const map: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    map[b] = keep.includes(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + extra++);
  }
  return map;
}

/** Words with their leading space, digits one by one, other runs as they come (close to Qwen2's split). */
export function preTokenize(text: string): string[] {
  return text.match(/ ?[A-Za-z]+|[0-9]| ?[^\sA-Za-z0-9]+|\s+/g) ?? [];
}

export interface Bpe {
  tokens: string[];
  merges: string[];
}

export function trainBpe(corpus: string, nMerges: number): Bpe {
  const b2u = byteToUnicode();
  const words = new Map<string, number>();
  for (const w of preTokenize(corpus)) words.set(w, (words.get(w) ?? 0) + 1);
  let seqs = [...words].map(([w, count]) => ({ syms: [...Buffer.from(w, 'utf8')].map((b) => b2u[b]), count }));
  const tokens = [...b2u];
  const seen = new Set(tokens);
  const merges: string[] = [];
  while (merges.length < nMerges) {
    const pairs = new Map<string, number>();
    for (const s of seqs) {
      for (let i = 0; i + 1 < s.syms.length; i++) {
        const k = s.syms[i] + ' ' + s.syms[i + 1];
        pairs.set(k, (pairs.get(k) ?? 0) + s.count);
      }
    }
    let best = '',
      bestCount = 1;
    for (const [k, c] of pairs)
      if (c > bestCount || (c === bestCount && best && k < best)) {
        best = k;
        bestCount = c;
      }
    if (!best) break;
    const [a, b] = best.split(' ');
    const joined = a + b;
    merges.push(best);
    if (!seen.has(joined)) {
      seen.add(joined);
      tokens.push(joined);
    }
    seqs = seqs.map((s) => {
      const out: string[] = [];
      for (let i = 0; i < s.syms.length; i++) {
        if (i + 1 < s.syms.length && s.syms[i] === a && s.syms[i + 1] === b) {
          out.push(joined);
          i++;
        } else out.push(s.syms[i]);
      }
      return { syms: out, count: s.count };
    });
  }
  return { tokens, merges };
}
