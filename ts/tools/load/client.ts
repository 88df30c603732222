// One request to llama-server's native /completion endpoint, streaming (server-sent events) or not, with
// the top-k log-probabilities of every generated token (n_probs), so answers can be compared by more than
// their text. Errors are results, not exceptions: an HTTP error status, an error event in a stream, a
// broken connection or a timeout each end the request with `error` set.

export interface CompletionRequest {
  id: number;
  prompt: string;
  stream: boolean;
  nPredict: number;
  /** top log-probabilities per generated token */
  nProbs: number;
}

export interface TokenProb {
  id: number;
  logprob: number;
}

export interface GeneratedToken extends TokenProb {
  /** the top nProbs candidates, best first */
  top: TokenProb[];
}

export interface Completion {
  id: number;
  stream: boolean;
  /** HTTP status (0 when the connection failed) */
  status: number;
  /** set when the request did not complete: the server's message or what broke */
  error: string | null;
  content: string;
  tokens: GeneratedToken[];
  promptTokens: number;
  stopType: string;
  latencyMs: number;
  /** streaming only: time to the first generated token */
  firstTokenMs: number | null;
}

/** The JSON objects of the complete `data:` events in `buffer`, and what is left of an event cut short. */
export function parseSse(buffer: string): { events: unknown[]; rest: string } {
  const events: unknown[] = [];
  const parts = buffer.split(/\r?\n\r?\n/);
  const rest = parts.pop() ?? '';
  for (const part of parts) {
    const data = part
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice('data:'.length).trimStart())
      .join('\n');
    if (!data || data === '[DONE]') continue;
    events.push(JSON.parse(data));
  }
  return { events, rest };
}

interface RawProb {
  id: number;
  logprob: number;
  top_logprobs?: { id: number; logprob: number }[];
}

function tokensOf(probs: unknown): GeneratedToken[] {
  if (!Array.isArray(probs)) return [];
  return (probs as RawProb[]).map((p) => ({
    id: p.id,
    logprob: p.logprob,
    top: (p.top_logprobs ?? []).map((t) => ({ id: t.id, logprob: t.logprob })),
  }));
}

function errorText(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e) return String((e as { message: unknown }).message);
  return typeof e === 'string' ? e : JSON.stringify(e);
}

interface ChunkJson {
  content?: string;
  completion_probabilities?: unknown;
  tokens_evaluated?: number;
  stop?: boolean;
  stop_type?: string;
  error?: unknown;
}

/** Send one request; resolves when it is answered, failed or timed out (never rejects). */
export async function complete(url: string, req: CompletionRequest, timeoutMs: number): Promise<Completion> {
  const t0 = performance.now();
  const out: Completion = {
    id: req.id,
    stream: req.stream,
    status: 0,
    error: null,
    content: '',
    tokens: [],
    promptTokens: 0,
    stopType: '',
    latencyMs: 0,
    firstTokenMs: null,
  };
  const body = {
    prompt: req.prompt,
    n_predict: req.nPredict,
    temperature: 0, // greedy: the answer is a function of the logits alone
    n_probs: req.nProbs,
    stream: req.stream,
    // every answer computes its whole prompt: a slot's cached copy of the same prompt from the reference pass
    // would otherwise stand in for part of the work under load
    cache_prompt: false,
  };
  try {
    const r = await fetch(`${url}/completion`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    out.status = r.status;
    if (!req.stream || !r.ok || !r.body) {
      const j = (await r.json()) as ChunkJson;
      if (!r.ok || j.error !== undefined) {
        out.error = `HTTP ${r.status}: ${errorText(j.error ?? j)}`;
      } else {
        out.content = j.content ?? '';
        out.tokens = tokensOf(j.completion_probabilities);
        out.promptTokens = j.tokens_evaluated ?? 0;
        out.stopType = j.stop_type ?? '';
      }
    } else {
      let buffer = '',
        stopped = false;
      const decoder = new TextDecoder();
      for await (const chunk of r.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        const { events, rest } = parseSse(buffer);
        buffer = rest;
        for (const ev of events as ChunkJson[]) {
          if (ev.error !== undefined) {
            out.error = `stream error: ${errorText(ev.error)}`;
            continue;
          }
          const toks = tokensOf(ev.completion_probabilities);
          if (toks.length && out.firstTokenMs === null) out.firstTokenMs = performance.now() - t0;
          out.tokens.push(...toks);
          out.content += ev.content ?? '';
          if (ev.stop) {
            stopped = true;
            out.promptTokens = ev.tokens_evaluated ?? out.promptTokens;
            out.stopType = ev.stop_type ?? '';
          }
        }
      }
      if (!stopped && out.error === null) out.error = 'stream ended without a final event';
    }
  } catch (e) {
    out.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  }
  out.latencyMs = performance.now() - t0;
  return out;
}
