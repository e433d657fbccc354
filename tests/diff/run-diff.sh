#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# run-diff.sh -- run one differential test program against PMDK's libpmem2 (the oracle) and ours, diff the transcripts
#
# usage: run-diff.sh [--ours DIR|FILE | --self] [--oracle FILE] [--env NAME=VALUE]... PROGRAM [ARGS...]
#   --ours DIR|FILE  our library: a directory holding libpmem2.so.1, or the library file itself
#   --self           compare the oracle with itself (harness self-check; no library of ours needed)
#   --oracle FILE    PMDK's library (default /usr/lib/x86_64-linux-gnu/libpmem2.so.1; installed with
#                    apt-get when missing and running as root)
#   --env NAME=VALUE set for both runs (e.g. PMEM2_FORCE_GRANULARITY=CACHE_LINE); repeatable
# Exit: 0 same transcripts, 1 divergence or a broken run, 77 skip (no oracle library).
set -u

oracle=/usr/lib/x86_64-linux-gnu/libpmem2.so.1
ours=""
self=0
envs=()
while [ $# -gt 0 ]; do
	case "$1" in
	--ours) ours=$2; shift 2 ;;
	--self) self=1; shift ;;
	--oracle) oracle=$2; shift 2 ;;
	--env) envs+=("$2"); shift 2 ;;
	--) shift; break ;;
	-*) echo "run-diff: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || { echo "usage: $0 [--ours DIR|FILE|--self] [--env N=V]... PROGRAM" >&2; exit 2; }
