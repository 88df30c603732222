#!/usr/bin/env bash
# Run the aarch64 build (scripts/build-aarch64.sh) and print TAP: on an x86_64 host every binary runs
# under user-mode qemu (qemu-aarch64 -L /usr/aarch64-linux-gnu, Debian's cross sysroot); on an
# aarch64 host (the board) it runs directly. Checks, in order:
#   1. the built files are AArch64 ELF objects
#   2. every test_* C unit test of backend/ (their TAP lines are passed through, prefixed)
#   3. npu-probe --device sim: int8 and fp16, on 1 and 3 cores
#   4. test-backend-ops -o MUL_MAT -b RKNPU0 with the plugin (GGML_BACKEND_PATH) on the sim
#      (RKNPU_DEVICE=sim). REDUCED SET: only the cases whose params match $mulmat_filter below
#      (108 of the 1681 MUL_MAT cases: 2-D, non-permuted, f32 activations, the weight types of a
#      Q4_K_M model plus f32/f16/q4_0/q8_0, m < 1000), because every case runs its CPU reference under
#      qemu too. ROSENBLATT_MULMAT_FILTER overrides it; set it empty for the full set. Then the same for
#      -o MUL_MAT_ID ($mulmatid_filter, 13 of 943 cases; ROSENBLATT_MULMATID_FILTER). While the
#      plugin registers no device, test-backend-ops has nothing to test: that is reported as a SKIP
#      (the plugin must still load), and becomes a real check once the plugin registers RKNPU0.
# Exit status non-zero when any check fails. Timings under qemu say nothing about the board.
#
#   scripts/test-aarch64.sh [backend out dir]    (default build/aarch64/out, or $ROSENBLATT_AARCH64_BUILD/out)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

die() { echo "test-aarch64: error: $*" >&2; exit 1; }
out=${1:-${ROSENBLATT_AARCH64_BUILD:-build/aarch64}/out}
[ -d "$out" ] || die "no aarch64 build in $out: run scripts/build-aarch64.sh first"
out=$(cd "$out" && pwd)
bin=$(ROSENBLATT_ARCH=aarch64 scripts/upstream.sh prefix) ||
  die "the pinned llama.cpp is not built for aarch64: run scripts/build-aarch64.sh first"
plugin="$out/libggml-rknpu.so"
step_timeout=${ROSENBLATT_AARCH64_TIMEOUT:-600}     # seconds per binary
mulmat_filter=${ROSENBLATT_MULMAT_FILTER-'type_a=(f32|f16|q8_0|q4_0|q4_K|q6_K),type_b=f32,m=[0-9]{1,3},n=[0-9]+,k=[0-9]+,bs=\[1,1\],nr=\[1,1\],per=\[0,1,2,3\],k_v=0,o=1'}
# MUL_MAT_ID: 4 experts, 2 per token, 17 and 32 tokens (8.5 and 16 rows per expert on average: at the default
# RKNPU_MIN_BATCH of 8 some experts run on the NPU and some on the CPU), b per slot and broadcast.
mulmatid_filter=${ROSENBLATT_MULMATID_FILTER-'type_a=(f16|q8_0|q4_0),type_b=f32,n_mats=4,n_used=2,b=[01],m=512,n=(17|32),k=256'}

sysroot=/usr/aarch64-linux-gnu
case "$(uname -m)" in
  aarch64|arm64) emulated=0 ;;
  *) emulated=1
     command -v qemu-aarch64 >/dev/null || die "qemu-aarch64 not found: apt-get install qemu-user"
     [ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] ||
       die "no aarch64 sysroot in $sysroot: apt-get install libc6-dev-arm64-cross (gcc-aarch64-linux-gnu)" ;;
esac
command -v timeout >/dev/null || die "timeout not found (coreutils)"

