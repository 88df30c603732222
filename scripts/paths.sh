#!/usr/bin/env bash
# Print where things are: line 1 the bin dir of the pinned llama.cpp build (llama-completion,
# llama-server, llama-bench, rpc-server, test-backend-ops, ...), line 2 the built plugin.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$("$root/scripts/upstream.sh" prefix)
plugin="${ROSENBLATT_NATIVE_BUILD:-$root/build/native}/out/libggml-rknpu.so"
[ -f "$plugin" ] || { echo "paths: plugin not built: run 'npm run setup'" >&2; exit 1; }
echo "$bin"
echo "$plugin"
