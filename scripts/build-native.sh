#!/usr/bin/env bash
# Build backend/ (NPU layers, tools, C tests and libggml-rknpu.so) with cmake-js against the pinned
# llama.cpp build. Output: build/native/out/. Extra arguments go to cmake-js (e.g. --CDRKNPU_SANITIZE=ON).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
src=$(scripts/upstream.sh src)
bin=$(scripts/upstream.sh prefix)
out=${ROSENBLATT_NATIVE_BUILD:-build/native}
args=(--directory backend --out "$out" --CDLLAMA_CPP_SRC="$src" --CDLLAMA_CPP_LIBDIR="$bin" "$@")
# Configure every time (a second): backend/ picks up its layer folders at configure time.
npx --no-install cmake-js configure "${args[@]}"
exec npx --no-install cmake-js build --parallel "${ROSENBLATT_JOBS:-$(nproc)}" "${args[@]}"
