#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# test_mapbench_usage.sh -- pmem2-mapbench's command line as a user meets
# it: --help (exit 0), bad arguments (one-line message naming the problem,
# usage, exit 2), a library that cannot be loaded (message, exit 77).  The
# benchmark itself is run by bench_mapbench_smoke.
#   test_mapbench_usage.sh BUILD/tools/pmem2-mapbench/pmem2-mapbench OUR_LIB
set -u
B=${1:?pmem2-mapbench}
OURS=${2:?our libpmem2.so.1}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$B" --help >"$W/out" 2>&1 || fail "--help exit $?"
grep -q "^usage: pmem2-mapbench OUR_LIB" "$W/out" || fail "--help text"
grep -q -- "--quick" "$W/out" && grep -q -- "--dir" "$W/out" ||
	fail "--help does not list every option"

bad() {
	want=$1; shift
	"$B" "$@" >"$W/out" 2>"$W/err"
	rc=$?
	[ $rc -eq 2 ] || fail "'$*': exit $rc, want 2"
	grep -q "^pmem2-mapbench: $want" "$W/err" ||
		fail "'$*': message '$(head -1 "$W/err")', want '$want'"
	grep -q "^usage:" "$W/err" || fail "'$*': no usage on stderr"
}
bad "no OUR_LIB given"
bad "unknown option '--bogus'" "$OURS" --bogus
bad "option needs a value: '--dir'" "$OURS" --dir
bad "too many arguments: 'x'" "$OURS" "$OURS" x

"$B" "$W/missing.so" --quick >"$W/out" 2>"$W/err"
rc=$?
[ $rc -eq 77 ] || fail "missing library: exit $rc, want 77"
grep -q "cannot load $W/missing.so" "$W/err" || fail "missing-library message"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "PASS: pmem2-mapbench --help and bad arguments"
