#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# ex-unsafe-shutdown.sh - PMDK's "unsafe_shutdown" example on fsdax files.
# QEMU's NVDIMMs have no unsafe shutdown count, so the example only warns
# about it; the stored string must still survive across processes.
# shellcheck shell=dash
set -eu
# shellcheck source-path=SCRIPTDIR source=ex-lib.sh
. "$DAX_FILES/ex-lib.sh"
need DAX_EXT4_DIR DAX_XFS_DIR

for t in "$DAX_EXT4_DIR/ex-usc.dat" "$DAX_XFS_DIR/ex-usc.dat"; do
	mkfile "$t" 1
	# stdout only: stderr carries the library's "not supported" message
	if OUT=$(pmdk_ex_unsafe_shutdown read "$t" 2>/tmp/usc.err); then
		expect "$t: fresh pool reads empty" "$OUT" "empty string"
	else
		bad "$t: read of a fresh pool failed: $OUT $(cat /tmp/usc.err)"
		continue
	fi
	if OUT=$(pmdk_ex_unsafe_shutdown write "$t" "persistent hello" 2>/tmp/usc.err); then
		ok "$t: write"
	else
		bad "$t: write failed: $OUT $(cat /tmp/usc.err)"
		continue
	fi
	if OUT=$(pmdk_ex_unsafe_shutdown read "$t" 2>/tmp/usc.err); then
		expect "$t: read in a new process" "$OUT" "persistent hello"
	else
		bad "$t: read failed: $OUT $(cat /tmp/usc.err)"
	fi
done
done_tests
