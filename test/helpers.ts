// Shared test plumbing: where the built things are, and how to run the CLI and stock tools. Nothing
// is located or built when this module loads: the pinned llama.cpp build, the plugin and the default
// model are found (and the model made) on first use, so the pure unit tests (test/unit/) never need them.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';

// Children of the tests convert every weight (the conversion is what they test) and leave nothing in the user's
// cache directory: the NPU weight cache is off unless a test sets RKNPU_WEIGHT_CACHE itself.
process.env.RKNPU_WEIGHT_CACHE ??= 'off';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const sharedModels = path.resolve(repo, '..', 'shared', 'models');

/** Runs a child process for a fixture; the whole suite gives each one this long. */
const CHILD_TIMEOUT_MS = 300_000;

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

function once<T>(make: () => T): () => T {
  let value: { v: T } | null = null;
  return () => (value ??= { v: make() }).v;
}

/** scripts/paths.sh: line 1 the pinned build's bin dir, line 2 the plugin. */
const built = once(() => {
  const [bin, plugin] = sh('bash', [path.join(repo, 'scripts', 'paths.sh')]).split('\n');
  return { bin, plugin };
});

/** Bin dir of the pinned llama.cpp build. */
export const binDir = (): string => built().bin;
/** The built plugin, libggml-rknpu.so. */
export const pluginPath = (): string => built().plugin;
/** build/native/out: the plugin, the native tools and the C test binaries. */
export const nativeOut = (): string => path.dirname(pluginPath());
/** The embedded default model (made by scripts/make-default-model.sh on first use). */
export const defaultModel = once(() => sh('bash', [path.join(repo, 'scripts', 'make-default-model.sh')]));

/** The tiny random-weight models of ts/model/tiny-archs.ts, Q4_K_M (scripts/make-fixture-models.sh, on first use). */
const fixtureDir = once(() => sh('bash', [path.join(repo, 'scripts', 'make-fixture-models.sh')]));
export const fixtureModel = (name: string): string => path.join(fixtureDir(), `${name}-q4_k_m.gguf`);
/** The text the fixture models are evaluated on. */
export const fixtureText = (): string => path.join(fixtureDir(), 'text.txt');

/** A file of the trained tiny Qwen2 in ../shared/models, or null outside this setup. */
export function sharedModel(name: string): string | null {
  const p = path.join(sharedModels, 'tiny-qwen2', name);
  return fs.existsSync(p) ? p : null;
}

/** A model for end-to-end runs: the trained tiny Qwen2 when present, else the embedded default model. */
export function e2eModel(name = 'tiny-qwen2-q8_0.gguf'): string {
  return sharedModel(name) ?? defaultModel();
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The compiled CLI. */
export const cliPath = path.join(repo, 'dist', 'cli.js');

/** Run the CLI (compiled: dist/cli.js) with these variables added to the environment. */
export function cli(args: string[], env: Record<string, string> = {}): RunResult {
  const r = spawnSync(process.execPath, [cliPath, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: CHILD_TIMEOUT_MS,
  });
  return pick(r);
}

/** Run a tool of the pinned build (for up to timeoutMs). */
export function tool(
  name: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = CHILD_TIMEOUT_MS,
): RunResult {
  const r = spawnSync(path.join(binDir(), name), args, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: timeoutMs,
  });
  return pick(r);
}

/** How many times a llama-completion run that lost the tail of its log is repeated (completion()). */
const COMPLETION_ATTEMPTS = 5;

/**
 * llama-completion until a complete run: the pinned tool sometimes loses the tail of its asynchronous log, the
 * generated text included, and still exits 0 (TODO.md); a complete run ends with its perf summary. A failed run
 * is returned as it is.
 */
export function completion(args: string[], env: Record<string, string> = {}): RunResult {
  let r: RunResult = { status: null, stdout: '', stderr: '' };
  for (let attempt = 0; attempt < COMPLETION_ATTEMPTS; attempt++) {
    r = tool('llama-completion', args, env);
    if (r.status !== 0 || /total time =/.test(r.stderr)) return r;
  }
  return { ...r, status: -1, stderr: `${r.stderr}\nno complete log in ${COMPLETION_ATTEMPTS} runs` };
}

function pick(r: SpawnSyncReturns<string>): RunResult {
  return { status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

/** A script's TAP output as assertions: each `ok`/`not ok` line becomes one (with the `#` lines after a
 * failure as its detail), so the counts reach the CI summary. Returns the number of result lines. */
export function tapLinesAsAsserts(t: Test, stdout: string): number {
  const lines = stdout.split('\n');
  let n = 0;
  for (let i = 0; i < lines.length; i++) {
    const m = /^(not ok|ok)\s+\d+\s*(?:-\s*)?(.*)$/.exec(lines[i]);
    if (!m) continue;
    n++;
    const detail: string[] = [];
    for (let j = i + 1; j < lines.length && lines[j].startsWith('#'); j++) detail.push(lines[j]);
    t.ok(m[1] === 'ok', m[2], m[1] === 'ok' ? {} : { diagnostic: true, detail: detail.join('\n') });
  }
  return n;
}