prog=$1
shift
name=$(basename "$prog")
[ ${#envs[@]} -gt 0 ] && name="$name [${envs[*]}]"

fail() { echo "run-diff: $name: FAIL: $*" >&2; echo "0 passed, 1 failed"; exit 1; }
skip() { echo "run-diff: $name: SKIP: $*" >&2; exit 77; }

[ -x "$prog" ] || fail "no program $prog"

# --- the oracle: Debian's libpmem2 (PMDK 1.12) ---
if [ ! -e "$oracle" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "run-diff: $oracle missing, installing libpmem2" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y libpmem2 >&2 || { apt-get update >&2 && apt-get install -y libpmem2 >&2; }
fi
[ -e "$oracle" ] || skip "oracle library $oracle is missing (install Debian's libpmem2)"

# --- our library ---
if [ "$self" = 1 ]; then
	ours=$oracle
	echo "run-diff: $name: SELF-CHECK mode: comparing the oracle with itself" >&2
else
	[ -n "$ours" ] || fail "give --ours DIR|FILE (or --self)"
	[ -d "$ours" ] && ours=$ours/libpmem2.so.1
	[ -e "$ours" ] || fail "our library $ours does not exist (build it first)"
	if [ "$(readlink -f "$ours")" = "$(readlink -f "$oracle")" ]; then
		fail "--ours resolves to the oracle itself ($(readlink -f "$ours")): nothing would be compared"
	fi
fi

# --- the program must not carry an RPATH that beats LD_LIBRARY_PATH ---
if command -v readelf >/dev/null; then
	if readelf -d "$prog" | grep -q '(RPATH)'; then
		fail "$prog has an RPATH: $(readelf -d "$prog" | grep '(RPATH)')"
	fi
	readelf -d "$prog" | grep -q '(RUNPATH)' &&
		echo "run-diff: note: $prog has a RUNPATH (LD_LIBRARY_PATH still wins)" >&2
fi

shmroot=/dev/shm
[ -d "$shmroot" ] && [ -w "$shmroot" ] || shmroot=${TMPDIR:-/tmp}
work=$(mktemp -d "${TMPDIR:-/tmp}/run-diff.XXXXXX") || fail "mktemp"
cleanup() { rm -rf "$work"; [ -n "${data:-}" ] && rm -rf "$data"; }
trap cleanup EXIT

# run_one SIDE LIBFILE -- run the program with LIBFILE as libpmem2.so.1; transcript in $work/SIDE.out
run_one() {
	local side=$1 lib=$2 libdir=$work/$1-lib rc
	shift 2
	mkdir -p "$libdir"
	ln -s "$(readlink -f "$lib")" "$libdir/libpmem2.so.1"
	# a fresh data directory on tmpfs for each run, removed afterwards
	data=$(mktemp -d "$shmroot/pmem2diff-$side.XXXXXX") || fail "mktemp data"
	env "${envs[@]}" \
		DIFF_TMPDIR="$data" DIFF_EXPECT_LIB="$lib" \
		LD_LIBRARY_PATH="$libdir" LD_DEBUG=libs LD_DEBUG_OUTPUT="$work/$side.ld" \
		timeout 600 "$prog" "$@" >"$work/$side.out" 2>"$work/$side.err"
	rc=$?
	rm -rf "$data"
	data=""
	if [ $rc -ne 0 ]; then
		echo "--- $side run: exit $rc; stderr:" >&2
		tail -n 20 "$work/$side.err" >&2
		echo "--- $side transcript tail:" >&2
		tail -n 5 "$work/$side.out" >&2
		fail "the $side run exited with $rc"
	fi
	# second witness, independent of the program: what did ld.so load?
	local loaded
	loaded=$(cat "$work/$side.ld".* 2>/dev/null | grep -Eo 'calling init: [^ ]*libpmem2[^ ]*' |
		head -n 1 | sed 's/calling init: //')
	[ -n "$loaded" ] || fail "LD_DEBUG shows no libpmem2 initialised in the $side run"
	[ "$(readlink -f "$loaded")" = "$(readlink -f "$lib")" ] ||
		fail "$side run loaded $loaded, expected $(readlink -f "$lib")"
	grep -q '^== end$' "$work/$side.out" || fail "$side transcript is incomplete"
	echo "run-diff: $side: $(readlink -f "$loaded") ($(wc -l <"$work/$side.out") lines)" >&2
}

run_one oracle "$oracle" "$@"
run_one ours "$ours" "$@"

here=$(cd "$(dirname "$0")" && pwd)
# Deliberate divergences (accepted.txt): each "- PMDK line" / "+ our line"
# pair, in order, becomes the same token on both sides, so the lines still
# have to appear at the same place; an empty side means the line exists on
# the other side only.
accept() { # SIDECHAR FILE
	awk -v side="$1" '
		FNR == NR {
			if ($0 ~ /^[-+] / || $0 ~ /^[-+]$/) {
				c = substr($0, 1, 1); t = substr($0, 3)
				if (c == "-") { k++; pm[k] = t; ou[k] = "" } else ou[k] = t
			}
			next
		}
		{
			for (i = 1; i <= k; i++) {
				want = side == "-" ? pm[i] : ou[i]
				if (want != "" && $0 == want && !used[i]) {
					used[i] = 1
					if ((side == "-" ? ou[i] : pm[i]) != "")
						print "== accepted divergence " i
					next
				}
			}
			print
		}' "$here/accepted.txt" "$2" >"$2.acc" && mv "$2.acc" "$2"
}
if [ -f "$here/accepted.txt" ]; then
	accept - "$work/oracle.out"
	accept + "$work/ours.out"
fi

if ! diff -u --label "PMDK ($oracle)" --label "ours ($ours)" \
	"$work/oracle.out" "$work/ours.out" >"$work/diff"; then
	echo "=== $name: transcripts differ (- PMDK, + ours):"
	head -n 400 "$work/diff"
	n=$(grep -c '^[-+][^-+]' "$work/diff")
	[ "$(wc -l <"$work/diff")" -gt 400 ] && echo "... (diff truncated)"
	fail "$n differing lines"
fi
echo "run-diff: $name: transcripts identical ($(wc -l <"$work/oracle.out") lines)" >&2
echo "1 passed, 0 failed"
exit 0