# target [VAR=value ...] program [args ...]: run an aarch64 program with that environment (plus the
# pinned libraries on LD_LIBRARY_PATH), through qemu when the host is not aarch64.
target() {
  local envs=("LD_LIBRARY_PATH=$bin")
  while [[ $# -gt 0 && $1 == [A-Za-z_]*=* ]]; do envs+=("$1"); shift; done
  if [ "$emulated" = 1 ]; then
    local qargs=() e
    envs+=("RK_TEST_EMULATED=1")   # tests skip checks that rest on native syscall timing
    for e in "${envs[@]}"; do qargs+=(-E "$e"); done
    timeout "$step_timeout" qemu-aarch64 -L "$sysroot" "${qargs[@]}" "$@"
  else
    timeout "$step_timeout" env "${envs[@]}" "$@"
  fi
}

n=0 failed=0
ok()     { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check()  { local desc=$1; shift; if "$@"; then ok "$desc"; else not_ok "$desc"; fi; }
diag()   { sed 's/^/# /'; }
skip()   { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "TAP version 13"
if [ "$emulated" = 1 ]; then
  echo "# aarch64 under $(qemu-aarch64 --version | head -1) with -L $sysroot (timings are not meaningful)"
else
  echo "# aarch64 native run on $(uname -n)"
fi
echo "# backend: $out"
echo "# pinned llama.cpp: $bin"

# 1. What was built is AArch64 (ELF e_machine 183), not a host binary by mistake.
is_aarch64() { [ -f "$1" ] && [ "$(od -An -tu2 -j18 -N2 "$1" | tr -d ' ')" = 183 ]; }
for f in "$plugin" "$out/npu-probe" "$bin/test-backend-ops" "$bin/libggml-base.so" "$bin/libggml-cpu.so"; do
  check "$(basename "$f") is an AArch64 ELF file" is_aarch64 "$f"
done

# 2. The C unit tests. Each binary's TAP lines are renumbered into this stream; the binary must also
#    exit 0 and print at least one result. Under qemu a failing binary gets up to $attempts runs and the
#    first clean one counts (said in a comment line). Checks that rest on native syscall timing
#    (test_device's dropped-job check expects a faked ioctl to return within 20 us) skip themselves
#    when RK_TEST_EMULATED=1, which target() sets under qemu; the retry is a safety net for any
#    other wall-clock check. The same tests run natively in test/native.test.ts and on the board.
mapfile -t tests < <(cd "$out" && ls | grep -E '^test_[a-z0-9_]+$' | sort)
[ "${#tests[@]}" -gt 0 ] && ok "C unit tests found: ${tests[*]}" || not_ok "C unit tests found in $out"
attempts=1; [ "$emulated" = 1 ] && attempts=${ROSENBLATT_QEMU_ATTEMPTS:-3}
for t in "${tests[@]}"; do
  for ((a = 1; a <= attempts; a++)); do
    set +e
    (cd "$out" && target "./$t") >"$tmp/$t.out" 2>"$tmp/$t.err"
    rc=$?
    set -e
    [ "$rc" = 0 ] && ! grep -q '^not ok' "$tmp/$t.out" && break
    [ "$rc" = 124 ] && break                        # a timeout is not retried
    if [ "$a" -lt "$attempts" ]; then
      echo "# $t: run $a of $attempts failed under qemu (exit $rc): $(grep '^not ok' "$tmp/$t.out" | head -3 | tr '\n' ' ')- running it again"
    fi
  done
  results=0
  while IFS= read -r line; do
    if [[ $line =~ ^(not\ ok|ok)[[:space:]]+[0-9]+[[:space:]]*(-[[:space:]]*)?(.*)$ ]]; then
      results=$((results + 1))
      desc="$t: ${BASH_REMATCH[3]}"
      if [ "${BASH_REMATCH[1]}" = ok ]; then ok "$desc"; else not_ok "$desc"; fi
    elif [[ $line == \#* ]]; then
      echo "$line"
    fi
  done <"$tmp/$t.out"
  [ "$results" -gt 0 ] && ok "$t: printed TAP results" || not_ok "$t: printed TAP results"
  if [ "$rc" = 0 ]; then ok "$t: exit status 0"
  else not_ok "$t: exit status $rc$([ "$rc" = 124 ] && echo " (timed out after ${step_timeout}s)")"; tail -20 "$tmp/$t.err" | diag; fi
done

# 3. npu-probe on the software NPU.
for dtype in int8 fp16; do
  for cores in 1 3; do
    desc="npu-probe --device sim --dtype $dtype --cores $cores"
    set +e
    target "$out/npu-probe" --device sim --dtype "$dtype" --cores "$cores" --json >"$tmp/probe.json" 2>"$tmp/probe.err"
    rc=$?
    set -e
    if [ "$rc" = 0 ] && grep -q '"ok":true' "$tmp/probe.json" && grep -q '"simulator":true' "$tmp/probe.json" &&
       grep -q "\"dtype\":\"$dtype\"" "$tmp/probe.json" && grep -q "\"cores\":$cores," "$tmp/probe.json"; then
      ok "$desc: ok, on the simulator"
    else
      not_ok "$desc: exit $rc"; { cat "$tmp/probe.json"; tail -20 "$tmp/probe.err"; } | diag
    fi
  done
done

# 3b. The glue micro-benchmark runs on aarch64 (NEON) and says its timings under qemu mean nothing.
set +e
target "$out/glue-bench" 1 >"$tmp/glue.txt" 2>&1
rc=$?
set -e
if [ "$rc" = 0 ] && grep -q 'vs neon' "$tmp/glue.txt" && grep -q 'under qemu-user these are emulation timings' "$tmp/glue.txt"; then
  ok "glue-bench runs the NEON glue (timings under qemu are not meaningful)"
else
  not_ok "glue-bench: exit $rc"; diag <"$tmp/glue.txt"
fi

# 4. test-backend-ops MUL_MAT and MUL_MAT_ID with the plugin on the sim (reduced sets under qemu).
# backend_ops OP FILTER: one run; every selected case must pass or be reported unsupported, none may fail.
backend_ops() {
  local op=$1 filter=$2 tbo_args=(-o "$1" -b RKNPU0)
  [ -n "$filter" ] && tbo_args+=(-p "$filter")
  echo "# test-backend-ops ${tbo_args[*]}"
  set +e
  target GGML_BACKEND_PATH="$plugin" RKNPU_DEVICE=sim "$bin/test-backend-ops" "${tbo_args[@]}" >"$tmp/tbo.out" 2>&1
  local rc=$?
  set -e
  local desc="test-backend-ops -o $op -b RKNPU0"
  [ -n "$filter" ] && desc="$desc (reduced set)"
  if grep -q 'loaded RKNPU backend from' "$tmp/tbo.out"; then ok "$desc: loads the plugin"
  else not_ok "$desc: loads the plugin"; tail -20 "$tmp/tbo.out" | diag; fi
  if grep -qE '^Backend [0-9]+/[0-9]+: RKNPU0$' "$tmp/tbo.out" &&
     ! grep -A1 -E '^Backend [0-9]+/[0-9]+: RKNPU0$' "$tmp/tbo.out" | grep -q '^  Skipping'; then
    # A real run. The status line names the backend (RKNPU), not the device (RKNPU0); only one backend is tested.
    local summary passed total unsupported
    summary=$(grep -oE '^  [0-9]+/[0-9]+ tests passed' "$tmp/tbo.out" | tail -1 | sed 's/^ *//')
    passed=${summary%%/*} total=$(echo "$summary" | sed -E 's|^[0-9]+/([0-9]+).*|\1|')
    unsupported=$(grep -c 'not supported' "$tmp/tbo.out" || true)
    if [ "$rc" = 0 ] && grep -qE '^  Backend [^ ]+: .*OK' "$tmp/tbo.out" && [ -n "$summary" ] &&
       [ "$passed" = "$total" ] && [ "$total" -gt 0 ]; then
      ok "$desc: $summary ($unsupported not supported by the device), 0 failures"
    else
      not_ok "$desc: exit $rc, ${summary:-no summary}"; grep -E 'FAIL' "$tmp/tbo.out" | head -20 | diag; tail -5 "$tmp/tbo.out" | diag
    fi
  elif [ "$rc" = 0 ]; then
    skip "$desc" "the plugin registers no RKNPU0 device"
    grep -E '^RKNPU:' "$tmp/tbo.out" | diag || true
  else
    not_ok "$desc: exit $rc"; tail -20 "$tmp/tbo.out" | diag
  fi
}
backend_ops MUL_MAT "$mulmat_filter"
backend_ops MUL_MAT_ID "$mulmatid_filter"

echo "1..$n"
[ "$failed" = 0 ] || { echo "# $failed of $n failed"; exit 1; }
echo "# all $n passed"
