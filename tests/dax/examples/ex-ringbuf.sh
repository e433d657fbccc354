#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# ex-ringbuf.sh - PMDK's "ringbuf" example: a producer and a consumer thread
# through a persistent ring buffer; its layout must persist across runs.
# shellcheck shell=dash
set -eu
# shellcheck source-path=SCRIPTDIR source=ex-lib.sh
. "$DAX_FILES/ex-lib.sh"
need DAX_EXT4_DIR DAX_XFS_DIR

for t in "$DAX_EXT4_DIR/ex-ringbuf.dat" "$DAX_XFS_DIR/ex-ringbuf.dat"; do
	mkfile "$t" 1
	run "$t: ringbuf 64 B x 2000" pmdk_ex_ringbuf "$t" 64 2000 || continue
	case "$OUT" in
	*"Bandwidth:"*) ok "$t: ringbuf completed" ;;
	*) bad "$t: unexpected output: $OUT" ;;
	esac
	run "$t: reopen" pmdk_ex_ringbuf "$t" 64 100 && ok "$t: reopened with the same layout"
	# the entry size stored in the file must win over a different one
	if OUT=$(pmdk_ex_ringbuf "$t" 128 10 2>&1); then
		bad "$t: reopening with another entry size was accepted"
	else
		case "$OUT" in
		*"entry size (64) different than provided (128)"*) ok "$t: persisted entry size detected" ;;
		*) bad "$t: unexpected failure: $OUT" ;;
		esac
	fi
done
done_tests
