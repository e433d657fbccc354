#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# ex-basic.sh - PMDK's "basic" example stores a string, "advanced" reads it back.
# shellcheck shell=dash
set -eu
# shellcheck source-path=SCRIPTDIR source=ex-lib.sh
. "$DAX_FILES/ex-lib.sh"
need DAX_EXT4_DIR DAX_XFS_DIR DAX_DEV

STR='hello, persistent memory'
LEN=${#STR}
WANT=$(hexstr "$STR")
PART=$(hexstr "$(printf '%s' "$STR" | cut -c8-17)") # bytes 7..16

for t in "$DAX_EXT4_DIR/ex-basic.dat" "$DAX_XFS_DIR/ex-basic.dat" "$DAX_DEV"; do
	[ -c "$t" ] || mkfile "$t" 4
	run "$t: advanced before" pmdk_ex_advanced "$t" 0 "$LEN" || continue
	[ "$(squash "$OUT")" != "$WANT" ] || { bad "$t: already holds the string before basic ran"; continue; }
	run "$t: basic" pmdk_ex_basic "$t" || continue
	run "$t: advanced 0 $LEN" pmdk_ex_advanced "$t" 0 "$LEN" &&
		expect "$t: advanced shows the string" "$(squash "$OUT")" "$WANT"
	# unaligned offset: advanced aligns it down to pmem2_source_alignment
	run "$t: advanced 7 10" pmdk_ex_advanced "$t" 7 10 &&
		expect "$t: advanced at offset 7" "$(squash "$OUT")" "$PART"
	if [ -f "$t" ]; then # and through read(2), without pmem2
		expect "$t: read(2) sees the string" "$(head -c "$LEN" "$t")" "$STR"
	fi
done
done_tests
