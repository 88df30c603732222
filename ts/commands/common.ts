// Options shared by the commands that talk to llama.cpp, and how they become a Runtime.
import fs from 'node:fs';
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
    .option('llama-bin', {
      type: 'string',
      describe: 'bin dir of the pinned llama.cpp build (default: scripts/upstream.sh prefix)',
    })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'show llama.cpp log output' });
}

/**
 * On a machine with no accel node at all and no RKNPU_DEVICE given, the CLI's own jobs run on the
 * software NPU, and say so. A machine with an accel node keeps the plugin's auto selection, so a
 * board never gets the simulator by accident; RKNPU_DEVICE=off forces the CPU.
 */
function chooseSimulatorWhenNoNpu(): void {
  if (process.env.RKNPU_DEVICE) return;
  const accel = process.env.RKNPU_ACCEL_DIR ?? '/dev/accel';
  if (fs.existsSync(accel)) return;
  process.env.RKNPU_DEVICE = 'sim';
  process.stderr.write(
    `rosenblatt-dl: no NPU on this machine (${accel} absent): the NPU work runs on the SOFTWARE SIMULATOR (RKNPU_DEVICE=off for CPU only)\n`,
  );
}

/** A runtime with the requested plugin loaded; returns the registry name the plugin reported. */
export function openRuntime(
  args: RuntimeArgs,
  opts: { simWhenNoNpu?: boolean } = {},
): { rt: Runtime; registry: string | null } {
  const rt = new Runtime({ binDir: args['llama-bin'] ?? upstreamBinDir(), verbose: args.verbose });
  let registry: string | null = null;
  if (!args['no-backend']) {
    if (opts.simWhenNoNpu) chooseSimulatorWhenNoNpu();
    registry = rt.loadBackend(args.backend ?? pluginPath());
  }
  rt.init();
  return { rt, registry };
}
