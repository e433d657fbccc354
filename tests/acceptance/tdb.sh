#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# tdb.sh -- tdb-tools' tdbtool: 300 transactions (each: msync of the
# header, of the changed pages and of the whole map, plus fdatasync) into a
# database on an emulated-DAX directory; checked with tdbtool's "check" and
# tdbdump run without the shim, and compared with a run without the shim.
. "$(dirname "$0")/lib.sh"
need_pkg tdbtool tdb-tools
need_pkg tdbdump tdb-tools

sh "$(dirname "$0")/tdb-workload.sh" > "$WORK/script"
mkdir "$WORK/plain" "$WORK/dax"
run_plain "$WORK/plain" tdbtool < "$WORK/script" > "$WORK/plain.out" 2>&1 ||
	fail "tdbtool without the shim"
run_shim "$WORK/dax" tdbtool < "$WORK/script" > "$WORK/dax.out" 2>&1 ||
	fail "tdbtool with the shim"
for d in plain dax; do
	echo check | tdbtool "$WORK/$d/db.tdb" > "$WORK/$d.check" 2>&1
	grep -q "integrity is OK" "$WORK/$d.check" ||
		fail "tdbtool check on the $d database: $(cat "$WORK/$d.check")"
	tdbdump "$WORK/$d/db.tdb" | tr -d '\n' | sed 's/}{/}\n{/g' | sort \
		> "$WORK/$d.dump" || fail "tdbdump $d"
done
n=$(wc -l < "$WORK/dax.dump")
[ "$n" -gt 200 ] || fail "only $n records"
cmp -s "$WORK/plain.dump" "$WORK/dax.dump" ||
	fail "contents differ from the run without the shim"
grep -q 'key(6) = "key299"' "$WORK/dax.dump" || fail "last insert missing"
check_takeover
# shellcheck disable=SC2016 # $0 is the inner shell's
bench_ratio tdbtool sh -c 'tdbtool < "$0"' "$WORK/script"
echo "PASS: tdbtool, $n records identical with and without the shim"
