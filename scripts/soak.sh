#!/usr/bin/env bash
# The soak (docs/reliability.md): MUL_MATs of every weight type through the plugin on the software NPU, with
# faults injected at random and non-finite activation rows planted, every other result checked against the
# CPU backend and resident memory watched (backend/plugin/tests/soak_plugin.c). TAP output.
#
#   scripts/soak.sh                 the CI run: a fixed seed, 300 matmuls (well under a minute)
#   scripts/soak.sh SECONDS         a time-bounded run, e.g. 3600
#   RKNPU_SOAK_SEED=N  another seed (default 1); RKNPU_SOAK_BUILD=DIR another build (default build/native)
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
soak=$root/${RKNPU_SOAK_BUILD:-build/native}/out/soak-plugin
ci_matmuls=300
if [ ! -x "$soak" ]; then
  echo "not ok 1 - $soak is not built (scripts/build-native.sh)"
  echo "1..1"
  exit 1
fi
args=(--seed "${RKNPU_SOAK_SEED:-1}")
if [ -n "${1:-}" ]; then args+=(--seconds "$1"); else args+=(--matmuls "$ci_matmuls"); fi
# the plugin's log (one ERROR line per injected fault) is not the result
exec "$soak" "${args[@]}" 2>/dev/null
