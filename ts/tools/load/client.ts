// One request to llama-server's native /completion endpoint, streaming (server-sent events) or not, with
// the top-k log-probabilities of every generated token (n_probs), so answers can be compared by more than
// their text. Errors are results, not exceptions: an HTTP error status, an error event in a stream, a
// broken connection or a timeout each end the request with `error` set.
import http from 'node:http';

const HTTP_OK = 200;

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

/** POST `body` as JSON on a connection of its own (closed after the answer: no pooled keep-alive connection the
 * server may close while the client reuses it); `onData` sees the response body as it arrives. */
function post(
  url: string,
  body: unknown,
  timeoutMs: number,
  onHead: (status: number) => void,
  onData: (text: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), connection: 'close' },
        signal: AbortSignal.timeout(timeoutMs),
      },
      (res) => {
        onHead(res.statusCode ?? 0);
        res.setEncoding('utf8');
        res.on('data', (d: string) => onData(d));
        res.on('end', () => resolve());
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
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
  let text = '',
    buffer = '',
    stopped = false,
    sse = false;
  // streamed events are handled as they arrive (time to the first token); anything else at the end
  const onEvent = (ev: ChunkJson) => {
    if (ev.error !== undefined) {
      out.error = `stream error: ${errorText(ev.error)}`;
      return;
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
  };
  try {
    await post(
      `${url}/completion`,
      body,
      timeoutMs,
      (status) => {
        out.status = status;
        sse = req.stream && status === HTTP_OK;
      },
      (chunk) => {
        if (!sse) {
          text += chunk;
          return;
        }
        const { events, rest } = parseSse(buffer + chunk);
        buffer = rest;
        for (const ev of events as ChunkJson[]) onEvent(ev);
      },
    );
    if (!sse) {
      const j = JSON.parse(text) as ChunkJson;
      if (out.status !== HTTP_OK || j.error !== undefined) {
        out.error = `HTTP ${out.status}: ${errorText(j.error ?? j)}`;
      } else {
        out.content = j.content ?? '';
        out.tokens = tokensOf(j.completion_probabilities);
        out.promptTokens = j.tokens_evaluated ?? 0;
        out.stopType = j.stop_type ?? '';
      }
    } else if (!stopped && out.error === null) {
      out.error = 'stream ended without a final event';
    }
  } catch (e) {
    const cause = e instanceof Error && e.cause instanceof Error ? ` (${e.cause.message})` : '';
    out.error = e instanceof Error ? `${e.name}: ${e.message}${cause}` : String(e);
  }
  out.latencyMs = performance.now() - t0;
  return out;
}
