#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# tokyocabinet.sh -- tokyocabinet-bin's tcamgr on a hash database: batches
# of puts, each followed by "misc sync" (msync of the whole 64 MiB map,
# much larger than the file, then fsync); checked with tchmgr list and
# inform run without the shim, compared with a run without the shim.
. "$(dirname "$0")/lib.sh"
need_pkg tcamgr tokyocabinet-bin
need_pkg tchmgr tokyocabinet-bin

TCW=$(cd "$(dirname "$0")" && pwd)/tc-workload.sh
mkdir "$WORK/plain" "$WORK/dax"
run_plain "$WORK/plain" sh "$TCW" || fail "run without the shim"
run_shim "$WORK/dax" sh "$TCW" || fail "run with the shim"
for d in plain dax; do
	tchmgr list -pv "$WORK/$d/db.tch" | sort > "$WORK/$d.list" ||
		fail "tchmgr list $d"
	tchmgr inform "$WORK/$d/db.tch" | grep "record number" \
		> "$WORK/$d.inform" || fail "tchmgr inform $d"
done
n=$(wc -l < "$WORK/dax.list")
# 2000 puts, 40 deletes of distinct keys
[ "$n" -eq 1960 ] || fail "$n records, expected 1960"
grep -q "^record number: *1960" "$WORK/dax.inform" ||
	fail "inform: $(cat "$WORK/dax.inform")"
grep -q "^k1999	v1999-$((1999 * 7919 % 10007))\$" "$WORK/dax.list" ||
	fail "last record missing or wrong"
cmp -s "$WORK/plain.list" "$WORK/dax.list" ||
	fail "contents differ from the run without the shim"
check_takeover
bench_ratio tcamgr sh "$TCW"
echo "PASS: tokyocabinet, $n records identical with and without the shim"
