#!/usr/bin/env bash
# Bounded fuzzing (backend/tools/fuzz, npu-fuzz) of the software NPU core, npu-replay's script parser, the
# memory image reader and the board profile reader, on the sanitizer build (scripts/sanitize.sh build), so an out-of-bounds access or
# undefined behaviour is a report and a crash. Output is TAP, one line per target, read by test/fuzz.test.ts.
#
#   scripts/fuzz.sh              the CI run: a fixed seed and a fixed number of inputs per target (the same
#                                inputs every time, about 45 s under ASan on 2 cores), capped at 150 s
#   RKNPU_FUZZ_SECONDS=3600 scripts/fuzz.sh    a longer run: as many inputs as fit, shared by the targets
#   RKNPU_FUZZ_SEED=N            another seed (default 1); RKNPU_FUZZ_BUILD=DIR another build (default
#                                build/sanitize)
# A finding prints the command that reproduces its input (npu-fuzz TARGET --seed S --start I --runs 1 -v).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
fuzz=${RKNPU_FUZZ_BUILD:-build/sanitize}/out/npu-fuzz
seed=${RKNPU_FUZZ_SEED:-1}
seconds=${RKNPU_FUZZ_SECONDS:-}
ci_cap_seconds=150
# inputs per target in the CI run, sized to a few seconds to half a minute each under ASan
declare -A ci_runs=([sim]=30000 [image]=100000 [script]=50000 [profile]=50000)

if [ ! -x "$fuzz" ]; then
  echo "not ok 1 - $fuzz is not built (scripts/sanitize.sh build)"
  echo "1..1"
  exit 1
fi
# Allocations up to just over the 4 GiB IOVA space are real, so a length that is believed but not backed by
# data shows as an overflow (a lower cap hid one: docs/reliability.md); beyond that an allocation fails like
# an out-of-memory instead of aborting, so the code's own -ENOMEM path runs.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:allocator_may_return_null=1:max_allocation_size_mb=4200}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

n=0
failed=0
targets=(sim image script profile)
for i in "${!targets[@]}"; do
  t=${targets[$i]}
  if [ -n "$seconds" ]; then
    args=(--runs 18446744073709551615 --seconds $((seconds / (${#targets[@]} - i))))
  else
    args=(--runs "${ci_runs[$t]}" --seconds $((ci_cap_seconds / ${#targets[@]})))
  fi
  t0=$(date +%s)
  out=$("$fuzz" "$t" --seed "$seed" "${args[@]}" 2>&1)
  rc=$?
  [ -n "$seconds" ] && seconds=$((seconds - ($(date +%s) - t0)))
  line=$(grep -E '^(not )?ok 1 - ' <<<"$out")
  n=$((n + 1))
  if [ "$rc" = 0 ] && [ -n "$line" ] && ! grep -q '^not ok' <<<"$out"; then
    echo "ok $n - ${line#ok 1 - } (seed $seed)"
  else
    failed=$((failed + 1))
    echo "not ok $n - $t (seed $seed): exit $rc${line:+: ${line#*ok 1 - }}"
    # the findings with their reproduction lines, or the sanitizer's report
    grep -E '^# (FINDING|reproduce)|^not ok' <<<"$out" | head -20 | sed 's/^#* */# /'
    grep -E -A20 'ERROR: (Address|Leak)Sanitizer|runtime error:' <<<"$out" | head -40 | sed 's/^/# /'
  fi
done
echo "1..$n"
[ "$failed" = 0 ]
