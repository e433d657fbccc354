#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# ex-redo.sh - PMDK's "redo" example: a redo-logged sorted list on fsdax.
# Not on device DAX: the example maps PMEM2_PRIVATE to print/check, which
# device DAX does not support.
# shellcheck shell=dash
set -eu
# shellcheck source-path=SCRIPTDIR source=ex-lib.sh
. "$DAX_FILES/ex-lib.sh"
need DAX_EXT4_DIR DAX_XFS_DIR

NL='
'
for t in "$DAX_EXT4_DIR/ex-redo.dat" "$DAX_XFS_DIR/ex-redo.dat"; do
	mkfile "$t" 1
	run "$t: add" pmdk_ex_redo add "$t" 3 30 1 10 2 20 || continue
	run "$t: check" pmdk_ex_redo check "$t" && ok "$t: consistent"
	# the list is kept sorted by key
	run "$t: print" pmdk_ex_redo print "$t" &&
		expect "$t: print" "$OUT" "1 = 10${NL}2 = 20${NL}3 = 30"
	run "$t: add in a new process" pmdk_ex_redo add "$t" 0 5 7 70 &&
		run "$t: print" pmdk_ex_redo print "$t" &&
		expect "$t: print after second add" "$OUT" \
			"0 = 5${NL}1 = 10${NL}2 = 20${NL}3 = 30${NL}7 = 70"
	run "$t: check" pmdk_ex_redo check "$t" && ok "$t: consistent"
done
done_tests
