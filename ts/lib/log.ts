// Routes llama.cpp/ggml log output: quiet by default, everything with --verbose, and always the
// plugin's own lines (so a run on the simulator says so) and errors. Recent lines are kept so that a
// failing C call can be reported with the reason llama.cpp logged.
import koffi from 'koffi';
import { ggml_log_callback, type Native } from '../ffi/llama.js';

const GGML_LOG_LEVEL_ERROR = 4;
const GGML_LOG_LEVEL_CONT = 5;
const KEEP = 64;

export class LogSink {
  verbose = false;
  echo: (line: string) => void = (line) => process.stderr.write(line);
  private recent: { level: number; text: string }[] = [];
  private lastLevel = 0;
  private handle: unknown = null;

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
    if (this.verbose || level >= GGML_LOG_LEVEL_ERROR || text.includes('RKNPU')) this.echo(text);
  }

  /** Error lines logged since the last call, for an exception message. */
  takeErrors(): string {
    const errs = this.recent.filter((r) => r.level >= GGML_LOG_LEVEL_ERROR).map((r) => r.text.trim());
    this.recent = [];
    return errs.join('; ');
  }

  /** All recent lines (for tests and diagnostics). */
  lines(): string[] {
    return this.recent.map((r) => r.text);
  }
}

export const logSink = new LogSink();
