#!/usr/bin/env node
// rosenblatt-dl: the command line. One module per command in ts/commands/.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import * as accept from './commands/accept.js';
import * as bench from './commands/bench.js';
import * as calibrate from './commands/calibrate.js';
import * as devices from './commands/devices.js';
import * as doctor from './commands/doctor.js';
import * as probe from './commands/probe.js';
import * as run from './commands/run.js';
import * as selftest from './commands/selftest.js';

const cli = yargs(hideBin(process.argv))
  .scriptName('rosenblatt-dl')
  .command(run)
  .command(devices)
  .command(probe)
  .command(selftest)
  .command(doctor)
  .command(calibrate)
  .command(accept)
  .command(bench)
  .strict()
  .help()
  .fail((msg, err, y) => {
    if (err) {
      process.stderr.write(`rosenblatt-dl: error: ${err.message}\n`);
    } else {
      y.showHelp();
      process.stderr.write(`\n${msg}\n`);
    }
    process.exit(1);
  });

try {
  await cli.parseAsync();
} catch (e) {
  // Errors from the C side arrive here as readable messages; the stack only on request.
  const err = e as Error;
  process.stderr.write(`rosenblatt-dl: error: ${err.message}\n`);
  if (process.env.ROSENBLATT_DEBUG) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}
