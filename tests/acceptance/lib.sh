# SPDX-License-Identifier: BSD-3-Clause
# lib.sh -- shared by the acceptance scripts: packages, the two runs (with
# and without the shim), the takeover check from PMEMSHIM_STATS, timing.
# Usage from a script: . lib.sh; need_pkg <cmd> <debian package>; ...
set -u
SHIM=${1:?usage: $0 /path/to/libpmemshim.so [/path/to/empty-preload.so]}
[ -f "$SHIM" ] || { echo "no shim at $SHIM"; exit 1; }
# an empty library, preloaded in the timed runs for the floor of any
# LD_PRELOAD (bench_ratio); optional
EMPTY_PRELOAD=${2:-}
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
# part of the workload), with it at BYTE granularity (the same takeover,
# hooks and mover, but msync only drains: no flush and no written-page
# tracking, what a machine with eADR gets -- the shim's own cost, apart
# from the durability work that tmpfs without the shim never does), and,
# when lib.sh was given one, with an empty library preloaded instead (the
# floor: what LD_PRELOAD itself costs a program that starts many
# processes); each run in a fresh directory (the cwd of CMD), the
# variants in rotating order; medians of ACC_RUNS rounds (default 5).
# Reported, never asserted: the machine is shared, and a single pair of
# runs swung by 2x.
now_ns() { date +%s%N; }
median_of() {	# median_of COLUMN -- of $WORK/times
	sort -n -k"$1","$1" "$WORK/times" | awk -v c="$1" '{ print $c }' |
		sed -n "$(( (${ACC_RUNS:-5} + 1) / 2 ))p"
}
# timed_run K CMD... -- variant K of bench_ratio (0 without the shim,
# 1 with it, 2 with it at BYTE granularity, 3 an empty library preloaded)
# in a fresh $WORK/bench-K, in a subshell; prints its time in ns
timed_run() {
	_k=$1
	shift
	rm -rf "$WORK/bench-$_k"
	mkdir "$WORK/bench-$_k"
	_t0=$(now_ns)
	case $_k in
	0) run_plain "$WORK/bench-0" "$@" ;;
	1) in_dax "$WORK/bench-1" "$@" ;;
	2) (export PMEMSHIM_GRANULARITY=BYTE; in_dax "$WORK/bench-2" "$@") ;;
	3) (cd "$WORK/bench-3" && LD_PRELOAD="$EMPTY_PRELOAD" "$@") ;;
	esac > /dev/null 2>&1 || return 1
	echo $(($(now_ns) - _t0))
}

bench_ratio() {
	_name=$1
	shift
	_n=${ACC_RUNS:-5}
	_nv=3
	[ -n "$EMPTY_PRELOAD" ] && _nv=4
	_i=0
	: > "$WORK/times"
	while [ $_i -lt "$_n" ]; do
		# each round starts with another variant: none is always the
		# one that runs first, or right after the same neighbour
		_j=0
		_row="0 0 0 0"
		while [ $_j -lt $_nv ]; do
			_k=$(( (_i + _j) % _nv ))
			_t=$(timed_run $_k "$@") ||
				fail "$_name: timed run $_k (0 without the shim, 1 with it, 2 at BYTE, 3 empty preload)"
			_row=$(echo "$_row" | awk -v k=$_k -v t="$_t" \
				'{ $(k + 1) = t; print }')
			_j=$((_j + 1))
		done
		echo "$_row" >> "$WORK/times"
		_i=$((_i + 1))
	done
	awk -v n="$_name" -v k="$_n" -v a="$(median_of 1)" \
		-v b="$(median_of 2)" -v c="$(median_of 3)" \
		-v e="$([ -n "$EMPTY_PRELOAD" ] && median_of 4)" 'BEGIN {
		printf "%s: medians of %d rounds (rotating order): without the shim %.1f ms, with it %.1f ms, ratio %.3f (target <= 1.05); at BYTE granularity (no flush, no tracking) %.1f ms, ratio %.3f", n, k, a / 1e6, b / 1e6, b / a, c / 1e6, c / a
		if (e != "")
			printf "; floor, an empty library preloaded: %.1f ms, ratio %.3f (shim at BYTE / floor %.3f)", e / 1e6, e / a, c / e
		printf "\n" }'
}
