#!/usr/bin/env bash
# Materialise and build the pinned llama.cpp (upstream-pin/llama.cpp.json) in a cache outside the repo.
#
#   scripts/upstream.sh src      materialise the source tree, print its path
#   scripts/upstream.sh build    build the pinned targets (reused when already built), print the bin dir
#   scripts/upstream.sh prefix   print the bin dir of an existing build (exit 1 when there is none)
#   scripts/upstream.sh key      print the cache key of this host's build
#   scripts/upstream.sh mode     print "native" or "cross" (ROSENBLATT_ARCH against the host)
#
# Environment:
#   ROSENBLATT_CACHE       cache root (default: $XDG_CACHE_HOME/rosenblatt, else ~/.cache/rosenblatt)
#   ROSENBLATT_UPSTREAM    "bundle" (default: npm package bundle, then git) or "git" (git clone only)
#   LLAMA_CPP_SRC          an existing checkout of the pinned commit to use instead of materialising one
#   ROSENBLATT_ARCH        target architecture (default: uname -m). aarch64 on an x86_64 host is a
#                          cross build with Debian's aarch64-linux-gnu toolchain
#                          (scripts/cross/aarch64-linux-gnu.cmake); on an aarch64 host it is native
#   ROSENBLATT_JOBS        parallel build jobs (default: nproc)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
pin="$root/upstream-pin/llama.cpp.json"

say() { echo "upstream: $*" >&2; }
die() { echo "upstream: error: $*" >&2; exit 1; }

pinq() { node -e 'const p=require(process.argv[1]);const v=process.argv[2].split(".").reduce((o,k)=>o==null?o:o[k],p);
  if(v==null)process.exit(3);console.log(Array.isArray(v)?v.join("\n"):typeof v==="object"?JSON.stringify(v):v)' "$pin" "$1"; }

commit=$(pinq commit)
cache=${ROSENBLATT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rosenblatt}
updir="$cache/llama.cpp-${commit:0:12}"
norm_arch() { case "$1" in arm64) echo aarch64 ;; amd64) echo x86_64 ;; *) echo "$1" ;; esac; }
host=$(norm_arch "$(uname -m)")
arch=$(norm_arch "${ROSENBLATT_ARCH:-$host}")
toolchain="$here/cross/aarch64-linux-gnu.cmake"

# native: the host compiler builds for the host. cross: only aarch64 from x86_64 is supported.
build_mode() {
  if [ "$arch" = "$host" ]; then echo native
  elif [ "$arch" = aarch64 ] && [ "$host" = x86_64 ]; then echo cross
  else die "cannot build for '$arch' on a '$host' host (cross builds: aarch64 from x86_64 only)"; fi
}

# The ISA flags for this host: x86 builds name AVX2 explicitly (GGML_NATIVE is rejected with
# GGML_BACKEND_DL there) and fall back to a baseline build on CPUs without it.
arch_flags_key() {
  case "$arch" in
    x86_64) if grep -qw avx2 /proc/cpuinfo 2>/dev/null; then echo x86_64; else echo x86_64-baseline; fi ;;
    aarch64|arm64) echo aarch64 ;;
    *) die "unsupported architecture '$arch'" ;;
  esac
}

cmake_flags() { pinq cmake.common; pinq "cmake.$(arch_flags_key)"; }

# x86_64 keys are <flags key>-<hash of flags + targets> (unchanged since the first pin, so existing
# caches stay valid). aarch64 keys also say native or cross, and a cross key hashes the toolchain
# file's settings too (comments and blank lines left out): aarch64-native-<hash>, aarch64-cross-<hash>.
build_key() {
  local h mode
  case "$(arch_flags_key)" in
    x86_64*) h=$( { cmake_flags; pinq targets; } | sha256sum | cut -c1-10); echo "$(arch_flags_key)-$h" ;;
    *) mode=$(build_mode)
       h=$( { cmake_flags; pinq targets; if [ "$mode" = cross ]; then grep -Ev '^[[:space:]]*(#|$)' "$toolchain"; fi; } | sha256sum | cut -c1-10)
       echo "$(arch_flags_key)-$mode-$h" ;;
  esac
}

# Extra configure flags for a cross build, and a clear message when the toolchain is missing.
cross_flags() {
  [ "$(build_mode)" = cross ] || return 0
  local t
  for t in aarch64-linux-gnu-gcc aarch64-linux-gnu-g++; do
    command -v "$t" >/dev/null ||
      die "$t not found: apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross"
  done
  echo "-DCMAKE_TOOLCHAIN_FILE=$toolchain"
}

