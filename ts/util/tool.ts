// Running the native and stock tools: output collected, a progress callback while they run, and the
// command written out as a shell line for reports. The environment is always passed in (spawn's env
// option); nothing here reads or writes process.env.
import { spawn } from 'node:child_process';

/** Default interval of the still-running lines of a long tool run. */
export const HEARTBEAT_MS = 30_000;

export interface ToolResult {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: Error;
}

/** A tool ran but printed something other than what we parse. */
export class ToolOutputError extends Error {}

/** Spawn a tool, collect its output, and call `beat` every heartbeatMs with the last line it printed. */
export function runTool(
  exe: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  beat: ((secs: number, last: string) => void) | null,
  heartbeatMs = HEARTBEAT_MS,
): Promise<ToolResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const out: Buffer[] = [],
      err: Buffer[] = [];
    let last = '';
    const child = spawn(exe, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (arr: Buffer[]) => (d: Buffer) => {
      arr.push(d);
      const l = d
        .toString('utf8')
        .split(/[\r\n]/)
        .filter((x) => x.trim())
        .pop();
      if (l) last = l.trim();
    };
    child.stdout.on('data', keep(out));
    child.stderr.on('data', keep(err));
    const timer = beat ? setInterval(() => beat((performance.now() - t0) / 1000, last), heartbeatMs) : null;
    let done = false;
    const finish = (status: number | null, error?: Error) => {
      if (done) return;
      done = true;
      if (timer) clearInterval(timer);
      resolve({
        status,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        error,
      });
    };
    child.on('error', (e) => finish(null, e));
    child.on('close', (code) => finish(code));
  });
}

/** One shell word: as is when safe (the $BIN/$NATIVE/$PLUGIN placeholders included), else single-quoted. */
function quote(s: string): string {
  return /^(\$(BIN|NATIVE|PLUGIN)\b)?[\w@%+=:,./-]*$/.test(s) && s !== '' ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `VAR=value ... exe args...` as a user would type it. */
export function shellLine(env: Record<string, string>, exe: string, args: string[]): string {
  return [...Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`), quote(exe), ...args.map(quote)].join(' ');
}

/** The last non-empty line of a tool's output, for one-line error messages. */
export function lastLine(s: string): string {
  return (
    s
      .trim()
      .split('\n')
      .filter((l) => l.trim())
      .pop() ?? '(no output)'
  );
}
