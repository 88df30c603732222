#!/usr/bin/env bash
# Build the pinned llama.cpp and backend/ for aarch64 (RK3588: Cortex-A76/A55, ARMv8.2-A with
# dotprod and fp16). One script for both cases, chosen by the host:
#   x86_64 host   cross build with Debian's aarch64-linux-gnu toolchain
#                 (scripts/cross/aarch64-linux-gnu.cmake); run the results with qemu-aarch64
#                 (scripts/test-aarch64.sh)
#   aarch64 host  native build (the board)
# The pin is built into the usual cache outside the repository (scripts/upstream.sh, key
# aarch64-cross-<hash> or aarch64-native-<hash>) and reused when present; the backend goes to
# build/aarch64/out (or $ROSENBLATT_AARCH64_BUILD/out).
#
#   scripts/build-aarch64.sh            build (reusing what is built), print the backend out dir
#   scripts/build-aarch64.sh --check    only check the toolchain, print what is missing, exit 1 if so
#
# Environment: ROSENBLATT_JOBS (default nproc), ROSENBLATT_AARCH64_BUILD (default build/aarch64),
# plus scripts/upstream.sh's (ROSENBLATT_CACHE, ROSENBLATT_UPSTREAM, LLAMA_CPP_SRC).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export ROSENBLATT_ARCH=aarch64

say() { echo "build-aarch64: $*" >&2; }
die() { echo "build-aarch64: error: $*" >&2; exit 1; }

mode=$(scripts/upstream.sh mode)
toolchain="$root/scripts/cross/aarch64-linux-gnu.cmake"

# What a build needs on this host; prints one line per missing piece with the package to install.
missing() {
  command -v cmake >/dev/null || echo "cmake (apt-get install cmake)"
  command -v node >/dev/null || echo "node (Node.js >= 20)"
  if [ "$mode" = cross ]; then
    command -v aarch64-linux-gnu-gcc >/dev/null || echo "aarch64-linux-gnu-gcc (apt-get install gcc-aarch64-linux-gnu)"
    command -v aarch64-linux-gnu-g++ >/dev/null || echo "aarch64-linux-gnu-g++ (apt-get install g++-aarch64-linux-gnu)"
    [ -f /usr/aarch64-linux-gnu/include/stdio.h ] || echo "the aarch64 C library headers (apt-get install libc6-dev-arm64-cross)"
  else
    command -v gcc >/dev/null || echo "gcc (apt-get install gcc)"
    command -v g++ >/dev/null || echo "g++ (apt-get install g++)"
  fi
  return 0
}

if [ "${1:-}" = --check ]; then
  m=$(missing)
  [ -z "$m" ] && { echo "$mode build: toolchain complete"; exit 0; }
  echo "$mode build: missing:"; echo "$m" | sed 's/^/  /'; exit 1
fi
m=$(missing)
[ -z "$m" ] || die "missing for the $mode aarch64 build: $(echo "$m" | paste -sd ';' - | sed 's/;/; /g')"

# The CPU ISA the pin builds ggml-cpu for; the backend (NEON glue in gemm/) gets the same -march.
march=$(node -e 'const p=require(process.argv[1]);const f=p.cmake.aarch64.find(s=>s.startsWith("-DGGML_CPU_ARM_ARCH="));
  if(!f)process.exit(3);console.log(f.split("=")[1])' "$root/upstream-pin/llama.cpp.json") ||
  die "upstream-pin/llama.cpp.json has no -DGGML_CPU_ARM_ARCH= in cmake.aarch64"

jobs=${ROSENBLATT_JOBS:-$(nproc)}
say "pinned llama.cpp ($mode, $(scripts/upstream.sh key))"
src=$(scripts/upstream.sh src)
bin=$(scripts/upstream.sh build)

out=${ROSENBLATT_AARCH64_BUILD:-build/aarch64}
mkdir -p "$out"
log="$out/build.log"
say "backend -> $out/out (-march=$march, log: $log)"
# Plain CMake in both modes: backend/ is no Node addon, and cmake-js replaces CMAKE_CXX_FLAGS with
# its own, which would drop the -march for the C++ plugin. Cross builds add the toolchain file, and
# the pin's bin dir joins the find root so find_library (libggml-base.so for the plugin) looks there.
cfg=(-S backend -B "$out" -DCMAKE_BUILD_TYPE=Release
     -DCMAKE_C_FLAGS="-march=$march" -DCMAKE_CXX_FLAGS="-march=$march"
     -DLLAMA_CPP_SRC="$src" -DLLAMA_CPP_LIBDIR="$bin")
[ "$mode" = cross ] && cfg+=(-DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_FIND_ROOT_PATH="$bin")
cmake "${cfg[@]}" >"$log" 2>&1 || { tail -30 "$log" >&2; die "backend configure failed (full log: $log)"; }
cmake --build "$out" -j "$jobs" >>"$log" 2>&1 ||
  { grep -E 'error|Error' "$log" | head -20 >&2; tail -20 "$log" >&2; die "backend build failed (full log: $log)"; }
[ -f "$out/out/libggml-rknpu.so" ] || die "$out/out/libggml-rknpu.so was not built (log: $log)"
echo "$(cd "$out/out" && pwd)"
