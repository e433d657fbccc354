#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# shim_tdb_dax.sh -- a guest test for tests/dax/run.sh: tdb-tools' tdbtool,
# unmodified, under LD_PRELOAD=$PMEMSHIM_LIB with its database on the ext4
# DAX mount, then on the xfs one, the shim told nothing (no
# PMEMSHIM_DAX_PATHS).  Proves from the shim's own log and PMEMSHIM_STATS
# report that the database mapping was taken over by real-DAX detection and
# that every msync on it was served in user space; then unmounts and
# remounts the file system and checks the database (tdbtool check, tdbdump) against a reference made
# without the shim on tmpfs.  Needs tdbtool, tdbdump and tdb-workload.sh
# in $DAX_FILES (CMake passes them with --file when tdb-tools is installed).
# shellcheck shell=dash
set -u
unset PMEMSHIM_DAX_PATHS PMEM2_FORCE_GRANULARITY PMEMSHIM_DAX PMEMSHIM_FILTER
fail() { echo "FAIL: $*"; exit 1; }
[ -n "${PMEMSHIM_LIB:-}" ] || { echo "SKIP: no libpmemshim.so in the guest"; exit 77; }
[ -n "${DAX_EXT4_DIR:-}" ] || fail "DAX_EXT4_DIR unset (guest setup)"
for c in tdbtool tdbdump; do
	command -v $c > /dev/null || { echo "SKIP: $c (tdb-tools) not in the guest"; exit 77; }
done
W=$PWD # the test's own directory, on tmpfs: not DAX
dump() { tdbdump "$1" | tr -d '\n' | sed 's/}{/}\n{/g' | sort; }
# stat DIR NAME -- a counter from the PMEMSHIM_STATS report in DIR
stat() { awk -v n="$2" '$2 == n { s += $3 } END { print s + 0 }' "$1/stats.txt"; }

sh "${DAX_FILES:?}/tdb-workload.sh" > script || fail "tdb-workload.sh"

# the reference: without the shim, on tmpfs
mkdir plain
(cd plain && tdbtool < "$W/script") > plain.out 2>&1 || fail "tdbtool without the shim: $(tail -n 3 plain.out)"
dump plain/db.tdb > plain.dump

# on_fs MOUNT FSTYPE DAXOPT -- the run under test: the shim, a DAX mount,
# detection left to the shim; then unmount, remount and verify
on_fs() {
	mnt=$1 fs=$2 opt=$3
	db=$mnt/tdb
	rm -rf "$db" "${W:?}/$fs"
	mkdir "$db" "$W/$fs"
	r=$W/$fs
	(cd "$db" && LD_PRELOAD=$PMEMSHIM_LIB PMEMSHIM_STATS=$r/stats.txt PMEMSHIM_LOG=2 \
		tdbtool < "$W/script") > "$r/dax.out" 2> "$r/dax.err" ||
		fail "$fs: tdbtool under the shim: $(tail -n 3 "$r/dax.err")"
	[ -s "$r/stats.txt" ] || fail "$fs: no PMEMSHIM_STATS report"
	sed 's/^/  /' "$r/stats.txt"

	# the shim's classification log: real DAX, never emulated (and the
	# report's maps_taken_real_dax below)
	grep -q "is real DAX" "$r/dax.err" || fail "$fs: the shim logged no real-DAX file: $(head -n 5 "$r/dax.err")"
	! grep -q "emulated DAX" "$r/dax.err" || fail "$fs: a file was classified emulated DAX"
	taken=$(stat "$r" maps_taken_over)
	real=$(stat "$r" maps_taken_real_dax)
	nosync=$(stat "$r" maps_no_map_sync)
	user=$(stat "$r" msync_user_space)
	mixed=$(stat "$r" msync_mixed)
	kern=$(stat "$r" msync_passed_on)
	flushed=$(stat "$r" msync_bytes_flushed)
	echo "@show [${DAX_PERSISTENCE:-?}] tdbtool on $fs-DAX under the shim: maps_taken_over=$taken" \
		"maps_taken_real_dax=$real msync_user_space=$user msync_mixed=$mixed msync_passed_on=$kern" \
		"msync_bytes_flushed=$flushed fsync_flushes=$(stat "$r" fsync_flushes)" \
		"truncate_flushes=$(stat "$r" truncate_flushes)"
	[ "$taken" -ge 1 ] || fail "$fs: maps_taken_over=$taken: the shim took no mapping"
	[ "$real" = "$taken" ] || fail "$fs: maps_taken_real_dax=$real of maps_taken_over=$taken"
	[ "$nosync" = 0 ] || fail "$fs: maps_no_map_sync=$nosync: the kernel refused MAP_SYNC"
	# 300 transactions, each msyncs the map at least once
	[ "$user" -ge 300 ] || fail "$fs: msync_user_space=$user, expected >= 300"
	[ "$mixed.$kern" = 0.0 ] ||
		fail "$fs: msyncs of the DAX map went to the kernel (mixed $mixed, passed on $kern)"
	[ "$flushed" -gt 0 ] || fail "$fs: msync_bytes_flushed=$flushed"

	# unmount, remount, verify: what tdb wrote is on the (emulated) NVDIMM
	dev=$(awk -v m="$mnt" '$2 == m { print $1 }' /proc/mounts)
	[ -n "$dev" ] || fail "$mnt is not mounted"
	umount "$mnt" || fail "umount $mnt"
	echo 3 > /proc/sys/vm/drop_caches
	mount -t "$fs" -o "$opt" "$dev" "$mnt" || fail "remount $dev on $mnt"
	grep -q " $mnt $fs .*dax" /proc/mounts || fail "remounted without dax: $(grep " $mnt " /proc/mounts)"
	echo check | tdbtool "$db/db.tdb" > "$r/check.out" 2>&1
	grep -q "integrity is OK" "$r/check.out" || fail "$fs: tdbtool check after remount: $(cat "$r/check.out")"
	dump "$db/db.tdb" > "$r/dax.dump"
	n=$(wc -l < "$r/dax.dump")
	[ "$n" -gt 200 ] || fail "$fs: only $n records after remount"
	grep -q 'key(6) = "key299"' "$r/dax.dump" || fail "$fs: last insert missing after remount"
	cmp -s plain.dump "$r/dax.dump" ||
		fail "$fs: database after remount differs from the reference: $(diff plain.dump "$r/dax.dump" | head -n 5)"
	rm -rf "$db"
	echo "ok: tdbtool under the shim on $fs-DAX (real detection), $n records identical to the reference after remount"
}

on_fs "$DAX_EXT4_DIR" ext4 dax
[ -z "${DAX_XFS_DIR:-}" ] || on_fs "$DAX_XFS_DIR" xfs dax=always
echo "PASS"
