// A stock llama-server of the pinned build for a load test: started on loopback on a free port, waited for
// until /health answers, its resident memory sampled from /proc while it serves, stopped at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** How long a model may take to load before the start counts as failed. */
const START_TIMEOUT_MS = 120_000;
const HEALTH_POLL_MS = 250;
const STOP_GRACE_MS = 10_000;
const LOOPBACK = '127.0.0.1';

export interface ServerOptions {
  /** bin dir of the pinned build */
  bin: string;
  model: string;
  /** libggml-rknpu.so, or null for the CPU-only server */
  plugin: string | null;
  /** added to the environment (RKNPU_DEVICE, RKNPU_MIN_BATCH, RKNPU_SIM_FAULT, ...) */
  env: Record<string, string>;
  slots: number;
  ctxPerSlot: number;
  /** the server's stdout and stderr go here */
  logFile: string;
}

/** A free TCP port on loopback (bound and released; the server binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, LOOPBACK, () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Resident set size of a process in KiB (VmRSS), or null once it is gone. */
export function rssKiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export class LlamaServer {
  readonly url: string;
  private child: ChildProcess | null = null;
  private exited: number | string | null = null;

  constructor(
    readonly opts: ServerOptions,
    readonly port: number,
  ) {
    this.url = `http://${LOOPBACK}:${port}`;
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  /** Why it stopped (exit code or signal), or null while it runs. */
  get exit(): number | string | null {
    return this.exited;
  }

  async start(): Promise<void> {
    const o = this.opts;
    const env: NodeJS.ProcessEnv = { ...process.env, ...o.env };
    delete env.GGML_BACKEND_PATH;
    if (o.plugin) env.GGML_BACKEND_PATH = o.plugin;
    const args = ['-m', o.model, '--host', LOOPBACK, '--port', String(this.port)];
    // --cache-ram 0: no RAM copies of idle slots' prompts. That cache (8 GiB by default) grows by design with
    // every distinct prompt, which would hide a leak in a run of a few hundred requests.
    args.push('-np', String(o.slots), '-c', String(o.slots * o.ctxPerSlot), '--no-webui', '--cache-ram', '0');
    fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
    const log = fs.openSync(o.logFile, 'w');
    this.child = spawn(path.join(o.bin, 'llama-server'), args, { env, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.child.on('exit', (code, sig) => (this.exited = code ?? sig ?? 'exited'));
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.exited !== null) throw new Error(`llama-server exited (${this.exited}) while starting: ${o.logFile}`);
      if (await this.healthy()) return;
      await sleep(HEALTH_POLL_MS);
    }
    await this.stop();
    throw new Error(`llama-server did not answer /health within ${START_TIMEOUT_MS / 1000} s: ${o.logFile}`);
  }

  /** GET /health answers 200. */
  async healthy(): Promise<boolean> {
    try {
      const r = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2_000) });
      await r.arrayBuffer();
      return r.status === 200;
    } catch {
      return false;
    }
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || this.exited !== null) return;
    const done = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), STOP_GRACE_MS);
    await done;
    clearTimeout(timer);
  }

  /** The server's log so far. */
  log(): string {
    try {
      return fs.readFileSync(this.opts.logFile, 'utf8');
    } catch {
      return '';
    }
  }
}

/** Samples a process's RSS at a fixed interval while a run lasts. */
export class RssSampler {
  readonly samples: { ms: number; kib: number }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private t0 = 0;

  constructor(
    readonly pid: number,
    readonly intervalMs = 200,
  ) {}

  start(): void {
    this.t0 = Date.now();
    this.take();
    this.timer = setInterval(() => this.take(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.take();
  }

  /** The highest sample, in KiB. */
  get peakKiB(): number {
    return this.samples.reduce((m, s) => Math.max(m, s.kib), 0);
  }

  private take(): void {
    const kib = rssKiB(this.pid);
    if (kib !== null) this.samples.push({ ms: Date.now() - this.t0, kib });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
