#!/usr/bin/env node
// Reads a TAP stream (tap's `--reporter=tap` output) on stdin, echoes it, and ends with the line
// `N passed, N failed` (plus `, N skipped`) counting leaf assertions. A subtest whose summary says
// "not ok" while none of its own assertions failed (a crash, a timeout) counts as one failure.
// Exit status: 0 when nothing failed and at least one assertion ran, 1 otherwise.
import readline from 'node:readline';

const rl = readline.createInterface({ input: process.stdin });
const open = []; // stack of { indent, failed }
let passed = 0,
  failed = 0,
  skipped = 0;

for await (const line of rl) {
  process.stdout.write(line + '\n');
  const sub = /^(\s*)# Subtest: /.exec(line);
  if (sub) {
    open.push({ indent: sub[1].length, failed: 0 });
    continue;
  }
  const m = /^(\s*)(not ok|ok)\b(.*)$/.exec(line);
  if (!m) continue;
  const indent = m[1].length,
    ok = m[2] === 'ok',
    rest = m[3];
  const top = open[open.length - 1];
  if (top && top.indent === indent) {
    open.pop();
    if (!ok && top.failed === 0) {
      failed++;
      markFailed();
    }
    continue;
  }
  if (/#\s*skip/i.test(rest)) skipped++;
  else if (ok || /#\s*todo/i.test(rest)) passed++;
  else {
    failed++;
    markFailed();
  }
}

function markFailed() {
  for (const s of open) s.failed++;
}

process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
