#!/usr/bin/env bash
# Build and sanity-check the ROCK 5 ITX / ITX+ NPU device-tree overlay.
#
#   kernel/build-overlay.sh [-o OUTDIR] [-b BASE.dtb] [-i SRC.dtso] [-k]
#
#   -o OUTDIR   where to write the results (default: <repo>/build/kernel)
#   -i SRC      overlay source (default: kernel/rock-5-itx-npu.dtso)
#   -b BASE.dtb also apply the overlay to this board dtb (e.g. the
#               rk3588-rock-5-itx.dtb your board boots) and check the result;
#               writes OUTDIR/rk3588-rock-5-itx-npu.dtb (merged, bootable as a
#               plain dtb when the bootloader cannot apply overlays)
#   -k          keep going after the first failed check (report all, still
#               exit non-zero)
#
# Outputs: OUTDIR/rock-5-itx-npu.dtbo and OUTDIR/rock-5-itx-npu.dtbo.dts (the
# overlay decompiled back, for review); with -i the name follows SRC.
#
# Checks (any failure -> exit 1; a missing tool -> exit 2; bad usage -> 64):
#   1. dtc compiles the overlay without errors or warnings;
#   2. the .dtbo decompiles again and its __fixups__ reference exactly the
#      labels we expect (pd_npu, rknn_core_0..2, rknn_mmu_0..2, vdd_npu_s0);
#   3. per label: the fragment aimed at each core sets status "okay" and
#      npu-supply + sram-supply from vdd_npu_s0; each MMU fragment sets
#      status "okay"; the pd_npu fragment sets domain-supply from vdd_npu_s0;
#   4. fdtoverlay applies the overlay to a small stand-in base tree that
#      carries the same labels, and the merged tree has the nodes enabled and
#      the supplies pointing at the regulator's phandle;
#   5. with -b: the same as 4 against the real board dtb (which must have been
#      built with `dtc -@`, i.e. carry /__symbols__).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
src="$here/rock-5-itx-npu.dtso"
outdir="$repo/build/kernel"
base=""
keep_going=0

usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while getopts ":o:b:i:kh" opt; do
	case "$opt" in
	o) outdir=$OPTARG ;;
	i) src=$OPTARG ;;
	b) base=$OPTARG ;;
	k) keep_going=1 ;;
	h) usage; exit 0 ;;
	:) echo "error: -$OPTARG needs an argument" >&2; usage >&2; exit 64 ;;
	*) echo "error: unknown option -$OPTARG" >&2; usage >&2; exit 64 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { echo "error: unexpected argument: $1" >&2; usage >&2; exit 64; }

# --- tools -------------------------------------------------------------------
missing=()
for t in dtc fdtget fdtoverlay; do
	command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "error: missing tool(s): ${missing[*]}" >&2
	echo "       install the device-tree compiler package, e.g." >&2
	echo "         Debian/Ubuntu: sudo apt-get install device-tree-compiler" >&2
	echo "         Fedora:        sudo dnf install dtc" >&2
	echo "         Arch:          sudo pacman -S dtc" >&2
	exit 2
fi
[ -r "$src" ] || { echo "error: overlay source not found: $src" >&2; exit 1; }
if [ -n "$base" ] && [ ! -r "$base" ]; then
	echo "error: base dtb not readable: $base" >&2
	exit 1
fi

mkdir -p "$outdir"
name=$(basename "$src")
dtbo="$outdir/${name%.dts*}.dtbo"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
passes=0
# Closing line in the 'N passed, N failed' form that CI log readers count.
summary() { echo "overlay: $passes passed, $failures failed"; }
pass() { printf '  ok    %s\n' "$*"; passes=$((passes + 1)); }
fail() {
	printf '  FAIL  %s\n' "$*" >&2
	failures=$((failures + 1))
	[ "$keep_going" -eq 1 ] || { summary; exit 1; }
}

# The labels the overlay must reference, and what it must do to each.
cores=(rknn_core_0 rknn_core_1 rknn_core_2)
mmus=(rknn_mmu_0 rknn_mmu_1 rknn_mmu_2)
supply=vdd_npu_s0
domain=pd_npu

