// The pin and its build cache: the materialised tree is the pinned commit, and a second build call
// reuses the cached build instead of rebuilding.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { binDir, repo } from './helpers.js';

const pin = JSON.parse(fs.readFileSync(path.join(repo, 'upstream-pin', 'llama.cpp.json'), 'utf8'));
const script = path.join(repo, 'scripts', 'upstream.sh');

t.test('the pin', (t) => {
  t.match(pin.commit, /^[0-9a-f]{40}$/);
  const bundle = pin.sources.find((s: { kind: string }) => s.kind === 'npm-bundle');
  t.match(bundle.sha256, /^[0-9a-f]{64}$/, 'the bundle is checked by sha256');
  t.ok(
    pin.sources.find((s: { kind: string }) => s.kind === 'git'),
    'a plain git clone is a source too',
  );
  t.ok(pin.cmake.common.includes('-DGGML_BACKEND_DL=ON') && pin.cmake.common.includes('-DBUILD_SHARED_LIBS=ON'));
  t.ok(pin.cmake.common.includes('-DGGML_NATIVE=OFF'), 'GGML_NATIVE=ON is rejected with DL on x86');
  t.end();
});

t.test('the materialised tree is the pinned commit', (t) => {
  const src = spawnSync('bash', [script, 'src'], { encoding: 'utf8' }).stdout.trim();
  const head = spawnSync('git', ['-C', src, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
  t.equal(head, pin.commit);
  t.notOk(src.startsWith(repo + path.sep), 'outside the repository');
  t.end();
});

t.test('a second build reuses the cache', (t) => {
  const r = spawnSync('bash', [script, 'build'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stderr, /reusing /);
  t.equal(r.stdout.trim(), binDir());
  for (const f of [
    'llama-completion',
    'llama-cli',
    'llama-server',
    'llama-bench',
    'llama-quantize',
    'llama-perplexity',
    'test-backend-ops',
    'rpc-server',
    'libllama.so',
    'libggml-base.so',
  ]) {
    t.ok(fs.existsSync(path.join(binDir(), f)), `${f} built`);
  }
  t.end();
});

t.test('a checkout at another commit is refused', (t) => {
  const r = spawnSync('bash', [script, 'src'], { encoding: 'utf8', env: { ...process.env, LLAMA_CPP_SRC: repo } });
  t.not(r.status, 0);
  t.match(r.stderr, /the pin wants|is not a git checkout/);
  t.end();
});
