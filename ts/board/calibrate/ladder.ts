// Running the native ladder (npu-calibrate --json): its progress lines as they come, its one JSON line at
// the end, checked before anything is built on it.
import { spawn } from 'node:child_process';
import { ToolOutputError } from '../../util/tool.js';
import type { LadderResult } from './types.js';

/** The JSON line npu-calibrate --json prints last on stdout. */
export function parseLadderJson(stdout: string): LadderResult {
  const line = stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new ToolOutputError('npu-calibrate printed no JSON line');
  const j = JSON.parse(line) as LadderResult;
  if (j.tool !== 'npu-calibrate' || typeof j.ok !== 'boolean' || !Array.isArray(j.steps) || !Array.isArray(j.edges))
    throw new ToolOutputError('not an npu-calibrate result');
  if (j.ok && (!j.envelope || !j.timing)) throw new ToolOutputError('npu-calibrate passed without an envelope');
  return j;
}

export interface LadderRun {
  status: number | null;
  stdout: string;
  stderr: string;
  result: LadderResult | null;
  /** Why there is no result (the tool failed to start, or printed something else). */
  problem: string | null;
}

/** Run npu-calibrate with --json; `progress` gets each line it prints on stderr. */
export function runLadder(
  exe: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  progress: (line: string) => void,
): Promise<LadderRun> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    let err = '',
      pending = '';
    const child = spawn(exe, [...args, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      const s = d.toString('utf8');
      err += s;
      pending += s;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) progress(l);
    });
    let done = false;
    const finish = (status: number | null, startError?: Error) => {
      if (done) return;
      done = true;
      if (pending.trim()) progress(pending);
      const stdout = Buffer.concat(out).toString('utf8');
      let result: LadderResult | null = null,
        problem: string | null = startError ? `npu-calibrate did not start: ${startError.message}` : null;
      if (!problem)
        try {
          result = parseLadderJson(stdout);
        } catch (e) {
          problem = `npu-calibrate --json output not recognised (${(e as Error).message}; exit ${status})`;
        }
      resolve({ status, stdout, stderr: err, result, problem });
    };
    child.on('error', (e) => finish(null, e));
    child.on('close', (code) => finish(code));
  });
}
