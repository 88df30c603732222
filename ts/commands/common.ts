// Options shared by the commands that talk to llama.cpp, and how they become a Runtime.
import type { Argv } from 'yargs';
import { Runtime } from '../lib/llama.js';
import { pluginPath, upstreamBinDir } from '../lib/paths.js';

export interface RuntimeArgs {
  backend?: string;
  'no-backend'?: boolean;
  verbose?: boolean;
  'llama-bin'?: string;
}

export function runtimeOptions<T>(y: Argv<T>) {
  return y
    .option('backend', { type: 'string', describe: 'backend plugin to load (default: the built libggml-rknpu.so)' })
    .option('no-backend', { type: 'boolean', describe: 'load no plugin: CPU only' })
    .option('llama-bin', { type: 'string', describe: 'bin dir of the pinned llama.cpp build (default: scripts/upstream.sh prefix)' })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'show llama.cpp log output' });
}

/** A runtime with the requested plugin loaded; returns the registry name the plugin reported. */
export function openRuntime(args: RuntimeArgs): { rt: Runtime; registry: string | null } {
  const rt = new Runtime({ binDir: args['llama-bin'] ?? upstreamBinDir(), verbose: args.verbose });
  let registry: string | null = null;
  if (!args['no-backend']) registry = rt.loadBackend(args.backend ?? pluginPath());
  rt.init();
  return { rt, registry };
}
