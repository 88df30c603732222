// Stage 1: the doctor's board checks; they count on the board, and are informational on the simulator.
import fs from 'node:fs';
import path from 'node:path';
import { formatDoctor, runDoctor } from '../../doctor/index.js';
import type { StageFn } from '../types.js';

export const doctorStage: StageFn = (c, s) => {
  const d = runDoctor(c.o.root);
  c.doctor = d;
  fs.writeFileSync(path.join(c.o.outDir, 'doctor.txt'), formatDoctor(d));
  fs.writeFileSync(path.join(c.o.outDir, 'doctor.json'), JSON.stringify(d, null, 2) + '\n');
  s.files.push('doctor.txt', 'doctor.json');
  s.commands.push(`rosenblatt-dl doctor${c.o.root ? ` --root ${c.o.root}` : ''}`);
  const fails = d.checks.filter((k) => k.status === 'fail');
  const warns = d.checks.filter((k) => k.status === 'warn');
  s.figures = { ok: d.ok, failed: fails.map((k) => k.name), warnings: warns.map((k) => k.name), facts: d.facts };
  if (c.sim) {
    s.verdict = 'info';
    s.summary = `${d.facts.rk3588 ? 'RK3588' : 'not an RK3588'}; ${fails.length} failed, ${warns.length} warnings (informational on the simulator)`;
  } else {
    s.verdict = fails.length ? 'fail' : 'pass';
    s.summary = fails.length
      ? `failed: ${fails.map((k) => `${k.name} (${k.found})`).join('; ')}`
      : `${warns.length} warning(s)`;
  }
};
