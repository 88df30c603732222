// rosenblatt-dl devices: the ggml registries and devices after loading the plugin.
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { openRuntime, runtimeOptions, type RuntimeArgs } from './common.js';

export const command = 'devices';
export const describe = 'list ggml backends and devices (with the plugin loaded)';

export function builder(y: Argv) {
  return runtimeOptions(y).option('json', { type: 'boolean', describe: 'print JSON' });
}

export function handler(args: ArgumentsCamelCase<RuntimeArgs & { json?: boolean }>) {
  const { rt, registry } = openRuntime(args);
  const regs = rt.registries();
  const devs = rt.devices();
  if (args.json) {
    process.stdout.write(JSON.stringify({ plugin: registry, registries: regs, devices: devs }, null, 2) + '\n');
    return;
  }
  if (registry) process.stdout.write(`plugin registry: ${registry}\n`);
  process.stdout.write('registries:\n');
  for (const r of regs) process.stdout.write(`  ${r.name.padEnd(8)} ${r.devices} device(s)\n`);
  process.stdout.write('devices:\n');
  for (const d of devs) {
    const mib = (n: number) => (n / 2 ** 20).toFixed(0);
    process.stdout.write(
      `  ${d.name.padEnd(10)} ${d.type.padEnd(6)} ${d.description} (${mib(d.memoryFree)}/${mib(d.memoryTotal)} MiB free) [${d.registry}]\n`,
    );
  }
}
