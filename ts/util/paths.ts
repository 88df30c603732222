// Where the pinned llama.cpp build, the plugin and the default model live. Everything built lives
// outside the repo except the plugin's own build dir (build/native, gitignored).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (package) root: this file is ts/util/paths.ts, compiled to dist/util/paths.js. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function cacheRoot(): string {
  return (
    process.env.ROSENBLATT_CACHE ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'rosenblatt')
  );
}

export class SetupError extends Error {}

/** Bin dir of the pinned llama.cpp build (libllama, libggml*, llama-* tools). */
export function upstreamBinDir(): string {
  const env = process.env.ROSENBLATT_LLAMA_BIN;
  if (env) return env;
  try {
    return execFileSync('bash', [path.join(repoRoot, 'scripts', 'upstream.sh'), 'prefix'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch (e) {
    const err = (e as { stderr?: string }).stderr?.trim();
    throw new SetupError(err || 'the pinned llama.cpp is not built: run `npm run setup`');
  }
}

export function nativeOutDir(): string {
  return process.env.ROSENBLATT_NATIVE_OUT ?? path.join(repoRoot, 'build', 'native', 'out');
}

/** The built plugin, libggml-rknpu.so. */
export function pluginPath(): string {
  return path.join(nativeOutDir(), 'libggml-rknpu.so');
}

/** The embedded default model (random weights, Qwen2 architecture, Q4_K_M), made by setup. */
export function defaultModelPath(): string {
  return path.join(cacheRoot(), 'models', 'rosenblatt-tiny-qwen2-q4_k_m.gguf');
}

export function requireFile(p: string, what: string, hint: string): string {
  if (!fs.existsSync(p)) throw new SetupError(`${what} not found at ${p}: ${hint}`);
  return p;
}
