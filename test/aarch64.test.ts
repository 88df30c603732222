// The aarch64 target (RK3588): build the pinned llama.cpp and backend/ for aarch64 with
// scripts/build-aarch64.sh (a cross build on x86_64, cached outside the repository like the host
// build; native on the board), then run scripts/test-aarch64.sh, which runs the C unit tests,
// npu-probe on the sim and test-backend-ops -o MUL_MAT with the plugin, under qemu-aarch64 on x86_64.
// Every TAP line it prints becomes one assertion here. Skipped, with the reason, when the cross
// toolchain or qemu-user is not installed (.ci/run installs them). A cold cross build of the pin takes
// about 11 minutes on 2 idle cores (docs/building.md); later runs reuse it and only rebuild the backend.
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { repo } from './helpers.js';

const buildScript = path.join(repo, 'scripts', 'build-aarch64.sh');
const testScript = path.join(repo, 'scripts', 'test-aarch64.sh');
const emulated = os.arch() !== 'arm64'; // on the board the binaries run directly

// Cold builds outlast tap's per-file timeout (.taprc): this file asks for more.
t.setTimeout(50 * 60_000);

function missingTools(): string[] {
  const missing: string[] = [];
  const check = spawnSync('bash', [buildScript, '--check'], { encoding: 'utf8' });
  if (check.status !== 0) {
    missing.push(
      ...(check.stdout + check.stderr)
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !/missing:$/.test(l)),
    );
  }
  if (emulated && spawnSync('sh', ['-c', 'command -v qemu-aarch64'], { encoding: 'utf8' }).status !== 0) {
    missing.push('qemu-aarch64 (apt-get install qemu-user)');
  }
  return missing;
}

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** spawn without blocking the event loop, so tap's timers and IPC keep working during a long build. */
function run(cmd: string, args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: repo, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => p.kill('SIGTERM'), timeoutMs);
    p.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

const missing = missingTools();
if (missing.length) {
  t.pass(
    `aarch64 stage skipped: the cross toolchain / qemu-user is not installed (${missing.join('; ')}). ` +
      'Install: apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user',
    { skip: true },
  );
} else {
  t.test('aarch64 build (pinned llama.cpp + backend)', async (tt) => {
    const b = await run('bash', [buildScript], 45 * 60_000);
    tt.equal(b.status, 0, `scripts/build-aarch64.sh exits 0${b.status === 0 ? '' : `\n${b.stderr.slice(-3000)}`}`);
    if (b.status !== 0) return;

    const r = await run('bash', [testScript, b.stdout.trim()], 20 * 60_000);
    const lines = r.stdout.split('\n');
    let n = 0;
    for (let i = 0; i < lines.length; i++) {
      const m = /^(not ok|ok)\s+\d+\s*(?:-\s*)?(.*)$/.exec(lines[i]);
      if (!m) continue;
      n++;
      const skip = /#\s*skip\s*(.*)$/i.exec(m[2]);
      if (skip) {
        tt.pass(m[2], { skip: true });
        continue;
      }
      const detail = lines
        .slice(i + 1, i + 6)
        .filter((l) => l.startsWith('#'))
        .join('\n');
      tt.ok(m[1] === 'ok', m[2], m[1] === 'ok' ? {} : { diagnostic: true, detail });
    }
    tt.ok(n > 0, 'scripts/test-aarch64.sh printed TAP results');
    tt.equal(r.signal, null, `no crash or timeout${r.signal ? ` (${r.signal})` : ''}`);
    tt.equal(r.status, 0, `scripts/test-aarch64.sh exits 0${r.stderr ? `\n${r.stderr.slice(-800)}` : ''}`);
  });
}
