#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# shim_tdb_dax.sh -- a guest test for tests/dax/run.sh: tdb-tools' tdbtool,
# unmodified, under LD_PRELOAD=$DAX_SHIM_LIB with its database on the ext4
# DAX mount, then on the xfs one, the shim told nothing (no
# PMEMSHIM_DAX_PATHS).  Proves from the shim's own log and PMEMSHIM_STATS
# report that the database mapping was taken over by real-DAX detection and
# that every msync on it was served in user space (guest-lib.sh); then
# unmounts and remounts the file system and checks the database (tdbtool
# check, tdbdump) against a reference made without the shim on tmpfs.
# Needs tdbtool, tdbdump, tdb-workload.sh and guest-lib.sh in $DAX_FILES
# (CMake passes them with --file when tdb-tools is installed).
# Each mount is run twice: told nothing, and with PMEMSHIM_DAX=off and the
# mount listed in PMEMSHIM_DAX_PATHS -- a listed file the kernel maps as
# DAX must still be real DAX (MAP_SYNC, no userfaultfd tracking), never
# emulated (classify.c).
# shellcheck shell=dash
# shellcheck source=/dev/null
. "${DAX_FILES:?}/guest-lib.sh"
need tdbtool tdbdump
dump() { tdbdump "$1" | tr -d '\n' | sed 's/}{/}\n{/g' | sort; }

sh "$DAX_FILES/tdb-workload.sh" > script || fail "tdb-workload.sh"

# the reference: without the shim, on tmpfs
mkdir plain
(cd plain && tdbtool < "$W/script") > plain.out 2>&1 ||
	fail "tdbtool without the shim: $(tail -n 3 plain.out)"
dump plain/db.tdb > plain.dump

dax_mounts | while read -r mnt fs opt; do
	for how in told-nothing listed-with-dax-off; do
		db=$mnt/tdb r=$W/$fs-$how
		rm -rf "$db"
		mkdir "$db"
		if [ $how = told-nothing ]; then
			set -- tdbtool
		else
			set -- env PMEMSHIM_DAX=off PMEMSHIM_DAX_PATHS="$mnt" tdbtool
		fi
		shim_run "$r" "$db" "$@" < script ||
			fail "$fs: tdbtool under the shim ($how): $(tail -n 3 "$r/err")"
		sed 's/^/  /' "$r/stats.txt"
		# 300 transactions, each msyncs the map at least once
		check_shim "$r" "tdbtool on $fs-DAX ($how)" 300
		[ "$(stat "$r" maps_dirty_tracked)" = 0 ] ||
			fail "$fs ($how): a real-DAX mapping got userfaultfd tracking"

		remount "$mnt" "$fs" "$opt"
		echo check | tdbtool "$db/db.tdb" > "$r/check.out" 2>&1
		grep -q "integrity is OK" "$r/check.out" ||
			fail "$fs: tdbtool check after remount: $(cat "$r/check.out")"
		dump "$db/db.tdb" > "$r/dax.dump"
		n=$(wc -l < "$r/dax.dump")
		[ "$n" -gt 200 ] || fail "$fs: only $n records after remount"
		grep -q 'key(6) = "key299"' "$r/dax.dump" || fail "$fs: last insert missing after remount"
		same_data plain.dump "$r/dax.dump" "tdbtool on $fs-DAX"
		rm -rf "$db"
		echo "ok: tdbtool under the shim on $fs-DAX ($how), $n records identical to the reference after remount"
	done
done || exit 1
kernel_vs_shim "tdbtool on ext4-DAX" "$DAX_EXT4_DIR/tdb" tdbtool
echo PASS
