#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# info_dax.sh -- a guest test for tests/dax/run.sh: tools/pmem2-info on real
# DAX (ext4 -o dax, xfs -o dax=always, device DAX) must say DAX and exit 0,
# with the kernel's signals agreeing (MAP_SYNC accepted, statx DAX flag set
# on the file systems) and the granularity the platform gives (CACHE_LINE
# under ADR, BYTE under eADR); a file on the guest's tmpfs must exit 1, a
# missing path 2.  Needs pmem2-info copied in (--file).  Its reports are
# shown ("@show ").
# shellcheck shell=dash
set -u
unset PMEM2_FORCE_GRANULARITY
command -v pmem2-info >/dev/null ||
	{ echo "SKIP: pmem2-info not in the guest (run.sh --file)"; exit 77; }
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
case ${DAX_PERSISTENCE:-mem-ctrl} in
cpu) gran=BYTE ;;
*) gran=CACHE_LINE ;;
esac

# check TARGET WANT_RC PATTERN... -- run, show, compare
check() {
	t=$1 want=$2
	shift 2
	pmem2-info "$t" >info.out 2>&1
	rc=$?
	sed "s/^/@show [${DAX_PERSISTENCE:-?}] /" info.out
	[ $rc -eq "$want" ] || fail "$t: exit $rc, want $want"
	for p in "$@"; do
		grep -q -- "$p" info.out || fail "$t: no '$p'"
	done
}

for d in "${DAX_EXT4_DIR:-}" "${DAX_XFS_DIR:-}"; do
	[ -n "$d" ] || { fail "a DAX file system is missing (guest setup)"; continue; }
	f=$d/info.dat
	dd if=/dev/zero of="$f" bs=1M count=4 2>/dev/null || fail "create $f"
	check "$f" 0 "type: *regular file" "statx DAX flag: *set" \
		"MAP_SYNC probe: *accepted" "granularity: *$gran " \
		"verdict: *DAX$" "device id: *[^u ]" "NUMA node: *[0-9]"
	rm -f "$f"
done
if [ -n "${DAX_DEV:-}" ]; then
	check "$DAX_DEV" 0 "type: *device DAX" "subsystem dax" \
		"MAP_SYNC probe: *not needed" \
		"granularity: *$gran " "verdict: *DAX$" "alignment: *[0-9]"
else
	fail "DAX_DEV unset (guest setup)"
fi
dd if=/dev/zero of="${NODAX_DIR:-/tmp}/info.dat" bs=1M count=1 2>/dev/null
check "${NODAX_DIR:-/tmp}/info.dat" 1 "granularity: *PAGE" "verdict: *not DAX"
check /nonexistent 2 "cannot open"

[ $fails -eq 0 ] || exit 1
echo "PASS: pmem2-info on ext4-DAX, xfs-DAX, devdax, tmpfs, a missing path"
