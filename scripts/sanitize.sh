#!/usr/bin/env bash
# The sanitizer stage: backend/ built with AddressSanitizer + UBSan (cmake option RKNPU_SANITIZE; UBSan is
# fatal, -fno-sanitize-recover) into build/sanitize, then on that build: every C unit test, the plugin's own
# test (test_plugin), a short soak (soak-plugin) and one stock-tool run, test-backend-ops MUL_MAT on RKNPU0 with the
# simulator. Output is
# TAP, one line per run, read by test/sanitize.test.ts; a run passes when it exits 0, all its own checks
# passed and no sanitizer wrote a report.
#
#   scripts/sanitize.sh [build|test|all]      default: all (build, then test)
#
# RKNPU_SANITIZE_FULL=1 runs test-backend-ops over every MUL_MAT case (about 2 minutes under ASan on 2
# cores); by default a subset covering every weight-type family and both batch regimes. The fuzzers run on
# this build too (scripts/fuzz.sh).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out_dir=build/sanitize
bin_dir=$out_dir/out
what=${1:-all}
soak_matmuls=100
tbo_subset='type_a=(f32|f16|bf16|q8_0|q4_0|q4_K|q6_K|iq4_nl|iq2_xxs|mxfp4),.*k=256'

# Reports go to stderr; with halt_on_error every first report ends the process. Leak checking stays on.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:strict_string_checks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
report_re='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer'

n=0
failed=0
ok_line() { n=$((n + 1)); echo "ok $n - $*"; }
fail_line() {
  n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
  [ -n "${2:-}" ] && sed 's/^/# /' <<<"$2"
}

build() {
  local t0 log=/tmp/rosenblatt-sanitize-build.$$.log
  t0=$(date +%s)
  # RelWithDebInfo: reports name files and lines
  if ROSENBLATT_NATIVE_BUILD=$out_dir bash scripts/build-native.sh --CDRKNPU_SANITIZE=ON \
    --CDCMAKE_BUILD_TYPE=RelWithDebInfo >"$log" 2>&1; then
    ok_line "sanitizer build (ASan + UBSan, RelWithDebInfo) in $out_dir ($(($(date +%s) - t0)) s)"
  else
    fail_line "sanitizer build in $out_dir" "$(tail -30 "$log")"
  fi
  rm -f "$log"
}

# run NAME OK_RE FAIL_RE CMD...: one TAP line for the command; its own result lines (matching OK_RE and
# FAIL_RE) are counted, not echoed
run() {
  local name=$1 ok_re=$2 fail_re=$3 t0 rc stdout stderr
  shift 3
  t0=$(date +%s%N)
  stdout=$(mktemp) stderr=$(mktemp)
  "$@" >"$stdout" 2>"$stderr"
  rc=$?
  local tenths passed notok reports secs
  tenths=$((($(date +%s%N) - t0) / 100000000))
  secs="$((tenths / 10)).$((tenths % 10))"
  passed=$(grep -cE "$ok_re" "$stdout")
  notok=$(grep -cE "$fail_re" "$stdout")
  reports=$(grep -cE "$report_re" "$stderr")
  if [ "$rc" = 0 ] && [ "$notok" = 0 ] && [ "$passed" -gt 0 ] && [ "$reports" = 0 ]; then
    ok_line "$name: exit 0, $passed checks passed, no sanitizer report ($secs s)"
  else
    fail_line "$name: exit $rc, $notok of $((passed + notok)) checks failed, $reports sanitizer report(s) ($secs s)" \
      "$( (grep -E -A3 "$fail_re" "$stdout" | head -20; grep -E -B2 -A25 "$report_re" "$stderr" | head -60
        [ "$reports" = 0 ] && tail -15 "$stderr") 2>/dev/null)"
  fi
  rm -f "$stdout" "$stderr"
}

test_all() {
  if [ ! -x "$bin_dir/test_npusim" ]; then
    fail_line "no sanitizer build in $out_dir: run scripts/sanitize.sh build"
    return
  fi
  for t in "$bin_dir"/test_*; do
    [ -x "$t" ] || continue
    # test_plugin forks children and loads the plugin of this build into itself: all instrumented.
    # RK_TEST_EMULATED: ASan makes every call several times slower, as an emulator does, so the checks that
    # rest on native syscall timing (the dropped-job rules of device/npu_fence.c) are skipped here; the
    # normal stage (test/native.test.ts) runs them.
    cd "$bin_dir" && run "$(basename "$t")" '^ok ' '^not ok ' env RK_TEST_EMULATED=1 "./$(basename "$t")"
    cd "$root"
  done
  # a short soak: the fault paths (reset, dropped, slow, dma) and the non-finite rows' CPU path, with leaks checked
  run "soak-plugin --matmuls $soak_matmuls (faults and non-finite rows)" '^ok ' '^not ok ' \
    "$bin_dir/soak-plugin" --matmuls "$soak_matmuls"
  # The pinned llama.cpp is not instrumented, so its test-backend-ops does not start the ASan runtime, and
  # ASan must be the first library of a process to intercept malloc and friends: dlopen'ing the instrumented
  # plugin into it would abort ("ASan runtime does not come first"). Preloading the runtime the plugin was
  # linked against makes it first; the upstream code then allocates through ASan too, so leaks there are
  # reported as well (there are none at this pin).
  local asan_rt bin
  asan_rt=$(ldd "$bin_dir/libggml-rknpu.so" | awk '/libasan/ { print $3 }')
  [ -n "$asan_rt" ] || asan_rt=$(gcc -print-file-name=libasan.so)
  bin=$(scripts/upstream.sh prefix)
  local filter=(-p "$tbo_subset") label="subset: $tbo_subset"
  [ "${RKNPU_SANITIZE_FULL:-0}" = 1 ] && filter=() label="every case"
  run "test-backend-ops -o MUL_MAT -b RKNPU0 ($label), RKNPU_DEVICE=sim, LD_PRELOAD=$(basename "$asan_rt")" \
    '^  MUL_MAT.*: .*OK' '^  MUL_MAT.*: .*FAIL' env LD_PRELOAD="$asan_rt" GGML_BACKEND_PATH="$bin_dir/libggml-rknpu.so" RKNPU_DEVICE=sim \
    "$bin/test-backend-ops" -o MUL_MAT -b RKNPU0 "${filter[@]}"
}

case "$what" in
build) build ;;
test) test_all ;;
all) build; [ "$failed" = 0 ] && test_all ;;
*) echo "usage: scripts/sanitize.sh [build|test|all]" >&2; exit 64 ;;
esac
echo "1..$n"
[ "$failed" = 0 ]
