#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# ex-log.sh - PMDK's "log" example: appends persist across processes, rewind.
# shellcheck shell=dash
set -eu
# shellcheck source-path=SCRIPTDIR source=ex-lib.sh
. "$DAX_FILES/ex-lib.sh"
need DAX_EXT4_DIR DAX_XFS_DIR DAX_DEV

for t in "$DAX_EXT4_DIR/ex-log.dat" "$DAX_XFS_DIR/ex-log.dat" "$DAX_DEV"; do
	[ -c "$t" ] || mkfile "$t" 2 # the example needs >= 1 MiB
	run "$t: rewind" pmdk_ex_log "$t" rewind || continue
	run "$t: append" pmdk_ex_log "$t" append hello appendv 2 world pmem dump &&
		expect "$t: dump after append+appendv" "$OUT" "helloworldpmem"
	run "$t: dump" pmdk_ex_log "$t" dump &&
		expect "$t: dump in a new process" "$OUT" "helloworldpmem"
	run "$t: rewind+dump" pmdk_ex_log "$t" rewind dump &&
		expect "$t: dump after rewind" "$OUT" ""
	run "$t: append again" pmdk_ex_log "$t" append again &&
		run "$t: dump" pmdk_ex_log "$t" dump &&
		expect "$t: dump after rewind+append" "$OUT" "again"
done
done_tests