verify_checkout() { # $1 = dir
  local have; have=$(git -C "$1" rev-parse HEAD 2>/dev/null) || die "$1 is not a git checkout"
  [ "$have" = "$commit" ] || die "$1 is at $have, the pin wants $commit"
}

src_from_bundle() { # $1 = destination
  local pkg ver path sha tmp tgz got
  pkg=$(pinq sources.0.package); ver=$(pinq sources.0.version)
  path=$(pinq sources.0.path); sha=$(pinq sources.0.sha256)
  tmp=$(mktemp -d)
  say "fetching $pkg@$ver from the npm registry"
  (cd "$tmp" && npm pack --silent "$pkg@$ver" >/dev/null) || { rm -rf "$tmp"; return 1; }
  tgz=$(ls "$tmp"/*.tgz)
  tar -xzf "$tgz" -C "$tmp" "$path" || { rm -rf "$tmp"; return 1; }
  got=$(sha256sum "$tmp/$path" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then rm -rf "$tmp"; die "bundle sha256 $got does not match the pin ($sha)"; fi
  git clone --quiet --no-checkout "$tmp/$path" "$1.part" && git -C "$1.part" -c advice.detachedHead=false checkout --quiet "$commit"
  local rc=$?
  rm -rf "$tmp"
  return $rc
}

src_from_git() { # $1 = destination
  local url; url=$(pinq sources.1.url)
  say "cloning $url"
  git init --quiet "$1.part" &&
    git -C "$1.part" fetch --quiet --depth 1 "$url" "$commit" &&
    git -C "$1.part" -c advice.detachedHead=false checkout --quiet FETCH_HEAD
}

materialise() {
  if [ -n "${LLAMA_CPP_SRC:-}" ]; then verify_checkout "$LLAMA_CPP_SRC"; echo "$LLAMA_CPP_SRC"; return; fi
  local dst="$updir/src"
  if [ -d "$dst" ]; then echo "$dst"; return; fi
  mkdir -p "$updir"; rm -rf "$dst.part"
  case "${ROSENBLATT_UPSTREAM:-bundle}" in
    bundle) src_from_bundle "$dst" || { say "bundle route failed, trying git"; rm -rf "$dst.part"; src_from_git "$dst"; } ;;
    git) src_from_git "$dst" ;;
    *) die "ROSENBLATT_UPSTREAM must be 'bundle' or 'git'" ;;
  esac || die "could not materialise llama.cpp $commit"
  verify_checkout "$dst.part"
  mv "$dst.part" "$dst"
  echo "$dst"
}

builddir() { echo "$updir/build-$(build_key)"; }

build() {
  local src bdir flags targets jobs
  src=$(materialise)
  bdir=$(builddir)
  if [ -f "$bdir/.rosenblatt-built" ]; then say "reusing $bdir"; echo "$bdir/bin"; return; fi
  mapfile -t flags < <(cmake_flags; cross_flags)
  mapfile -t targets < <(pinq targets)
  jobs=${ROSENBLATT_JOBS:-$(nproc)}
  # Host builds log to configure.log/build.log as before; other targets get their own logs so a
  # cross build never overwrites the host build's.
  local logsfx=""; [ "$arch" = "$host" ] || logsfx="-$arch"
  local clog="$updir/configure$logsfx.log" blog="$updir/build$logsfx.log"
  say "configuring $(build_key) in $bdir"
  cmake -S "$src" -B "$bdir" "${flags[@]}" >"$clog" 2>&1 ||
    { tail -30 "$clog" >&2; die "configure failed (full log: $clog)"; }
  say "building ${#targets[@]} targets with $jobs jobs (a fresh build takes a while)"
  cmake --build "$bdir" -j "$jobs" --target "${targets[@]}" >"$blog" 2>&1 ||
    { tail -40 "$blog" >&2; die "build failed (full log: $blog)"; }
  # rpc-server under its usual name, next to the other tools.
  ln -sf ggml-rpc-server "$bdir/bin/rpc-server"
  printf '%s\n' "$commit" "$(build_key)" >"$bdir/.rosenblatt-built"
  echo "$bdir/bin"
}

prefix() {
  local bdir; bdir=$(builddir)
  [ -f "$bdir/.rosenblatt-built" ] || die "no build for $(build_key) yet: run 'npm run setup' (or scripts/upstream.sh build)"
  echo "$bdir/bin"
}

case "${1:-}" in
  src) materialise ;;
  build) build ;;
  prefix) prefix ;;
  key) build_key ;;
  mode) build_mode ;;
  *) echo "usage: $0 src|build|prefix|key|mode" >&2; exit 2 ;;
esac
