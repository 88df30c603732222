#!/usr/bin/env bash
# Make the embedded default model (random-weight Qwen2, real BPE) and quantize it to Q4_K_M with the
# pinned llama-quantize. Cached outside the repo; remade when the generator or the pin changes.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bin=$(scripts/upstream.sh prefix)
cache=${ROSENBLATT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rosenblatt}
out="$cache/models/rosenblatt-tiny-qwen2-q4_k_m.gguf"
key=$(cat ts/model/*.ts upstream-pin/llama.cpp.json | sha256sum | cut -c1-16)
if [ -f "$out" ] && [ "$(cat "$out.key" 2>/dev/null)" = "$key" ]; then
  echo "default model: reusing $out" >&2
  echo "$out"; exit 0
fi
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node dist/tools/make-tiny-qwen2.js "$tmp/f16.gguf" >&2
"$bin/llama-quantize" "$tmp/f16.gguf" "$tmp/q4km.gguf" Q4_K_M >"$tmp/quantize.log" 2>&1 ||
  { tail -20 "$tmp/quantize.log" >&2; echo "default model: llama-quantize failed" >&2; exit 1; }
mv "$tmp/q4km.gguf" "$out"
echo "$key" >"$out.key"
echo "default model: wrote $out" >&2
echo "$out"
