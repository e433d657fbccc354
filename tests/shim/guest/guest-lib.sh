# SPDX-License-Identifier: BSD-3-Clause
# guest-lib.sh -- sourced by the shim's acceptance scripts in the DAX guest
# (shim_tdb_dax.sh, shim_tc_dax.sh; copied to $DAX_FILES by --file): the
# shim told nothing, a program run under it, the checks of its log and
# PMEMSHIM_STATS report that prove real-DAX takeover and user-space msync,
# and the unmount + remount before the data is verified.
# shellcheck shell=dash
set -u
unset PMEMSHIM_DAX_PATHS PMEM2_FORCE_GRANULARITY PMEMSHIM_DAX PMEMSHIM_FILTER
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
[ -n "${DAX_SHIM_LIB:-}" ] || skip "no libpmemshim.so in the guest"
[ -n "${DAX_EXT4_DIR:-}" ] || fail "DAX_EXT4_DIR unset (guest setup)"
# shellcheck disable=SC2034 # used by the scripts that source this
W=$PWD # the test's own directory, on tmpfs: not DAX

# need CMD... -- skip unless every command was copied into the guest
need() {
	for c; do
		command -v "$c" > /dev/null || skip "$c not in the guest"
	done
}

# dax_mounts -- "MOUNT FSTYPE DAX-OPTION" for each DAX file system
dax_mounts() {
	echo "$DAX_EXT4_DIR ext4 dax"
	[ -z "${DAX_XFS_DIR:-}" ] || echo "$DAX_XFS_DIR xfs dax=always"
}

# stat R NAME -- a counter summed over the PMEMSHIM_STATS reports in R
stat() { awk -v n="$2" '$2 == n { s += $3 } END { print s + 0 }' "$1/stats.txt"; }

# shim_run R DIR CMD... -- CMD in DIR under the shim; report and log
# (PMEMSHIM_LOG=2: classification) in directory R
shim_run() {
	_r=$1 _d=$2
	shift 2
	mkdir -p "$_r"
	(cd "$_d" && LD_PRELOAD=$DAX_SHIM_LIB PMEMSHIM_STATS=$_r/stats.txt \
		PMEMSHIM_LOG=2 "$@") > "$_r/out" 2> "$_r/err"
}

# check_shim R LABEL MIN_MSYNC -- the mappings were taken over by real-DAX
# detection (log and report), the kernel never refused MAP_SYNC, at least
# MIN_MSYNC msyncs were served in user space and none went to the kernel
check_shim() {
	_r=$1 _l=$2
	[ -s "$_r/stats.txt" ] || fail "$_l: no PMEMSHIM_STATS report"
	grep -q "is real DAX" "$_r/err" ||
		fail "$_l: the shim logged no real-DAX file: $(head -n 5 "$_r/err")"
	! grep -q "emulated DAX" "$_r/err" || fail "$_l: a file was classified emulated DAX"
	_taken=$(stat "$_r" maps_taken_over)
	_real=$(stat "$_r" maps_taken_real_dax)
	_nosync=$(stat "$_r" maps_no_map_sync)
	_user=$(stat "$_r" msync_user_space)
	_mixed=$(stat "$_r" msync_mixed)
	_kern=$(stat "$_r" msync_passed_on)
	_flushed=$(stat "$_r" msync_bytes_flushed)
	echo "@show [${DAX_PERSISTENCE:-?}] $_l under the shim: maps_taken_over=$_taken" \
		"maps_taken_real_dax=$_real msync_user_space=$_user msync_mixed=$_mixed" \
		"msync_passed_on=$_kern msync_bytes_flushed=$_flushed" \
		"fsync_flushes=$(stat "$_r" fsync_flushes) truncate_flushes=$(stat "$_r" truncate_flushes)"
	[ "$_taken" -ge 1 ] || fail "$_l: maps_taken_over=$_taken: the shim took no mapping"
	[ "$_real" = "$_taken" ] || fail "$_l: maps_taken_real_dax=$_real of maps_taken_over=$_taken"
	[ "$_nosync" = 0 ] || fail "$_l: maps_no_map_sync=$_nosync: the kernel refused MAP_SYNC"
	[ "$_user" -ge "$3" ] || fail "$_l: msync_user_space=$_user, expected >= $3"
	[ "$_mixed.$_kern" = 0.0 ] ||
		fail "$_l: msyncs of DAX maps went to the kernel (mixed $_mixed, passed on $_kern)"
	[ "$_flushed" -gt 0 ] || fail "$_l: msync_bytes_flushed=$_flushed"
}

# remount MOUNT FSTYPE DAX-OPTION -- unmount, drop the caches, mount again
# with DAX: what is read afterwards comes from the (emulated) NVDIMM
remount() {
	_dev=$(awk -v m="$1" '$2 == m { print $1 }' /proc/mounts)
	[ -n "$_dev" ] || fail "$1 is not mounted"
	umount "$1" || fail "umount $1"
	echo 3 > /proc/sys/vm/drop_caches
	mount -t "$2" -o "$3" "$_dev" "$1" || fail "remount $_dev on $1"
	grep -q " $1 $2 .*dax" /proc/mounts ||
		fail "remounted without dax: $(grep " $1 " /proc/mounts)"
}

# same_data REF GOT LABEL -- the data read after the remount (GOT) is the
# reference made without the shim (REF)
same_data() {
	cmp -s "$1" "$2" ||
		fail "$3: after the remount, differs from the reference: $(diff "$1" "$2" | head -n 5)"
}

# uptime_ms -- the guest's uptime in ms, to 10 ms (busybox date has no %N)
uptime_ms() { cut -d' ' -f1 /proc/uptime | tr -d . | sed 's/$/0/'; }

# kernel_vs_shim LABEL DIR CMD... -- CMD (stdin: $W/script) in a fresh DIR
# without the shim (the kernel's msync and fsync on DAX) and with it, 3
# times each in turn; reports the medians and their ratio, never asserts
# them: TCG emulates every CLWB the shim issues (it flushes every page it
# has mapped, written or not) and every system call the kernel path makes,
# neither at hardware cost
kernel_vs_shim() {
	_l=$1 _d=$2
	shift 2
	: > "$W/times"
	for _i in 1 2 3; do
		rm -rf "$_d"
		mkdir "$_d" || fail "$_l: mkdir $_d"
		_t0=$(uptime_ms)
		(cd "$_d" && "$@") < "$W/script" > /dev/null 2>&1 || fail "$_l: timed run without the shim"
		_t1=$(uptime_ms)
		rm -rf "$_d"
		mkdir "$_d" || fail "$_l: mkdir $_d"
		_t2=$(uptime_ms)
		(cd "$_d" && LD_PRELOAD=$DAX_SHIM_LIB "$@") < "$W/script" > /dev/null 2>&1 ||
			fail "$_l: timed run with the shim"
		_t3=$(uptime_ms)
		echo "$((_t1 - _t0)) $((_t3 - _t2))" >> "$W/times"
	done
	rm -rf "$_d"
	_k=$(awk '{ print $1 }' "$W/times" | sort -n | sed -n 2p)
	_s=$(awk '{ print $2 }' "$W/times" | sort -n | sed -n 2p)
	awk -v l="$_l" -v p="${DAX_PERSISTENCE:-?}" -v k="$_k" -v s="$_s" 'BEGIN {
		printf "@show [%s] %s, medians of 3 (TCG): kernel msync %d ms, shim %d ms, shim/kernel %.2f\n", p, l, k, s, s / k }'
}

