// Shared test plumbing: where the built things are, and how to run the CLI and stock tools.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const sharedModels = path.resolve(repo, '..', 'shared', 'models');

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

const [bin, plugin] = sh('bash', [path.join(repo, 'scripts', 'paths.sh')]).split('\n');
export const binDir = bin;
export const pluginPath = plugin;
export const defaultModel = sh('bash', [path.join(repo, 'scripts', 'make-default-model.sh')]);
export const nativeOut = path.dirname(pluginPath);

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI (compiled) with an environment where the NPU selection is explicit. */
export function cli(args: string[], env: Record<string, string> = {}): RunResult {
  const r = spawnSync(process.execPath, [path.join(repo, 'dist', 'cli.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 300_000,
  });
  return pick(r);
}

/** Run a tool of the pinned build. */
export function tool(name: string, args: string[], env: Record<string, string> = {}): RunResult {
  const r = spawnSync(path.join(binDir, name), args, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 300_000,
  });
  return pick(r);
}

function pick(r: SpawnSyncReturns<string>): RunResult {
  return { status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

export function sharedModel(name: string): string | null {
  const p = path.join(sharedModels, 'tiny-qwen2', name);
  return fs.existsSync(p) ? p : null;
}
