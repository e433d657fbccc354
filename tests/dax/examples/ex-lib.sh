# SPDX-License-Identifier: BSD-3-Clause
# ex-lib.sh - helpers sourced by the guest's ex-*.sh tests (busybox sh).
# shellcheck shell=dash

FAILS=0
ok() { echo "ok:   $*"; }
bad() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
# need VAR... -- skip outside the guest, fail if the guest lacks one
need() {
	[ -n "${DAX_EXT4_DIR:-}${DAX_XFS_DIR:-}${DAX_DEV:-}" ] ||
		{ echo "SKIP: not inside the DAX guest (no DAX_* variables)"; exit 77; }
	for v in "$@"; do
		eval "[ -n \"\${$v:-}\" ]" || { echo "FAIL: \$$v not set (guest setup failed?)"; exit 1; }
	done
}
# expect DESC GOT WANT
expect() {
	if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi
}
# hexstr STRING -- "68 65 ..." in upper case, the format of PMDK's advanced
hexstr() { printf '%s' "$1" | od -An -v -tx1 | tr 'a-f\n' 'A-F '  | tr -s ' ' | sed 's/^ //; s/ $//'; }
# squash TEXT -- collapse all white space to single blanks
squash() { echo "$1" | tr -s ' \n' '  ' | sed 's/^ //; s/ $//'; }
# mkfile PATH MIB -- a zero-filled file
mkfile() { rm -f "$1"; dd if=/dev/zero of="$1" bs=1M count="$2" 2>/dev/null; }
# run DESC CMD... -- run, report a non-zero exit, leave stdout+stderr in $OUT
run() {
	desc=$1
	shift
	rc=0
	OUT=$("$@" 2>&1) || rc=$?
	[ "$rc" != 0 ] || return 0
	bad "$desc: exit status $rc from $*: $OUT"
	return 1
}
done_tests() { echo "$FAILS failed check(s)"; [ "$FAILS" = 0 ]; }
