#!/usr/bin/env bash
# Everything `npm install` needs after the npm packages: TypeScript, the pinned llama.cpp (cached
# outside the repo, reused when present), the native backend and plugin, the default model.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
need() { command -v "$1" >/dev/null || { echo "setup: '$1' is required ($2)" >&2; exit 1; }; }
need cmake "apt-get install cmake"
need g++ "apt-get install g++"
need git "apt-get install git"
echo "setup: compiling TypeScript" >&2
npx --no-install tsc -p .
scripts/upstream.sh build >/dev/null
mkdir -p build
echo "setup: building the native backend" >&2
scripts/build-native.sh >build/native-build.log 2>&1 || { tail -30 build/native-build.log >&2; exit 1; }
scripts/make-default-model.sh >/dev/null
scripts/paths.sh >&2
