#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# valgrind.sh -- run a program (and every process it starts: criterion's
# workers, the diff harness's probes) under valgrind memcheck; fail when any
# process reports an invalid access, an uninitialised read or a definite or
# indirect leak.
#
#   valgrind.sh PROGRAM [ARGS...]
#
# Each process writes its own log (criterion ignores its workers' exit
# codes, so --error-exitcode alone would let a worker's error through);
# with -q a clean process writes nothing, so any non-empty log is a failure
# -- except the notice of a process killed by a signal, which some tests
# expect (criterion checks .signal = SIGBUS itself); it is dropped before
# the check, the rest of that log still counts; so is valgrind's notice that
# it does not implement userfaultfd (shim_badenv's children turn the shim's
# written-page tracking back on).  valgrind.supp holds the
# deliberate invalid calls the tests make (each named there).
set -u
command -v valgrind >/dev/null || { echo "valgrind.sh: SKIP: no valgrind" >&2; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)	# absolute: children may chdir
logs=$(mktemp -d /tmp/pmemshim-vg.XXXXXX)
trap 'rm -rf "$logs"' EXIT
# --fair-sched: the default lock can starve a thread for minutes while
# another blocks and wakes on a condition variable (shim_alias did)
valgrind -q --tool=memcheck --trace-children=yes --error-exitcode=99 \
	--fair-sched=try \
	--leak-check=full --errors-for-leak-kinds=definite,indirect \
	--show-leak-kinds=definite,indirect \
	--suppressions="$here/valgrind.supp" \
	--log-file="$logs/vg.%p" "$@"
rc=$?
bad=0
for f in "$logs"/vg.*; do
	[ -e "$f" ] || continue
	# drop "Process terminating with default action of signal N" blocks
	# and the empty "==pid== " lines
	# and valgrind's notice that it lacks userfaultfd (syscall 323; the
	# shim then falls back to flushing every resident page), 5 lines
	awk '/unhandled amd64-linux syscall: 323$/ { n = 4; next }
		n > 0 { n--; next }
		/Process terminating with default action/ { skip = 1; next }
		skip && /^==[0-9]+== *$/ { skip = 0; next }
		skip { next }
		/^==[0-9]+== *$/ { next }
		{ print }' "$f" >"$f.kept"
	[ -s "$f.kept" ] || continue
	bad=1
	echo "=== valgrind report $(basename "$f") ===" >&2
	cat "$f.kept" >&2
done
# a program that skips (77: nothing it tests can run without
# userfaultfd, which valgrind lacks) is a skip if valgrind saw nothing
[ "$rc" -eq 77 ] && [ "$bad" -eq 0 ] && { echo "valgrind.sh: $(basename "$1"): skipped, clean"; exit 77; }
[ "$rc" -eq 0 ] || echo "valgrind.sh: $1 exited $rc" >&2
[ "$rc" -eq 0 ] && [ "$bad" -eq 0 ] && { echo "valgrind.sh: $(basename "$1"): clean"; exit 0; }
exit 1
