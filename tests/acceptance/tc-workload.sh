#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# tc-workload.sh -- the deterministic tokyocabinet workload of the
# acceptance tests (tokyocabinet.sh here, tests/shim/guest/shim_tc_dax.sh in
# the DAX guest), run in the current directory: db.tch gets TC_BATCHES
# (default 40) batches of 50 puts (tcamgr misc putlist), one delete and one
# "misc sync" (msync of the whole 64 MiB map, then fsync) each: 49 records
# per batch at the end (1960).
set -e
n=${TC_BATCHES:-40}
tcamgr create db.tch
b=0
while [ $b -lt "$n" ]; do
	args=""
	i=0
	while [ $i -lt 50 ]; do
		k=$((b * 50 + i))
		args="$args k$k v$k-$((k * 7919 % 10007))"
		i=$((i + 1))
	done
	# shellcheck disable=SC2086 # one argument per word
	tcamgr misc db.tch putlist $args > /dev/null
	tcamgr misc db.tch out "k$((b * 13))" > /dev/null 2>&1 || true
	tcamgr misc db.tch sync > /dev/null
	b=$((b + 1))
done
