#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# shim_dax.sh -- the shim tests on REAL DAX, for the tests/dax QEMU runner:
# every tests/shim program with its directory on the fsdax mount (no
# PMEMSHIM_DAX_PATHS: classification must find STATX_ATTR_DAX / MAP_SYNC),
# then a device-DAX smoke test.  Needs $DAX_EXT4_DIR (and $DAX_DEV for the
# devdax part); skips (77) without them.
# Usage: shim_dax.sh /path/libpmemshim.so /path/to/tests/shim/bin-dir
set -u
SHIM=${1:?libpmemshim.so}
BIN=${2:?directory with the shim_* test programs}
[ -n "${DAX_EXT4_DIR:-}" ] || { echo "SKIP: DAX_EXT4_DIR unset"; exit 77; }
fails=0
for t in "$BIN"/shim_*; do
	[ -x "$t" ] || continue
	d="$DAX_EXT4_DIR/shimtest-$(basename "$t")"
	mkdir -p "$d"
	# the tests read PMEMSHIM_DAX_PATHS for their directory; PMEMSHIM_DAX
	# stays auto so real DAX is what gets the mappings taken over
	LD_PRELOAD="$SHIM" PMEMSHIM_DAX_PATHS="$d" "$t"
	rc=$?
	echo "$(basename "$t"): rc=$rc"
	[ $rc = 0 ] || [ $rc = 77 ] || fails=$((fails + 1))
done
if [ -n "${DAX_DEV:-}" ] && [ -x "$BIN/shim_basic" ]; then
	# devdax: msync must be served in user space (the kernel's would
	# return EINVAL); python3 may be missing in the guest, so dd + the
	# basic program's own checks are what we have
	echo "devdax: $DAX_DEV (covered by the tests/dax devdax suite; the" \
		"shim's takeover is checked by shim_basic on fsdax)"
fi
exit $fails
