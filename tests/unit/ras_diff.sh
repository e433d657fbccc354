#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# ras_diff.sh -- run ras_diff against Debian's libpmem2 (the oracle) and
# ours, on tmpfs and on the build directory's file system, with each forced
# granularity; every transcript pair must be identical.
# usage: ras_diff.sh <ras_diff binary> <dir of our libpmem2.so.1>
bin=$1
ours=$2
oracle=${PMEM2_ORACLE_DIR:-/usr/lib/x86_64-linux-gnu}
if [ ! -e "$oracle/libpmem2.so.1" ]; then
	echo "SKIP: no Debian libpmem2 in $oracle"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ras_diff.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
dirs="/dev/shm $(dirname "$bin")"
fail=0
for gran in "" BYTE CACHE_LINE PAGE; do
	for side in oracle ours; do
		eval lib=\$$side
		env ${gran:+PMEM2_FORCE_GRANULARITY=$gran} LD_LIBRARY_PATH="$lib" \
			"$bin" $dirs >"$work/$side.out" 2>"$work/$side.err"
		if ! grep -q "^libpmem2: $lib/" "$work/$side.err"; then
			echo "FAIL: the $side run did not use $lib:"
			cat "$work/$side.err"
			exit 1
		fi
	done
	n=$(wc -l <"$work/ours.out")
	if diff -u "$work/oracle.out" "$work/ours.out"; then
		echo "ok: PMEM2_FORCE_GRANULARITY='$gran': $n lines identical"
	else
		echo "FAIL: PMEM2_FORCE_GRANULARITY='$gran' differs (above)"
		fail=1
	fi
done
exit $fail
