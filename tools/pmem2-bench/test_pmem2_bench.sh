#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# test_pmem2_bench.sh -- pmem2-bench as a user runs it: --help, bad options
# (message, exit 2), --floor's table, the progress line, and --plot: a PNG and an SVG whose
# data file holds exactly the throughput rows of the same run's CSV, one
# block per case, with the three series (ours, PMDK, ceiling) in the script.
# No timing is asserted.
#   test_pmem2_bench.sh BUILD/tools/pmem2-bench/pmem2-bench
set -u
B=${1:?pmem2-bench}
W=$(mktemp -d /dev/shm/pmem2-bench-test.XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$B" --help >help || fail "--help exit $?"
for o in --quick --reps --csv --plot --progress --floor --ours --pmdk; do
	grep -q -- "$o" help || fail "--help does not mention $o"
done

bad() {
	want=$1; shift
	"$B" "$@" >out 2>err && { fail "'$*' succeeded"; return; }
	rc=$?
	[ $rc -eq 2 ] || fail "'$*': exit $rc, want 2"
	grep -q "^pmem2-bench: .*$want" err ||
		fail "'$*': message '$(head -1 err)', want '$want'"
}
bad "unknown option '--bogus'" --bogus
bad "needs a value" --plot
bad "want 1..15" --reps 0
bad "want 1..15" --reps x
bad "must end in .png or .svg" --plot x.jpg
env PATH=/nonexistent "$B" --plot x.png >out 2>err
[ $? -eq 2 ] && grep -q "^pmem2-bench: --plot needs gnuplot" err ||
	fail "no gnuplot in PATH: '$(head -1 err)'"

# --floor: one row per sequence with two positive times and two ratios,
# the ceiling's ratios exactly 1, a line comparing ours with PMDK
"$B" --floor --quick --reps 1 >floor 2>err
rc=$?
if [ $rc -ne 0 ] && grep -q "needs AVX-512F" err; then
	echo "SKIP: $(cat err)"; exit 77
fi
[ $rc -eq 0 ] || { fail "--floor: exit $rc"; cat err; }
for row in "vmovntdq + sfence (ceiling)" "movnti (8 B) + sfence" \
		"stores + clwb + sfence" "ours: pmem2 memcpy" \
		"PMDK: pmem2 memcpy"; do
	line=$(grep -F -- "$row" floor)
	echo "$line" | awk '{ n = NF; exit !($(n-3) > 0 && $(n-2) > 0 &&
		$(n-1) > 0 && $n > 0) }' ||
		fail "--floor row '$row': '$line'"
done
grep "(ceiling)" floor | awk '{ exit !($(NF-1) == 1 && $NF == 1) }' ||
	fail "--floor: the ceiling is not its own unit"
grep -q '^ours/PMDK: 64 B [0-9.]*, 256 B [0-9.]* (speed)$' floor ||
	fail "--floor: no ours/PMDK line"

command -v gnuplot >/dev/null ||
	{ echo "SKIP: gnuplot not installed (tools/install-deps.sh)"; exit 77; }

"$B" --quick --reps 1 --progress --csv run.csv --plot run.svg >table 2>err
rc=$?
if [ $rc -ne 0 ] && grep -q "needs AVX-512F" err; then
	echo "SKIP: $(cat err)"; exit 77
fi
[ $rc -eq 0 ] || { fail "--plot run: exit $rc"; cat err; }
grep -q '^\[  1/[0-9]*\] memcpy CACHE_LINE 64 B$' err ||
	fail "no progress line: $(head -2 err)"
grep -q '^\[[0-9]*/[0-9]*\] done$' err || fail "progress never finished"
[ -s run.svg ] && grep -q '<svg' run.svg || fail "run.svg is not an SVG"
for t in ours PMDK ceiling; do
	grep -q ">$t<" run.svg || fail "run.svg has no '$t' series"
	grep -q "title '$t'" run.svg.gp || fail "script lacks series '$t'"
done

# the plotted data = the CSV's throughput rows (same run, same numbers)
awk -F, 'NR > 1 && $4 == "GB/s" { printf "%s %.4f %.4f %.4f\n", $3, $5, $6, $7 }' \
	run.csv >csv.rows
grep -v '^#' run.svg.dat | grep . >dat.rows
[ -s csv.rows ] || fail "no throughput rows in the CSV"
cmp -s csv.rows dat.rows || { fail "plot data differs from the CSV";
	diff csv.rows dat.rows | head; }
cases=$(awk -F, 'NR > 1 && $4 == "GB/s" { print $1 "," $2 }' run.csv |
	sort -u | wc -l)
blocks=$(grep -c '^# size ours pmdk ceiling' run.svg.dat)
[ "$blocks" -eq "$cases" ] || fail "$blocks data blocks for $cases cases"
grep -q "array T\[$cases\]" run.svg.gp || fail "script does not plot $cases panels"

# PNG, and no progress when stderr is not a terminal and not asked for
"$B" --quick --reps 1 --plot run.png >/dev/null 2>err2 ||
	fail "--plot png: exit $?"
[ "$(head -c 8 run.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
	fail "run.png is not a PNG"
grep -q '^\[' err2 && fail "progress printed without --progress to a file"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "PASS: pmem2-bench --help, bad options, --floor, progress, --plot png/svg"
