// The arguments rosenblatt-dl probe gives the native npu-probe.
import t from 'tap';
import { probeArgv } from '../../ts/commands/probe.js';

t.test('npu-probe argv', (t) => {
  const base = { dtype: 'fp16', cores: 3, 'clock-mhz': 1000 };
  t.same(probeArgv(base, 'sim'), ['--device', 'sim', '--dtype', 'fp16', '--cores', '3', '--clock-mhz', '1000']);
  t.same(
    probeArgv({ ...base, seed: 0, json: true }, 'rocket').slice(-3),
    ['--seed', '0', '--json'],
    'seed 0 is a seed',
  );
  t.notOk(probeArgv({ ...base, json: false }, 'auto').includes('--json'));
  t.end();
});
