// Thin typed wrappers over the koffi bindings: backends and devices, model, context, generation.
// Every failing C call becomes an Error with the reason llama.cpp logged; nothing is left to crash.
import fs from 'node:fs';
import koffi from 'koffi';
import { llama_progress_callback, loadNative, type Native } from '../ffi/llama.js';
import { LlamaError } from './errors.js';
import { logSink } from './log.js';
import type { NpuSettings } from './npu-settings.js';
import { loadPlugin, type RknpuPlugin } from './plugin.js';

// enum ggml_backend_dev_type (ggml-backend.h)
const DEVICE_TYPES = ['CPU', 'GPU', 'IGPU', 'ACCEL', 'META'];

export interface DeviceInfo {
  registry: string;
  name: string;
  description: string;
  type: string;
  memoryFree: number;
  memoryTotal: number;
}

export interface RuntimeOptions {
  binDir: string;
  verbose?: boolean;
}

/** The llama.cpp runtime of one process: native libraries, logging, loaded backends. */
export class Runtime {
  readonly native: Native;
  private initialised = false;

  constructor(opts: RuntimeOptions) {
    this.native = loadNative(opts.binDir);
    logSink.verbose = !!opts.verbose;
    logSink.install(this.native);
  }

  /** Load the Rosenblatt plugin with these settings (see plugin.ts: errors when it cannot meet them). */
  loadPlugin(file: string, settings: NpuSettings): RknpuPlugin {
    return loadPlugin(this.native, file, settings);
  }

  /** Load the CPU backend (and any backend ggml finds by name) from the pinned build's bin dir. */
  init(): void {
    if (this.initialised) return;
    this.native.ggml.ggml_backend_load_all_from_path(this.native.dir);
    if (!this.registries().some((r) => r.name === 'CPU')) {
      throw new LlamaError(
        `no CPU backend in ${this.native.dir} (libggml-cpu*.so missing): rebuild with 'npm run setup'`,
      );
    }
    this.native.llama.llama_backend_init();
    this.initialised = true;
  }

  registries(): { name: string; devices: number }[] {
    const g = this.native.ggml;
    const out = [];
    const n = Number(g.ggml_backend_reg_count());
    for (let i = 0; i < n; i++) {
      const reg = g.ggml_backend_reg_get(i);
      out.push({ name: g.ggml_backend_reg_name(reg), devices: Number(g.ggml_backend_reg_dev_count(reg)) });
    }
    return out;
  }

  devices(): DeviceInfo[] {
    const g = this.native.ggml;
    const out: DeviceInfo[] = [];
    const n = Number(g.ggml_backend_dev_count());
    for (let i = 0; i < n; i++) {
      const dev = g.ggml_backend_dev_get(i);
      const free = [0],
        total = [0];
      g.ggml_backend_dev_memory(dev, free, total);
      out.push({
        registry: g.ggml_backend_reg_name(g.ggml_backend_dev_backend_reg(dev)),
        name: g.ggml_backend_dev_name(dev),
        description: g.ggml_backend_dev_description(dev),
        type: DEVICE_TYPES[g.ggml_backend_dev_type(dev)] ?? 'UNKNOWN',
        memoryFree: Number(free[0]),
        memoryTotal: Number(total[0]),
      });
    }
    return out;
  }

  /** Load a model; onProgress sees 0..1 while tensors are read (and converted for the NPU). */
  loadModel(file: string, opts: { onProgress?: (fraction: number) => void } = {}): Model {
    if (!fs.existsSync(file)) throw new LlamaError(`model file not found: ${file}`);
    this.init();
    const l = this.native.llama;
    const params = l.llama_model_default_params();
    let cb: unknown = null;
    if (opts.onProgress) {
      const report = opts.onProgress;
      cb = koffi.register((p: number) => (report(p), true), koffi.pointer(llama_progress_callback));
      params.progress_callback = cb;
    }
    try {
      const ptr = logSink.holdErrors(() => {
        const p = l.llama_model_load_from_file(file, params);
        if (!p)
          throw new LlamaError(`failed to load model ${file}: ${logSink.takeErrors() || 'not a valid GGUF model'}`);
        return p;
      });
      return new Model(this.native, ptr);
    } finally {
      if (cb) koffi.unregister(cb as bigint);
    }
  }
}

export class Model {
  readonly vocab: unknown;
  private freed = false;

  constructor(
    private readonly native: Native,
    readonly ptr: unknown,
  ) {
    this.vocab = native.llama.llama_model_get_vocab(ptr);
  }

