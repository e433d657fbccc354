#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# shim_tdb_dax.sh -- a guest test for tests/dax/run.sh: tdb-tools' tdbtool,
# unmodified, under LD_PRELOAD=$PMEMSHIM_LIB with its database on the ext4
# DAX mount, the shim told nothing (no PMEMSHIM_DAX_PATHS).  Proves from
# the shim's own log and PMEMSHIM_STATS report that the database mapping
# was taken over by real-DAX detection and that every msync on it was
# served in user space; then unmounts and remounts the file system and
# checks the database (tdbtool check, tdbdump) against a reference made
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
# stat NAME -- a counter from the PMEMSHIM_STATS report
stat() { awk -v n="$1" '$2 == n { s += $3 } END { print s + 0 }' "$W/stats.txt"; }

sh "${DAX_FILES:?}/tdb-workload.sh" > script || fail "tdb-workload.sh"

# the reference: without the shim, on tmpfs
mkdir plain
(cd plain && tdbtool < "$W/script") > plain.out 2>&1 || fail "tdbtool without the shim: $(tail -n 3 plain.out)"
dump plain/db.tdb > plain.dump

# the run under test: the shim, ext4 DAX, detection left to the shim
db=$DAX_EXT4_DIR/tdb
rm -rf "$db"
mkdir "$db"
(cd "$db" && LD_PRELOAD=$PMEMSHIM_LIB PMEMSHIM_STATS=$W/stats.txt PMEMSHIM_LOG=2 \
	tdbtool < "$W/script") > dax.out 2> dax.err ||
	fail "tdbtool under the shim: $(tail -n 3 dax.err)"
[ -s stats.txt ] || fail "no PMEMSHIM_STATS report"
sed 's/^/  /' stats.txt

# the shim's classification log: real DAX, never emulated (and the
# report's maps_taken_real_dax below)
grep -q "is real DAX" dax.err || fail "the shim logged no real-DAX file: $(head -n 5 dax.err)"
! grep -q "emulated DAX" dax.err || fail "a file was classified emulated DAX"
taken=$(stat maps_taken_over)
real=$(stat maps_taken_real_dax)
nosync=$(stat maps_no_map_sync)
user=$(stat msync_user_space)
mixed=$(stat msync_mixed)
kern=$(stat msync_passed_on)
flushed=$(stat msync_bytes_flushed)
echo "@show [${DAX_PERSISTENCE:-?}] tdbtool on ext4-DAX under the shim: maps_taken_over=$taken maps_taken_real_dax=$real" \
	"msync_user_space=$user msync_mixed=$mixed msync_passed_on=$kern msync_bytes_flushed=$flushed" \
	"fsync_flushes=$(stat fsync_flushes)"
[ "$taken" -ge 1 ] || fail "maps_taken_over=$taken: the shim took no mapping"
[ "$real" = "$taken" ] || fail "maps_taken_real_dax=$real of maps_taken_over=$taken"
[ "$nosync" = 0 ] || fail "maps_no_map_sync=$nosync: the kernel refused MAP_SYNC"
# 300 transactions, each msyncs the map at least once
[ "$user" -ge 300 ] || fail "msync_user_space=$user, expected >= 300"
[ "$mixed.$kern" = 0.0 ] ||
	fail "msyncs of the DAX map went to the kernel (mixed $mixed, passed on $kern)"
[ "$flushed" -gt 0 ] || fail "msync_bytes_flushed=$flushed"

# unmount, remount, verify: what tdb wrote is on the (emulated) NVDIMM
dev=$(awk -v m="$DAX_EXT4_DIR" '$2 == m { print $1 }' /proc/mounts)
[ -n "$dev" ] || fail "$DAX_EXT4_DIR is not mounted"
umount "$DAX_EXT4_DIR" || fail "umount $DAX_EXT4_DIR"
echo 3 > /proc/sys/vm/drop_caches
mount -t ext4 -o dax "$dev" "$DAX_EXT4_DIR" || fail "remount $dev"
grep -q " $DAX_EXT4_DIR ext4 .*dax" /proc/mounts || fail "remounted without dax: $(grep " $DAX_EXT4_DIR " /proc/mounts)"
echo check | tdbtool "$db/db.tdb" > check.out 2>&1
grep -q "integrity is OK" check.out || fail "tdbtool check after remount: $(cat check.out)"
dump "$db/db.tdb" > dax.dump
n=$(wc -l < dax.dump)
[ "$n" -gt 200 ] || fail "only $n records after remount"
grep -q 'key(6) = "key299"' dax.dump || fail "last insert missing after remount"
cmp -s plain.dump dax.dump || fail "database after remount differs from the reference: $(diff plain.dump dax.dump | head -n 5)"
rm -rf "$db"
echo "PASS: tdbtool under the shim on ext4-DAX (real detection), $n records identical to the reference after remount"
