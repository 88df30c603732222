#!/usr/bin/env bash
# GEMM engine benchmark + acceptance sweep (issue 4): every Qwen2.5-1.5B matmul shape x M in {1,8,32,128,512},
# int8 and fp16, on the software NPU (or the board with --device rocket), checked against the CPU references
# (int32 bit-exact, f32 error bound) and timed against ggml's CPU backend in the same run.
#
#   scripts/bench-gemm.sh [bench-gemm args]     default: --mode both --verify --json build/bench/bench-gemm.json
#
# Builds first unless ROSENBLATT_NO_BUILD=1. Not a test (minutes on a 2-core host); record results in
# docs/performance.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${ROSENBLATT_NATIVE_BUILD:-build/native}/out
[ "${ROSENBLATT_NO_BUILD:-0}" = 1 ] || bash scripts/build-native.sh >/dev/null
[ -x "$out/bench-gemm" ] || { echo "bench-gemm: not built ($out/bench-gemm); needs the pinned llama.cpp" >&2; exit 1; }
mkdir -p build/bench
if [ $# -eq 0 ]; then
  set -- --mode both --verify --json build/bench/bench-gemm.json
fi
echo "# command: scripts/bench-gemm.sh $*  ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) host cores)"
exec "$out/bench-gemm" "$@"