  describe(): { desc: string; params: number; bytes: number } {
    const l = this.native.llama;
    const buf = Buffer.alloc(256);
    const n = l.llama_model_desc(this.ptr, buf, buf.length);
    return {
      desc: buf.subarray(0, Math.max(0, n)).toString('utf8'),
      params: Number(l.llama_model_n_params(this.ptr)),
      bytes: Number(l.llama_model_size(this.ptr)),
    };
  }

  nVocab(): number {
    return this.native.llama.llama_vocab_n_tokens(this.vocab);
  }

  tokenize(text: string, addSpecial = true, parseSpecial = true): number[] {
    const l = this.native.llama;
    const bytes = Buffer.byteLength(text);
    let cap = bytes + 8;
    for (;;) {
      const out = new Int32Array(cap);
      const n = l.llama_tokenize(this.vocab, text, bytes, out, cap, addSpecial, parseSpecial);
      if (n >= 0) return Array.from(out.subarray(0, n));
      if (-n <= cap) throw new LlamaError(`tokenization failed (${n})`);
      cap = -n;
    }
  }

  /** The bytes of one token (a token may hold part of a UTF-8 character). */
  piece(token: number, special = false): Buffer {
    const l = this.native.llama;
    let buf = Buffer.alloc(64);
    let n = l.llama_token_to_piece(this.vocab, token, buf, buf.length, 0, special);
    if (n < 0) {
      buf = Buffer.alloc(-n);
      n = l.llama_token_to_piece(this.vocab, token, buf, buf.length, 0, special);
    }
    return buf.subarray(0, Math.max(0, n));
  }

  isEog(token: number): boolean {
    return this.native.llama.llama_vocab_is_eog(this.vocab, token);
  }

  chatTemplate(): string | null {
    return this.native.llama.llama_model_chat_template(this.ptr, null) ?? null;
  }

  /** Format one user message with the model's chat template, or null when it has none. */
  applyChatTemplate(user: string): string | null {
    const tmpl = this.chatTemplate();
    if (!tmpl) return null;
    const msg = [{ role: 'user', content: user }];
    let cap = 2 * Buffer.byteLength(user) + 512;
    for (;;) {
      const buf = Buffer.alloc(cap);
      const n = this.native.llama.llama_chat_apply_template(tmpl, msg, 1, true, buf, cap);
      if (n < 0) return null; // a template llama.cpp does not know: use the raw prompt
      if (n <= cap) return buf.subarray(0, n).toString('utf8');
      cap = n;
    }
  }

  newContext(opts: ContextOptions = {}): Context {
    const l = this.native.llama;
    const p = l.llama_context_default_params();
    if (opts.nCtx !== undefined) p.n_ctx = opts.nCtx;
    if (opts.nBatch !== undefined) p.n_batch = p.n_ubatch = opts.nBatch;
    if (opts.threads !== undefined) p.n_threads = p.n_threads_batch = opts.threads;
    p.no_perf = true;
    const ptr = logSink.holdErrors(() => {
      const c = l.llama_init_from_model(this.ptr, p);
      if (!c)
        throw new LlamaError(
          `failed to create a context: ${logSink.takeErrors() || 'llama_init_from_model returned NULL'}`,
        );
      return c;
    });
    return new Context(this.native, this, ptr);
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.native.llama.llama_model_free(this.ptr);
  }
}

export interface ContextOptions {
  nCtx?: number;
  nBatch?: number;
  threads?: number;
}

export interface SamplingOptions {
  /** 0 = greedy (deterministic). */
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
}

export interface GenerateOptions extends SamplingOptions {
  maxTokens: number;
  onPiece?: (bytes: Buffer, token: number) => void;
}

export interface Generation {
  promptTokens: number[];
  tokens: number[];
  text: string;
  promptMs: number;
  genMs: number;
}

// ggml_abort_callback / decode return codes (llama.h: llama_decode)
function decodeError(rc: number): string {
  if (rc === 1) return 'no KV cache slot for the batch (context full)';
  if (rc === 2) return 'aborted';
  if (rc === -1) return 'invalid input batch';
  return `fatal error ${rc}`;
}

export class Context {
  private freed = false;

  constructor(
    private readonly native: Native,
    readonly model: Model,
    readonly ptr: unknown,
  ) {}

  nCtx(): number {
    return this.native.llama.llama_n_ctx(this.ptr);
  }

  clear(): void {
    this.native.llama.llama_memory_clear(this.native.llama.llama_get_memory(this.ptr), true);
  }

