#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# shim_dax.sh -- a guest test for tests/dax/run.sh: every tests/shim
# program (copied to $DAX_FILES by --file) under LD_PRELOAD=$DAX_SHIM_LIB
# with its directory on the ext4 and xfs DAX mounts.  The shim is told
# nothing: PMEMSHIM_DAX_PATHS and PMEM2_FORCE_GRANULARITY are unset, the
# programs get their directory from SHIM_TEST_DIR (shim_test.h refuses to
# run with both), so every "taken over" the programs check is real-DAX
# detection (statx STATX_ATTR_DAX).  SHIM_TEST_PLAIN_DIR (tmpfs) is their
# non-DAX directory.  shim_faults and shim_fuzz run under
# DAX_SHIM_FAULTS_LIB, the shim built with fault injection and the flush
# watch.
# shellcheck shell=dash
set -u
unset PMEMSHIM_DAX_PATHS PMEM2_FORCE_GRANULARITY PMEMSHIM_DAX
[ -n "${DAX_SHIM_LIB:-}" ] || { echo "SKIP: no libpmemshim.so in the guest"; exit 77; }
[ -n "${DAX_EXT4_DIR:-}" ] || { echo "FAIL: DAX_EXT4_DIR unset (guest setup)"; exit 1; }
progs=$(ls "${DAX_FILES:?}"/shim_* 2>/dev/null)
[ -n "$progs" ] || { echo "SKIP: no shim_* programs in $DAX_FILES"; exit 77; }

fails=0 runs=0
# run_one PROGRAM MOUNT [VAR=VALUE...] -- one program, its own directory
run_one() {
	t=$1 mnt=$2
	shift 2
	n=${t##*/}
	lib=$DAX_SHIM_LIB
	case $n in shim_faults | shim_fuzz)
		lib=${DAX_SHIM_FAULTS_LIB:-$DAX_SHIM_LIB} ;;
	esac
	d=$mnt/shimtest/$n
	rm -rf "$d"
	t0=$(cut -d' ' -f1 /proc/uptime)
	out=$(env "$@" SHIM_TEST_DIR="$d" \
		SHIM_TEST_PLAIN_DIR="${NODAX_DIR:-/tmp}" LD_PRELOAD="$lib" \
		"$t" 2>&1)
	rc=$?
	secs=$(awk -v a="$t0" '{ printf "%.1f", $1 - a }' /proc/uptime)
	runs=$((runs + 1))
	if [ $rc = 0 ]; then
		echo "ok:   $n${*:+ $*} on $mnt (${secs}s)"
	elif [ $rc = 77 ]; then # the program does not apply to real DAX
		echo "skip: $n${*:+ $*} on $mnt: $(echo "$out" | grep SKIP | tail -n 1)"
	else
		echo "$out"
		echo "FAIL: $n${*:+ $*} on $mnt: exit $rc"
		fails=$((fails + 1))
	fi
	rm -rf "$d"
}

for mnt in "$DAX_EXT4_DIR" ${DAX_XFS_DIR:-}; do
	for t in $progs; do
		[ ! -x "$t" ] || run_one "$t" "$mnt"
	done
	# and the fuzzer with two threads at once
	t=$DAX_FILES/shim_fuzz
	[ ! -x "$t" ] || run_one "$t" "$mnt" SHIM_FUZZ_THREADS=2
done
# PMEM_NO_FLUSH against the platform's granularity (0: flush at BYTE, as on
# the eADR guest; 1: no flushes at CACHE_LINE), on one file system
for nf in 0 1; do
	for n in shim_basic shim_mixed shim_durable; do
		[ ! -x "$DAX_FILES/$n" ] ||
			run_one "$DAX_FILES/$n" "$DAX_EXT4_DIR" PMEM_NO_FLUSH=$nf
	done
done
echo "$runs runs, $fails failed"
[ $fails = 0 ]
