// The koffi struct declarations must match the pinned llama.h and the plugin's ggml-rknpu.h byte for
// byte: a C probe built against those headers prints sizes and offsets, and every declared field is
// compared.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import koffi from 'koffi';
import t from 'tap';
import * as ffi from '../ts/ffi/llama.js';
import { repo } from './helpers.js';

const src = spawnSync('bash', [path.join(repo, 'scripts', 'upstream.sh'), 'src'], { encoding: 'utf8' }).stdout.trim();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-layout-'));
const exe = path.join(dir, 'layout');
const cc = spawnSync(
  'cc',
  [
    '-std=c11',
    '-I',
    path.join(src, 'include'),
    '-I',
    path.join(src, 'ggml', 'include'),
    '-I',
    path.join(repo, 'backend', 'plugin'),
    path.join(repo, 'test', 'fixtures', 'llama-layout.c'),
    '-o',
    exe,
  ],
  { encoding: 'utf8' },
);
t.equal(cc.status, 0, `layout probe compiles ${cc.stderr}`);
const c = JSON.parse(spawnSync(exe, { encoding: 'utf8' }).stdout) as Record<
  string,
  { size: number; fields: Record<string, number> }
>;

const declared: Record<string, unknown> = {
  llama_model_params: ffi.llama_model_params,
  llama_context_params: ffi.llama_context_params,
  llama_batch: ffi.llama_batch,
  llama_sampler_chain_params: ffi.llama_sampler_chain_params,
  llama_chat_message: ffi.llama_chat_message,
  ggml_backend_rknpu_stats: ffi.rknpu_stats,
  ggml_backend_rknpu_status: ffi.rknpu_status,
};

for (const [name, type] of Object.entries(declared)) {
  t.test(name, (tt) => {
    const ref = c[name];
    tt.ok(ref, 'the probe knows it');
    tt.equal(koffi.sizeof(type as Parameters<typeof koffi.sizeof>[0]), ref.size, 'size');
    for (const [field, off] of Object.entries(ref.fields)) {
      tt.equal(koffi.offsetof(type as Parameters<typeof koffi.sizeof>[0], field), off, `offset of ${field}`);
    }
    tt.end();
  });
}
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
