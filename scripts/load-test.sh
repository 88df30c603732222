#!/usr/bin/env bash
# The load-test figures of docs/reliability.md: stock llama-server, CPU only and with the plugin on the
# software NPU, the same seeded requests (ts/tools/load-test.ts), then NPU faults injected at a low rate.
#
#   scripts/load-test.sh MODEL.gguf [OUT_DIR]        default OUT_DIR build/load
#
# LOAD_REQUESTS (default 200), LOAD_CLIENTS (8), LOAD_SLOTS (4), LOAD_N_PREDICT (12), LOAD_FAULT_RATE (one NPU
# job in this many faults, default 3000). Each configuration answers every request alone first (the
# reference), then under load; on a 2-core host the whole set takes about an hour. Builds the TypeScript first
# unless ROSENBLATT_NO_BUILD=1. Every run is on loopback and bounded (requests and --time-limit-s).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
model=${1:?usage: scripts/load-test.sh MODEL.gguf [OUT_DIR]}
model=$(cd "$(dirname "$model")" && pwd)/$(basename "$model")
out=${2:-$root/build/load}
cd "$root"
[ "${ROSENBLATT_NO_BUILD:-0}" = 1 ] || npx --no-install tsc -p .
mkdir -p "$out"
rate=${LOAD_FAULT_RATE:-3000}
common=(--model "$model" --requests "${LOAD_REQUESTS:-200}" --clients "${LOAD_CLIENTS:-8}" --slots "${LOAD_SLOTS:-4}"
  --n-predict "${LOAD_N_PREDICT:-12}" --time-limit-s 7200)
echo "# scripts/load-test.sh $(basename "$model")  ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) host cores)"
status=0
run() { node dist/tools/load-test.js "${common[@]}" "$@" 2>/dev/null || status=1; echo; }
run --server cpu --out "$out/cpu.json"
run --server npu --out "$out/npu.json"
# routing by the weight instead of the batch: every matmul the NPU takes, whatever the batch
run --server npu --min-batch 1 --out "$out/npu-min-batch-1.json"
for kind in dma reset; do
  run --server npu --fault "$kind%$rate" --reference "$out/npu.json" --out "$out/npu-fault-$kind.json"
done
# the two servers' references (one request at a time) against each other: the NPU's arithmetic, not the load
node dist/tools/load-test.js compare "$out/cpu.json" "$out/npu.json"
node dist/tools/load-test.js compare "$out/cpu.json" "$out/npu-min-batch-1.json"
exit $status