# --- 1. compile --------------------------------------------------------------
echo "compile: $src"
if ! dtc -@ -I dts -O dtb -o "$dtbo" "$src" 2>"$work/dtc.err"; then
	cat "$work/dtc.err" >&2
	fail "dtc failed"
fi
if [ -s "$work/dtc.err" ]; then
	cat "$work/dtc.err" >&2
	fail "dtc printed warnings (treated as errors)"
else
	pass "dtc -@ -I dts -O dtb -> $dtbo ($(wc -c <"$dtbo") bytes)"
fi

# --- 2. decompile + label set --------------------------------------------------
echo "inspect: $dtbo"
if dtc -I dtb -O dts -o "$dtbo.dts" "$dtbo" 2>"$work/rev.err"; then
	pass "decompiles (listing: $dtbo.dts)"
else
	cat "$work/rev.err" >&2
	fail "the .dtbo does not decompile"
fi

want_labels=$(printf '%s\n' "$domain" "${cores[@]}" "${mmus[@]}" "$supply" | sort)
have_labels=$(fdtget -p "$dtbo" /__fixups__ 2>/dev/null | sort || true)
if [ "$want_labels" = "$have_labels" ]; then
	pass "__fixups__ = {$(echo $have_labels | tr ' ' ',')}"
else
	fail "__fixups__ labels differ; want {$(echo $want_labels)} have {$(echo $have_labels)}"
fi

# fixup entries look like "/fragment@N:target:0" or
# "/fragment@N/__overlay__:npu-supply:0"; fdtget prints a stringlist with
# spaces between the entries.
fixups_of() { fdtget "$dtbo" /__fixups__ "$1" 2>/dev/null | tr ' ' '\n'; }

# Fragment path that a label is the target of (empty if none or ambiguous).
fragment_of() {
	local hits
	hits=$(fixups_of "$1" | sed -n 's/^\(\/fragment@[0-9]*\):target:0$/\1/p')
	[ "$(printf '%s\n' "$hits" | grep -c .)" -eq 1 ] && printf '%s' "$hits"
}

supply_refs=$(fixups_of "$supply")
has_supply_ref() { printf '%s\n' "$supply_refs" | grep -qx "$1/__overlay__:$2:0"; }

# --- 3. per-label content ------------------------------------------------------
for label in "${cores[@]}" "${mmus[@]}" "$domain"; do
	frag=$(fragment_of "$label" || true)
	if [ -z "$frag" ]; then
		fail "$label: no single fragment targets it"
		continue
	fi
	case "$label" in
	rknn_core_*|rknn_mmu_*)
		st=$(fdtget "$dtbo" "$frag/__overlay__" status 2>/dev/null || true)
		[ "$st" = okay ] && pass "$label ($frag): status = \"okay\"" \
			|| fail "$label ($frag): status is '${st:-<unset>}', want okay"
		;;
	esac
	case "$label" in
	rknn_core_*)
		for p in npu-supply sram-supply; do
			has_supply_ref "$frag" "$p" && pass "$label: $p = <&$supply>" \
				|| fail "$label: $p does not reference &$supply"
		done
		;;
	"$domain")
		has_supply_ref "$frag" domain-supply && pass "$label: domain-supply = <&$supply>" \
			|| fail "$label: domain-supply does not reference &$supply"
		;;
	esac
done

