// What the commands share: the options of every command that loads llama.cpp (--backend, --llama-bin,
// --verbose), --sim, and how they become a runtime with the plugin loaded with its settings.
import path from 'node:path';
import type { Argv } from 'yargs';
import { Runtime } from '../runtime/llama.js';
import { SettingsError, type NpuSettings } from '../runtime/npu-settings.js';
import type { RknpuPlugin } from '../runtime/plugin.js';
import { pluginPath, requireFile, upstreamBinDir } from '../util/paths.js';

export interface LlamaArgs {
  /** false: --no-backend (yargs reads --no-X as X = false). */
  backend?: string | false;
  'llama-bin'?: string;
  verbose?: boolean;
}

export function llamaOptions<T>(y: Argv<T>) {
  return y
    .option('backend', {
      type: 'string',
      describe: 'the NPU plugin to load (default: the built libggml-rknpu.so)',
    })
    .option('llama-bin', {
      type: 'string',
      describe: 'bin dir of the pinned llama.cpp build (default: scripts/upstream.sh prefix)',
    })
    .option('verbose', { alias: 'v', type: 'boolean', describe: "show llama.cpp's and the plugin's log" });
}

export function simOption<T>(y: Argv<T>, describe: string) {
  return y.option('sim', { type: 'boolean', describe });
}

/** --no-backend, offered by the commands that can run on the CPU alone. */
export function noBackendOption<T>(y: Argv<T>) {
  return y.option('no-backend', { type: 'boolean', describe: 'load no plugin: CPU only' });
}

/** The pinned build's bin dir and the plugin, as given or where setup puts them. */
export function llamaPaths(args: LlamaArgs): { binDir: string; plugin: string } {
  if (args.backend === false) throw new SettingsError('--no-backend: this command needs the plugin');
  return {
    binDir: args['llama-bin'] ?? upstreamBinDir(),
    plugin: args.backend
      ? requireFile(path.resolve(args.backend), 'backend plugin', 'check --backend')
      : requireFile(pluginPath(), 'backend plugin', 'run `npm run setup` to build it'),
  };
}

/**
 * A runtime with the plugin loaded with the settings `npu` returns. With --no-backend (only where
 * `cpuOnlyAllowed`) no plugin at all, and `npu` is not called, so nothing is announced.
 */
export function openRuntime(
  args: LlamaArgs,
  npu: () => NpuSettings,
  opts: { cpuOnlyAllowed?: boolean } = {},
): { rt: Runtime; plugin: RknpuPlugin | null } {
  const cpuOnly = args.backend === false && !!opts.cpuOnlyAllowed;
  const { binDir, plugin: file } = llamaPaths(cpuOnly ? { ...args, backend: undefined } : args);
  const rt = new Runtime({ binDir, verbose: args.verbose });
  const plugin = cpuOnly ? null : rt.loadPlugin(file, npu());
  rt.init();
  return { rt, plugin };
}

/** The interval of still-running lines in long tool runs ($ROSENBLATT_PROGRESS_MS, for tests). */
export function progressIntervalMs(): number | undefined {
  const v = process.env.ROSENBLATT_PROGRESS_MS;
  return v ? Number(v) : undefined;
}

/** Diagnostics and announcements go to stderr, one line each. */
export function sayErr(line: string): void {
  process.stderr.write(`${line}\n`);
}
