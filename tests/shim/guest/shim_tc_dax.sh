#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# shim_tc_dax.sh -- a guest test for tests/dax/run.sh: tokyocabinet's
# tcamgr, unmodified, under LD_PRELOAD=$DAX_SHIM_LIB with its hash database
# on the ext4 DAX mount, then on the xfs one, the shim told nothing.  The
# workload (tc-workload.sh, 8 batches here: every tcamgr start costs about
# 0.1 s under TCG) starts tcamgr 24 times; each "misc sync" msyncs the
# whole 64 MiB map, far past the end of the file.  Proves real-
# DAX takeover and user-space msync from the shim's log and reports
# (guest-lib.sh), then unmounts, remounts and compares tchmgr's listing
# with a reference made without the shim on tmpfs.  Needs tcamgr, tchmgr,
# tc-workload.sh and guest-lib.sh in $DAX_FILES.
# shellcheck shell=dash
# shellcheck source=/dev/null
. "${DAX_FILES:?}/guest-lib.sh"
need tcamgr tchmgr
list() { tchmgr list -pv "$1" | sort; }
export TC_BATCHES=8
records=$((TC_BATCHES * 49))

# the reference: without the shim, on tmpfs
mkdir plain
(cd plain && sh "$DAX_FILES/tc-workload.sh") > plain.out 2>&1 ||
	fail "workload without the shim: $(tail -n 3 plain.out)"
list plain/db.tch > plain.list
# 50 puts and a delete of a distinct key per batch
[ "$(wc -l < plain.list)" -eq $records ] || fail "reference: $(wc -l < plain.list) records, not $records"

dax_mounts | while read -r mnt fs opt; do
	db=$mnt/tc r=$W/$fs
	rm -rf "$db"
	mkdir "$db"
	shim_run "$r" "$db" sh "$DAX_FILES/tc-workload.sh" < /dev/null ||
		fail "$fs: workload under the shim: $(tail -n 3 "$r/err")"
	# one "misc sync" per batch
	check_shim "$r" "tcamgr on $fs-DAX" $TC_BATCHES

	remount "$mnt" "$fs" "$opt"
	list "$db/db.tch" > "$r/dax.list"
	tchmgr inform "$db/db.tch" | grep -q "^record number: *$records\$" ||
		fail "$fs: inform after remount: $(tchmgr inform "$db/db.tch" | grep record)"
	same_data plain.list "$r/dax.list" "tcamgr on $fs-DAX"
	rm -rf "$db"
	echo "ok: tcamgr under the shim on $fs-DAX, $records records identical to the reference after remount"
done || exit 1
echo PASS
