// A stage's tool run: the command recorded (with $BIN/$NATIVE/$PLUGIN for the machine's paths), the raw
// output saved in the results folder as it finishes, and still-running lines for long runs.
import fs from 'node:fs';
import path from 'node:path';
import { runTool, shellLine, type ToolResult } from '../../util/tool.js';
import type { StageContext, StageResult } from './types.js';

export async function runStageTool(
  c: StageContext,
  s: StageResult,
  file: string,
  exe: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  shownEnv: Record<string, string> = {},
): Promise<ToolResult> {
  const command = shellLine(shownEnv, exe.replace(c.o.binDir, '$BIN').replace(c.o.nativeOut, '$NATIVE'), args);
  s.commands.push(command);
  s.files.push(file);
  const r = await runTool(
    exe,
    args,
    env,
    (secs, last) => c.o.say(`${c.prefix} ${secs.toFixed(0)} s, ${path.basename(exe)} running: ${last.slice(0, 100)}`),
    c.o.heartbeatMs,
  );
  fs.writeFileSync(
    path.join(c.o.outDir, file),
    `$ ${command}\n# exit ${r.status}${r.error ? ` (${r.error.message})` : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
  );
  if (r.error) throw new Error(`${path.basename(exe)}: ${r.error.message}`);
  return r;
}
