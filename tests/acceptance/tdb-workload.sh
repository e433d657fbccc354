#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# tdb-workload.sh -- print the deterministic tdbtool script of the tdb
# acceptance tests (tdb.sh here, tests/shim/guest/shim_tdb_dax.sh in the
# DAX guest): 300 transactions of inserts, stores and deletes on db.tdb.
i=0
echo "create db.tdb"
while [ $i -lt 300 ]; do
	echo "transaction_start"
	echo "insert key$i value-$i-$(printf '%0*d' $((i % 200)) 0)"
	[ $i -ge 10 ] && echo "store key$((i - 10)) updated-$i"
	[ $((i % 7)) = 0 ] && [ $i -ge 20 ] && echo "delete key$((i - 20))"
	echo "transaction_commit"
	i=$((i + 1))
done
echo "quit"
