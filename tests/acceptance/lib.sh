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

# run_plain DIR CMD... / in_dax DIR CMD... -- the same command in DIR, the
# second with the shim preloaded and DIR declared emulated DAX; run_shim
# is in_dax with the PMEMSHIM_STATS report in $WORK/stats.txt.
run_plain() {
	d=$1; shift
	(cd "$d" && "$@")
}
in_dax() {
	d=$1; shift
	(cd "$d" && LD_PRELOAD="$SHIM" PMEMSHIM_DAX_PATHS="$d" "$@")
}
run_shim() {
	d=$1; shift
	in_dax "$d" env PMEMSHIM_STATS="$WORK/stats.txt" "$@"
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

# bench_ratio NAME CMD... -- after the checks: CMD's time without the
# shim, with it (PMEMSHIM_DAX_PATHS, no PMEMSHIM_STATS: its report is not
# part of the workload), and with it at BYTE granularity (the same
# takeover, hooks and mover, but msync only drains: no flush and no
# written-page tracking, what a machine with eADR gets -- the shim's own
# cost, apart from the durability work that tmpfs without the shim never
# does); the three in turn, each run in a fresh directory (the cwd of
# CMD); medians of ACC_RUNS runs (default 5).  Reported, never asserted:
# the machine is shared, and a single pair of runs swung by 2x.
now_ns() { date +%s%N; }
median_of() {	# median_of COLUMN -- of $WORK/times
	sort -n -k"$1","$1" "$WORK/times" | awk -v c="$1" '{ print $c }' |
		sed -n "$(( (${ACC_RUNS:-5} + 1) / 2 ))p"
}
bench_ratio() {
	_name=$1
	shift
	_n=${ACC_RUNS:-5}
	_i=0
	: > "$WORK/times"
	while [ $_i -lt "$_n" ]; do
		rm -rf "$WORK/bench-plain" "$WORK/bench-shim" "$WORK/bench-byte"
		mkdir "$WORK/bench-plain" "$WORK/bench-shim" "$WORK/bench-byte"
		_t0=$(now_ns)
		run_plain "$WORK/bench-plain" "$@" > /dev/null 2>&1 ||
			fail "$_name: timed run without the shim"
		_t1=$(now_ns)
		in_dax "$WORK/bench-shim" "$@" > /dev/null 2>&1 ||
			fail "$_name: timed run with the shim"
		_t2=$(now_ns)
		(export PMEMSHIM_GRANULARITY=BYTE
			in_dax "$WORK/bench-byte" "$@") > /dev/null 2>&1 ||
			fail "$_name: timed run with the shim at BYTE granularity"
		_t3=$(now_ns)
		echo "$((_t1 - _t0)) $((_t2 - _t1)) $((_t3 - _t2))" >> "$WORK/times"
		_i=$((_i + 1))
	done
	awk -v n="$_name" -v k="$_n" -v a="$(median_of 1)" \
		-v b="$(median_of 2)" -v c="$(median_of 3)" 'BEGIN {
		printf "%s: medians of %d alternating runs: without the shim %.1f ms, with it %.1f ms, ratio %.3f (target <= 1.05); at BYTE granularity (no flush, no tracking) %.1f ms, ratio %.3f\n", n, k, a / 1e6, b / 1e6, b / a, c / 1e6, c / a }'
}
