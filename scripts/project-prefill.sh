#!/usr/bin/env bash
# End-to-end projection of a Qwen2.5-1.5B prefill on the RK3588 (issue 12): the NPU timing MODEL (both
# bounds, 200 MHz and 1 GHz) plus host glue and the CPU share of the graph measured here and scaled to the
# A76 (ts/tools/project-prefill.ts says how). Needs perf (linux-perf) and the pinned llama.cpp.
#
#   scripts/project-prefill.sh [--out DIR] [--skip-glue]     default --out build/projection
#
# Builds first unless ROSENBLATT_NO_BUILD=1. Not a test (minutes, more on a shared host); record results in
# docs/performance.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
command -v perf >/dev/null || { echo "project-prefill: perf is required (apt-get install linux-perf)" >&2; exit 1; }
if [ "${ROSENBLATT_NO_BUILD:-0}" != 1 ]; then
  npx --no-install tsc -p .
  bash scripts/build-native.sh >/dev/null
fi
echo "# command: scripts/project-prefill.sh $*  ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) host cores)"
exec node dist/tools/project-prefill.js "$@"
