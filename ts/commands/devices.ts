// rosenblatt-dl devices: the ggml registries and devices after loading the plugin with the
// environment's settings (no simulator unless asked: this lists what the machine has).
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { npuSettingsFromEnv } from '../runtime/npu-settings.js';
import { llamaOptions, noBackendOption, openRuntime, type LlamaArgs } from './common.js';

interface DevicesArgs extends LlamaArgs {
  json?: boolean;
}

export const command = 'devices';
export const describe = 'list ggml backends and devices (with the plugin loaded)';

export function builder(y: Argv) {
  return noBackendOption(llamaOptions(y)).option('json', { type: 'boolean', describe: 'print JSON' });
}

const MIB = 2 ** 20;

export function handler(args: ArgumentsCamelCase<DevicesArgs>) {
  const { rt, plugin } = openRuntime(args, () => npuSettingsFromEnv(), { cpuOnlyAllowed: true });
  const regs = rt.registries();
  const devs = rt.devices();
  if (args.json) {
    const out = {
      plugin: plugin?.registry ?? null,
      plugin_status: plugin?.status ?? null,
      registries: regs,
      devices: devs,
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return;
  }
  if (plugin)
    process.stdout.write(
      `plugin registry: ${plugin.registry}${plugin.status.present ? '' : ` (no device: ${plugin.status.reason})`}\n`,
    );
  process.stdout.write('registries:\n');
  for (const r of regs) process.stdout.write(`  ${r.name.padEnd(8)} ${r.devices} device(s)\n`);
  process.stdout.write('devices:\n');
  for (const d of devs) {
    const mib = (n: number) => (n / MIB).toFixed(0);
    process.stdout.write(
      `  ${d.name.padEnd(10)} ${d.type.padEnd(6)} ${d.description} (${mib(d.memoryFree)}/${mib(d.memoryTotal)} MiB free) [${d.registry}]\n`,
    );
  }
}
