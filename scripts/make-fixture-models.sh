#!/usr/bin/env bash
# Make the tiny random-weight models of ts/model/tiny-archs.ts (one per architecture proven on the NPU,
# docs/models.md), quantized to Q4_K_M by the pinned llama-quantize, and the text they are evaluated on.
# Cached outside the repo; remade when the generators or the pin change. Prints the directory:
# <name>-q4_k_m.gguf for each model, text.txt.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bin=$(scripts/upstream.sh prefix)
cache=${ROSENBLATT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rosenblatt}
dir="$cache/models/fixtures"
key=$(cat ts/model/*.ts ts/tools/make-tiny-model.ts upstream-pin/llama.cpp.json | sha256sum | cut -c1-16)
if [ "$(cat "$dir/key" 2>/dev/null)" = "$key" ]; then
  echo "fixture models: reusing $dir" >&2
  echo "$dir"; exit 0
fi
mkdir -p "$cache/models"
tmp=$(mktemp -d "$cache/models/fixtures.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for name in $(node dist/tools/make-tiny-model.js --list | cut -d' ' -f1); do
  node dist/tools/make-tiny-model.js "$name" "$tmp/$name-f16.gguf" >&2
  "$bin/llama-quantize" "$tmp/$name-f16.gguf" "$tmp/$name-q4_k_m.gguf" Q4_K_M >"$tmp/quantize.log" 2>&1 ||
    { tail -20 "$tmp/quantize.log" >&2; echo "fixture models: llama-quantize failed on $name" >&2; exit 1; }
  rm "$tmp/$name-f16.gguf"
done
rm "$tmp/quantize.log"
node dist/tools/make-tiny-model.js --text "$tmp/text.txt"
echo "$key" >"$tmp/key"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "fixture models: wrote $dir" >&2
echo "$dir"
