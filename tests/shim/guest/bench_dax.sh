#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# bench_dax.sh -- a guest "test" for tests/dax/run.sh that is a benchmark:
# bench_shim --real-dax on the ext4 DAX mount (msync of 1/16/256 dirty
# pages, the kernel's vs the shim's, and the write faults that follow).
# Its table is shown by run.sh even when it passes ("@show " lines).  It
# fails only when the run did not measure what it claims (see bench_shim.c),
# never on a time.
# shellcheck shell=dash
set -u
unset PMEMSHIM_DAX_PATHS PMEM2_FORCE_GRANULARITY PMEMSHIM_DAX
[ -n "${DAX_SHIM_LIB:-}" ] || { echo "SKIP: no libpmemshim.so in the guest"; exit 77; }
[ -n "${DAX_EXT4_DIR:-}" ] || { echo "FAIL: DAX_EXT4_DIR unset (guest setup)"; exit 1; }
command -v bench_shim > /dev/null || { echo "SKIP: bench_shim not in the guest"; exit 77; }
d=$DAX_EXT4_DIR/bench
mkdir -p "$d"
"$(command -v bench_shim)" --real-dax "$DAX_SHIM_LIB" "$d" "${BENCH_ROUNDS:-100}" > bench.out 2>&1
rc=$?
sed "s/^/@show [${DAX_PERSISTENCE:-?}] /" bench.out
rm -rf "$d"
exit $rc
