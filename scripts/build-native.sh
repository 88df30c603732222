#!/usr/bin/env bash
# Build backend/ (NPU layers, tools, C tests and libggml-rknpu.so) with cmake-js against the pinned
# llama.cpp build. Output: build/native/out/. Extra arguments go to cmake-js (e.g. --CDRKNPU_SANITIZE=ON).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
src=$(scripts/upstream.sh src)
bin=$(scripts/upstream.sh prefix)
out=${ROSENBLATT_NATIVE_BUILD:-build/native}
exec npx --no-install cmake-js build --directory backend --out "$out" --parallel "${ROSENBLATT_JOBS:-$(nproc)}" \
  --CDLLAMA_CPP_SRC="$src" --CDLLAMA_CPP_LIBDIR="$bin" "$@"
