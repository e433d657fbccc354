#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# python_mmap.sh -- Debian's python3 mmap module: a journal (journal.py)
# written through a shared mapping (slice stores = memcpy into DAX,
# flush() = msync of a range, resize() = ftruncate + mremap), checked by a second python3 run
# without the shim that recomputes the expected contents, and compared
# byte for byte with a run without the shim.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x $PY ] || need_pkg python3 python3
[ -x $PY ] || PY=$(command -v python3)

JOURNAL=$(cd "$(dirname "$0")" && pwd)/journal.py
mkdir "$WORK/plain" "$WORK/dax"
run_plain "$WORK/plain" $PY "$JOURNAL" j.bin write ||
	fail "run without the shim"
run_shim "$WORK/dax" $PY "$JOURNAL" j.bin write ||
	fail "run with the shim"
$PY "$JOURNAL" "$WORK/dax/j.bin" check || fail "journal check"
cmp "$WORK/plain/j.bin" "$WORK/dax/j.bin" ||
	fail "file differs from the run without the shim"
check_takeover
[ "$(stat_sum copies_into_dax)" -gt 0 ] || fail "no copy went into DAX"
[ "$(stat_sum unmaps_of_dax_ranges)" -gt 0 ] || fail "resize not seen"
bench_ratio python3-mmap "$PY" "$JOURNAL" j.bin write
echo "PASS: python3 mmap journal identical with and without the shim"
