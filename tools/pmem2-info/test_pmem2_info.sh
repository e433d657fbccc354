#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# test_pmem2_info.sh -- pmem2-info as a script would use it: its exit codes
# (0 all DAX, 1 some not DAX, 2 error) on tmpfs, a disk directory, /dev/null,
# a directory, a missing path; the values it prints against stat(1); --help
# and bad usage.
#   test_pmem2_info.sh BUILD/tools/pmem2-info/pmem2-info
set -u
I=${1:?pmem2-info}
W=$(mktemp -d /dev/shm/pmem2-info.XXXXXX)
D=$(mktemp -d "${TMPDIR:-/var/tmp}/pmem2-info.XXXXXX")
trap 'rm -rf "$W" "$D"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
unset PMEM2_FORCE_GRANULARITY

# run WANT_RC ARGS... -- output in $W/out, exit code checked
run() {
	want=$1; shift
	"$I" "$@" >"$W/out" 2>"$W/err"
	rc=$?
	[ $rc -eq "$want" ] || { fail "pmem2-info $*: exit $rc, want $want";
		cat "$W/out" "$W/err"; }
}
has() { grep -q -- "$1" "$W/out" || fail "output lacks '$1'"; }

"$I" --help >"$W/out" || fail "--help exit $?"
grep -q "exit status" "$W/out" || fail "--help does not document exit codes"
run 2
grep -q "^pmem2-info: no PATH given" "$W/err" || fail "no-PATH message"
run 2 --frobnicate "$W"
grep -q "^pmem2-info: unknown option '--frobnicate'" "$W/err" ||
	fail "bad-option message"

truncate -s 8M "$W/f"
run 1 "$W/f"
has "type: *regular file"
has "MAP_SYNC probe: *refused"
has "granularity: *PAGE"
has "size: *$(stat -c %s "$W/f") bytes"
has "alignment: *$(getconf PAGESIZE) bytes"
has "NUMA node: *unavailable (PMEM2_E_[A-Z_]*): ."
has "bad blocks: *none listed (not on persistent memory)"
has "verdict: *not DAX"

PMEM2_FORCE_GRANULARITY=CACHE_LINE run 0 "$W/f"
has "granularity: *CACHE_LINE"
has "forced by PMEM2_FORCE_GRANULARITY"
PMEM2_FORCE_GRANULARITY=BYTE run 0 "$W/f"
has "granularity: *BYTE"

# a file on the disk the build lives on (not DAX on this machine)
truncate -s 1M "$D/f"
[ "$(stat -f -c %T "$D")" = tmpfs ] && echo "note: $D is tmpfs too"
run 1 "$D/f"
has "granularity: *PAGE"
run 1 /dev/null
has "character device (not device DAX)"
has "libpmem2: *not usable (PMEM2_E_[A-Z_]*): .*not device DAX"
run 1 "$W"
has "type: *directory"
run 2 "$W/missing"
has "cannot open: No such file or directory"
: >"$W/empty"
run 1 "$W/empty"
has "cannot map (PMEM2_E_[A-Z_]*): "

# the worst verdict wins: DAX + not DAX = 1, anything + missing = 2
PMEM2_FORCE_GRANULARITY=CACHE_LINE run 0 "$W/f" "$W/f"
run 1 "$W/f" /dev/null
PMEM2_FORCE_GRANULARITY=CACHE_LINE run 2 "$W/f" "$W/missing" /dev/null
[ "$(grep -c ':$' "$W/out")" -eq 3 ] || fail "not one report per path"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "PASS: pmem2-info"
