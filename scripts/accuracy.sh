#!/usr/bin/env bash
# Perplexity and KL divergence of the RKNPU path against the CPU path on the same GGUF, in one run:
# the CPU run saves its logits, each NPU accuracy mode is compared with them.
#
#   scripts/accuracy.sh [MODEL.gguf [TEXT [CHUNKS]]]     (default: ../shared/models/tiny-qwen2 Q4_K_M + Q8_0,
#                                                         valid.txt, 100 chunks of 256 tokens)
# Environment: RKNPU_DEVICE (default sim here; rocket on a board), ACCURACY_MODES (default "auto int8 int8-had fp16"),
# ACCURACY_FA (default "auto": llama.cpp's default, flash attention on; "on off" adds rows with it off, where
# attention runs as the KQ/KQV MUL_MATs). The CPU baseline runs with the same -fa setting as the rows it anchors.
# RKNPU_CPU_SHARE (a share, not auto) splits the weight matmuls' rows with the CPU backend; the rows say so.
# Prints one Markdown table row per model, flash-attention setting and mode.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$("$root/scripts/upstream.sh" prefix)
plugin=$("$root/scripts/paths.sh" | sed -n 2p)
shared="$root/../shared/models/tiny-qwen2"
models=("${1:-$shared/tiny-qwen2-q4_k_m.gguf}")
[ $# -ge 1 ] || models+=("$shared/tiny-qwen2-q8_0.gguf")
text=${2:-$shared/valid.txt}
chunks=${3:-100}
modes=${ACCURACY_MODES:-auto int8 int8-had fp16}
fas=${ACCURACY_FA:-auto}
export RKNPU_DEVICE=${RKNPU_DEVICE:-sim}
for f in "${models[@]}" "$text"; do [ -f "$f" ] || { echo "accuracy: $f not found" >&2; exit 1; }; done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ppl() { # log of a --kl-divergence run, Q or base -> "PPL ± err"
  sed -n "s/^Mean PPL($2) *: *\([0-9.]*\) *± *\([0-9.]*\).*/\1 ± \2/p" "$1" | tail -1
}
kld() { sed -n 's/^Mean *KLD: *\([0-9.e+-]*\) *± *\([0-9.e+-]*\).*/\1 ± \2/p' "$1" | tail -1; }
top1() { sed -n 's/^Same top p: *\([0-9.]*\) *± *\([0-9.]*\).*/\1 ± \2 %/p' "$1" | tail -1; }

echo "| model | path | perplexity | mean KLD vs CPU | same top token |"
echo "|---|---|---|---|---|"
for model in "${models[@]}"; do
  name=$(basename "$model" .gguf)
  for fa in $fas; do
    common=(-m "$model" -f "$text" -c 256 --chunks "$chunks" -t "$(nproc)" -fa "$fa")
    tag= cputag=
    [ "$fa" = auto ] || tag=", fa $fa" cputag=" (fa $fa)"
    [ "${RKNPU_CPU_SHARE:-auto}" = auto ] || tag="$tag, CPU share $RKNPU_CPU_SHARE"
    base="$tmp/$name-fa-$fa.kld"
    env -u GGML_BACKEND_PATH "$bin/llama-perplexity" "${common[@]}" --kl-divergence-base "$base" >"$tmp/cpu.log" 2>&1 ||
      { tail -20 "$tmp/cpu.log" >&2; exit 1; }
    first=1
    for mode in $modes; do
      GGML_BACKEND_PATH="$plugin" RKNPU_MODE="$mode" "$bin/llama-perplexity" "${common[@]}" \
        --kl-divergence-base "$base" --kl-divergence >"$tmp/npu.log" 2>&1 || { tail -20 "$tmp/npu.log" >&2; exit 1; }
      grep -q 'RKNPU: RKNPU0 = ' "$tmp/npu.log" || { echo "accuracy: the plugin registered no NPU device" >&2; exit 1; }
      [ -z "$first" ] || echo "| $name | CPU$cputag | $(ppl "$tmp/npu.log" base) | – | – |"
      first=
      echo "| $name | RKNPU ($RKNPU_DEVICE, $mode$tag) | $(ppl "$tmp/npu.log" Q) | $(kld "$tmp/npu.log") | $(top1 "$tmp/npu.log") |"
      cp "$tmp/npu.log" "${ACCURACY_LOG_DIR:-$tmp}/$name-$mode-fa-$fa.log" 2>/dev/null || true
    done
  done
done
