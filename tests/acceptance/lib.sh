# SPDX-License-Identifier: BSD-3-Clause
# lib.sh -- shared by the acceptance scripts: packages, the two runs (with
# and without the shim), the takeover check from PMEMSHIM_STATS, timing.
# Usage from a script: . lib.sh; need_pkg <cmd> <debian package>; ...
set -u
SHIM=${1:?usage: $0 /path/to/libpmemshim.so}
[ -f "$SHIM" ] || { echo "no shim at $SHIM"; exit 1; }
WORK=$(mktemp -d /dev/shm/pmemshim-acc.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

# need_pkg -- install a Debian package when its command is missing (CI
# starts from a fresh Debian); skip when that is impossible here.
need_pkg() {
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" \
			>/dev/null 2>&1 || apt-get update -q >/dev/null 2>&1
		command -v "$1" >/dev/null 2>&1 ||
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
				"$2" >/dev/null 2>&1
	fi
	command -v "$1" >/dev/null 2>&1 || skip "$1 ($2) not available"
}

# run_plain DIR CMD... / run_shim DIR CMD... -- the same command, the
# second with the shim preloaded and DIR declared emulated DAX.
run_plain() {
	d=$1; shift
	(cd "$d" && "$@")
}
run_shim() {
	d=$1; shift
	(cd "$d" && LD_PRELOAD="$SHIM" PMEMSHIM_DAX_PATHS="$d" \
		PMEMSHIM_STATS="$WORK/stats.txt" "$@")
}

# stat_sum NAME -- a counter summed over every process of the shim run
stat_sum() {
	awk -v n="$1" '$2 == n { s += $3 } END { print s + 0 }' \
		"$WORK/stats.txt" 2>/dev/null
}

# check_takeover -- the shim really took the mappings and served msync
check_takeover() {
	[ -s "$WORK/stats.txt" ] || fail "no PMEMSHIM_STATS report"
	taken=$(stat_sum maps_taken_over)
	user=$(stat_sum msync_user_space)
	kern=$(stat_sum msync_passed_on)
	echo "shim stats: maps_taken_over=$taken msync_user_space=$user" \
		"msync_passed_on=$kern bytes_flushed=$(stat_sum \
		msync_bytes_flushed) copies_into_dax=$(stat_sum \
		copies_into_dax)"
	[ "$taken" -gt 0 ] || fail "the shim took no mapping over"
	[ "$user" -gt 0 ] || fail "no msync was served in user space"
	grep -A3 "top call sites of msync" "$WORK/stats.txt" | head -4
}

# now_ns -- for the time ratio (reported, not asserted: one run is noisy)
now_ns() { date +%s%N; }
report_ratio() {
	awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%s: without shim %.1f ms, with shim %.1f ms, ratio %.3f (target <= 1.05)\n", n, a / 1e6, b / 1e6, b / a }'
}
