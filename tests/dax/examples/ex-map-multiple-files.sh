#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# ex-map-multiple-files.sh - PMDK's "map_multiple_files": ext4 and xfs DAX
# files side by side in one vm reservation, memset through one of them.
# shellcheck shell=dash
set -eu
# shellcheck source-path=SCRIPTDIR source=ex-lib.sh
. "$DAX_FILES/ex-lib.sh"
need DAX_EXT4_DIR DAX_XFS_DIR NODAX_DIR

A=$DAX_EXT4_DIR/ex-mmf-a.dat B=$DAX_XFS_DIR/ex-mmf-b.dat C=$DAX_EXT4_DIR/ex-mmf-c.dat
mkfile "$A" 4
mkfile "$B" 2
mkfile "$C" 1
if run "map_multiple_files ext4+xfs+ext4" pmdk_ex_map_multiple_files "$A" "$B" "$C"; then
	for f in "$A" "$B" "$C"; do
		# every byte of every file must now be '-'
		expect "$f: all bytes are '-'" "$(tr -d '\055' < "$f" | wc -c)" 0
	done
	expect "$A: size unchanged" "$(wc -c < "$A")" $((4 << 20))
fi

# DAX and non-DAX mappings have different store granularity, hence different
# memset functions; the example refuses to map them side by side
N=$NODAX_DIR/ex-mmf-n.dat
mkfile "$N" 1
if OUT=$(pmdk_ex_map_multiple_files "$A" "$N" 2>&1); then
	bad "DAX + tmpfs file side by side was accepted: $OUT"
else
	case "$OUT" in
	*"filesystems must be compatible"*) ok "DAX + tmpfs refused: $OUT" ;;
	*) bad "DAX + tmpfs failed for another reason: $OUT" ;;
	esac
fi
done_tests
