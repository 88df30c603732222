// The C unit tests of backend/ (regcmd builder, software NPU, device layer, tools). Each binary
// prints TAP; every line becomes one assertion here, so the counts reach the CI summary. A binary
// that crashes or exits non-zero fails even when its printed lines were all ok.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { nativeOut } from './helpers.js';

const out = nativeOut();
const binaries = fs
  .readdirSync(out)
  .filter((f) => /^test_[a-z0-9_]+$/.test(f))
  .sort();
t.ok(binaries.length > 0, `C test binaries found in ${out}`);

for (const bin of binaries) {
  t.test(bin, (tt) => {
    const r = spawnSync(path.join(out, bin), [], { encoding: 'utf8', timeout: 600_000, cwd: out });
    const lines = (r.stdout ?? '').split('\n');
    let n = 0;
    for (let i = 0; i < lines.length; i++) {
      const m = /^(not ok|ok)\s+\d+\s*(?:-\s*)?(.*)$/.exec(lines[i]);
      if (!m) continue;
      n++;
      const skip = /#\s*skip/i.exec(m[2]);
      if (skip) {
        tt.pass(m[2], { skip: true });
        continue;
      }
      const detail = lines
        .slice(i + 1, i + 4)
        .filter((l) => l.startsWith('#'))
        .join('\n');
      tt.ok(m[1] === 'ok', m[2], m[1] === 'ok' ? {} : { diagnostic: true, detail });
    }
    tt.ok(n > 0, 'printed TAP results');
    tt.equal(r.signal, null, `no crash${r.signal ? ` (${r.signal})` : ''}`);
    tt.equal(r.status, 0, `exit status 0${r.stderr ? `\n${r.stderr.slice(-800)}` : ''}`);
    tt.end();
  });
}