# --- 4./5. apply to a base tree ------------------------------------------------
# check_merged BASE MERGED NAME: follow BASE's /__symbols__ to the node paths
# and compare against MERGED.
check_merged() {
	local b=$1 m=$2 name=$3 label path reg_path reg_ph ph st p
	for label in "$domain" "${cores[@]}" "${mmus[@]}" "$supply"; do
		if ! fdtget "$b" /__symbols__ "$label" >/dev/null 2>&1; then
			fail "$name: base has no symbol '$label' (not built with dtc -@, or the label was renamed)"
			return
		fi
	done
	reg_path=$(fdtget "$b" /__symbols__ "$supply")
	reg_ph=$(fdtget -t x "$m" "$reg_path" phandle 2>/dev/null || true)
	[ -n "$reg_ph" ] || { fail "$name: $supply ($reg_path) has no phandle after merge"; return; }
	for label in "${cores[@]}" "${mmus[@]}"; do
		path=$(fdtget "$b" /__symbols__ "$label")
		st=$(fdtget "$m" "$path" status 2>/dev/null || true)
		[ "$st" = okay ] && pass "$name: $path status = \"okay\"" \
			|| fail "$name: $path status is '${st:-<unset>}', want okay"
	done
	for label in "${cores[@]}"; do
		path=$(fdtget "$b" /__symbols__ "$label")
		for p in npu-supply sram-supply; do
			ph=$(fdtget -t x "$m" "$path" "$p" 2>/dev/null || true)
			[ "$ph" = "$reg_ph" ] && pass "$name: $path $p -> $reg_path" \
				|| fail "$name: $path $p is '${ph:-<unset>}', want phandle $reg_ph ($reg_path)"
		done
	done
	path=$(fdtget "$b" /__symbols__ "$domain")
	ph=$(fdtget -t x "$m" "$path" domain-supply 2>/dev/null || true)
	[ "$ph" = "$reg_ph" ] && pass "$name: $path domain-supply -> $reg_path" \
		|| fail "$name: $path domain-supply is '${ph:-<unset>}', want phandle $reg_ph"
}

# A stand-in for the mainline tree: same labels and the same kind of node
# paths, nothing else. It only proves that the fixups resolve and land on the
# right nodes; it is not a description of the SoC.
cat >"$work/standin.dts" <<'EOF'
/dts-v1/;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	power-management@fd8d8000 {
		power-controller {
			#address-cells = <1>;
			#size-cells = <0>;
			pd_npu: power-domain@8 { reg = <8>; #power-domain-cells = <0>; };
		};
	};
	i2c@fea90000 {
		reg = <0x0 0xfea90000 0x0 0x1000>;
		#address-cells = <1>;
		#size-cells = <0>;
		vdd_npu_s0: regulator@42 { reg = <0x42>; regulator-name = "vdd_npu_s0"; };
	};
	rknn_core_0: npu@fdab0000 { reg = <0x0 0xfdab0000 0x0 0x1000>; status = "disabled"; };
	rknn_mmu_0: iommu@fdab9000 { reg = <0x0 0xfdab9000 0x0 0x100>; status = "disabled"; };
	rknn_core_1: npu@fdac0000 { reg = <0x0 0xfdac0000 0x0 0x1000>; status = "disabled"; };
	rknn_mmu_1: iommu@fdaca000 { reg = <0x0 0xfdaca000 0x0 0x100>; status = "disabled"; };
	rknn_core_2: npu@fdad0000 { reg = <0x0 0xfdad0000 0x0 0x1000>; status = "disabled"; };
	rknn_mmu_2: iommu@fdada000 { reg = <0x0 0xfdada000 0x0 0x100>; status = "disabled"; };
};
EOF
echo "apply: stand-in base tree"
if dtc -@ -q -I dts -O dtb -o "$work/standin.dtb" "$work/standin.dts" &&
	fdtoverlay -i "$work/standin.dtb" -o "$work/standin-merged.dtb" "$dtbo" 2>"$work/ov.err"; then
	pass "fdtoverlay applied"
	check_merged "$work/standin.dtb" "$work/standin-merged.dtb" stand-in
else
	cat "$work/ov.err" >&2 2>/dev/null || true
	fail "fdtoverlay could not apply the overlay to the stand-in tree"
fi

if [ -n "$base" ]; then
	echo "apply: $base"
	merged="$outdir/rk3588-rock-5-itx-npu.dtb"
	if ! fdtget -p "$base" /__symbols__ >/dev/null 2>&1; then
		fail "$base has no /__symbols__: rebuild it with 'dtc -@' (kernel: make DTC_FLAGS=-@ dtbs) or the bootloader cannot apply any overlay to it"
	elif fdtoverlay -i "$base" -o "$merged" "$dtbo" 2>"$work/ovb.err"; then
		pass "fdtoverlay applied -> $merged"
		check_merged "$base" "$merged" board
	else
		cat "$work/ovb.err" >&2
		fail "fdtoverlay could not apply the overlay to $base"
	fi
fi

summary
if [ "$failures" -ne 0 ]; then
	echo "overlay check FAILED; see the FAIL lines above" >&2
	exit 1
fi
echo "overlay built and checked: $dtbo"
