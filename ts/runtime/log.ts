// Routes llama.cpp/ggml log output: everything with --verbose, otherwise only errors (the plugin's
// load line and llama.cpp's progress chatter included in "everything"). Recent lines are kept so that
// a failing C call can be reported with the reason llama.cpp logged, once: while a call runs under
// holdErrors(), its error lines wait, and go into the exception if it fails.
import koffi from 'koffi';
import { ggml_log_callback, type Native } from '../ffi/llama.js';

// enum ggml_log_level (ggml.h)
const GGML_LOG_LEVEL_ERROR = 4;
const GGML_LOG_LEVEL_CONT = 5;
/** Lines kept for error messages. */
const KEEP = 64;

export class LogSink {
  verbose = false;
  echo: (line: string) => void = (line) => process.stderr.write(line);
  private recent: { level: number; text: string }[] = [];
  private lastLevel = 0;
  private handle: unknown = null;
  private holding = 0;
  private held: string[] = [];

  install(native: Native): void {
    if (this.handle) return;
    this.handle = koffi.register(
      (level: number, text: string) => this.onLog(level, text ?? ''),
      koffi.pointer(ggml_log_callback),
    );
    native.llama.llama_log_set(this.handle, null);
  }

  private onLog(level: number, text: string): void {
    if (level === GGML_LOG_LEVEL_CONT) level = this.lastLevel;
    this.lastLevel = level;
    this.recent.push({ level, text });
    if (this.recent.length > KEEP) this.recent.shift();
    if (this.verbose) this.echo(text);
    else if (level >= GGML_LOG_LEVEL_ERROR) {
      if (this.holding) this.held.push(text);
      else this.echo(text);
    }
  }

  /**
   * Run a C call whose failure throws an error built with takeErrors(): its error lines are printed
   * only if it succeeds (then nothing else reports them).
   */
  holdErrors<T>(call: () => T): T {
    this.holding++;
    let ok = false;
    try {
      const r = call();
      ok = true;
      return r;
    } finally {
      if (--this.holding === 0) {
        const held = this.held;
        this.held = [];
        if (ok) held.forEach((l) => this.echo(l));
      }
    }
  }

  /** Error lines logged since the last call, for an exception message. */
  takeErrors(): string {
    const errs = this.recent.filter((r) => r.level >= GGML_LOG_LEVEL_ERROR).map((r) => r.text.trim());
    this.recent = [];
    return errs.join('; ');
  }
}

export const logSink = new LogSink();