  /** Evaluate tokens (appending to the KV cache). Throws with the logged reason on failure. */
  decode(tokens: number[]): void {
    const arr = Int32Array.from(tokens);
    const batch = this.native.llama.llama_batch_get_one(arr, arr.length);
    logSink.holdErrors(() => {
      const rc = this.native.llama.llama_decode(this.ptr, batch);
      if (rc !== 0) throw new LlamaError(`llama_decode failed: ${decodeError(rc)}${this.reason()}`);
    });
  }

  private reason(): string {
    const e = logSink.takeErrors();
    return e ? ` (${e})` : '';
  }

  private sampler(o: SamplingOptions): unknown {
    const l = this.native.llama;
    const chain = l.llama_sampler_chain_init(l.llama_sampler_chain_default_params());
    const temp = o.temperature ?? 0;
    if (temp <= 0) {
      l.llama_sampler_chain_add(chain, l.llama_sampler_init_greedy());
    } else {
      l.llama_sampler_chain_add(chain, l.llama_sampler_init_top_k(o.topK ?? 40));
      l.llama_sampler_chain_add(chain, l.llama_sampler_init_top_p(o.topP ?? 0.95, 1));
      l.llama_sampler_chain_add(chain, l.llama_sampler_init_temp(temp));
      l.llama_sampler_chain_add(chain, l.llama_sampler_init_dist(o.seed ?? 0xffffffff));
    }
    return chain;
  }

  /** decode() on a thread of libuv's pool (koffi's asynchronous call), so the event loop stays free and
   * other contexts of the process can decode at the same time. */
  decodeAsync(tokens: number[]): Promise<void> {
    const arr = Int32Array.from(tokens);
    const batch = this.native.llama.llama_batch_get_one(arr, arr.length);
    return new Promise((resolve, reject) => {
      this.native.llama.llama_decode.async(this.ptr, batch, (err: unknown, rc: number) => {
        void arr; // the batch points into it: alive until the call returns
        if (err) reject(err instanceof Error ? err : new LlamaError(String(err)));
        else if (rc !== 0) reject(new LlamaError(`llama_decode failed: ${decodeError(rc)}${this.reason()}`));
        else resolve();
      });
    });
  }

  /** Generate after `prompt`; streams pieces through onPiece. The KV cache is cleared first. */
  generate(prompt: number[], opts: GenerateOptions): Generation {
    const steps = this.steps(prompt, opts);
    for (let s = steps.next(); ;) {
      if (s.done) return s.value;
      try {
        this.decode(s.value);
      } catch (e) {
        s = steps.throw(e); // the sampler is freed on the way out
        continue;
      }
      s = steps.next();
    }
  }

  /** generate() with every decode on a pool thread (decodeAsync): contexts of one process generate at once. */
  async generateAsync(prompt: number[], opts: GenerateOptions): Promise<Generation> {
    const steps = this.steps(prompt, opts);
    for (let s = steps.next(); ;) {
      if (s.done) return s.value;
      try {
        await this.decodeAsync(s.value);
      } catch (e) {
        s = steps.throw(e);
        continue;
      }
      s = steps.next();
    }
  }

  /** The generation loop, yielding each batch of tokens to decode (generate and generateAsync drive it). */
  private *steps(prompt: number[], opts: GenerateOptions): Generator<number[], Generation, void> {
    if (prompt.length === 0) throw new LlamaError('empty prompt');
    if (prompt.length + opts.maxTokens > this.nCtx()) {
      throw new LlamaError(
        `prompt (${prompt.length} tokens) + ${opts.maxTokens} new tokens exceed the context of ${this.nCtx()}`,
      );
    }
    this.clear();
    const l = this.native.llama;
    const smpl = this.sampler(opts);
    const out: number[] = [];
    const pieces: Buffer[] = [];
    try {
      const t0 = performance.now();
      yield prompt;
      const t1 = performance.now();
      for (let i = 0; i < opts.maxTokens; i++) {
        const tok = l.llama_sampler_sample(smpl, this.ptr, -1);
        if (this.model.isEog(tok)) break;
        out.push(tok);
        const piece = this.model.piece(tok);
        pieces.push(piece);
        opts.onPiece?.(piece, tok);
        if (i + 1 < opts.maxTokens) yield [tok];
      }
      const t2 = performance.now();
      return {
        promptTokens: prompt,
        tokens: out,
        text: Buffer.concat(pieces).toString('utf8'),
        promptMs: t1 - t0,
        genMs: t2 - t1,
      };
    } finally {
      l.llama_sampler_free(smpl);
    }
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.native.llama.llama_free(this.ptr);
  }
}
