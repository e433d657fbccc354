#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# run-host.sh -- PMDK's libpmem2 examples (from Debian's libpmem2-dev, built
# by tests/dax) run with OUR libpmem2.so.1 on tmpfs files, with
# PMEM2_FORCE_GRANULARITY=CACHE_LINE.  Each check compares the example's
# output with what the example itself is documented to produce.
#   run-host.sh BIN_DIR OUR_LIB_DIR
set -euo pipefail
bin=$1
lib=$2
[ -x "$bin/pmdk_ex_basic" ] || { echo "SKIP: PMDK examples not built"; exit 77; }
work=$(mktemp -d /dev/shm/pmem2-examples.XXXXXX)
trap 'rm -rf "$work"' EXIT
export PMEM2_FORCE_GRANULARITY=CACHE_LINE LD_LIBRARY_PATH=$lib
fails=0
ok() { echo "ok:   $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi; }
ex() { local n=$1; shift; "$bin/pmdk_ex_$n" "$@" 2>&1; }

# the loader must pick our library, or this test proves nothing
LD_DEBUG=libs "$bin/pmdk_ex_basic" /nonexistent 2>"$work/ld" || true
grep -q "calling init: $lib/libpmem2.so.1" "$work/ld" ||
	{ bad "our libpmem2 was not loaded from $lib"; exit 1; }

s='hello, persistent memory'
truncate -s 4M "$work/basic"
ex basic "$work/basic" >/dev/null || bad "basic exited $?"
expect "basic wrote the string" "$(head -c ${#s} "$work/basic")" "$s"
got=$(ex advanced "$work/basic" 0 ${#s} | tr -s ' \n' '  ' | sed 's/ $//')
want=$(printf '%s' "$s" | od -An -v -tx1 | tr 'a-f\n' 'A-F ' | tr -s ' ' |
	sed 's/^ //; s/ $//')
expect "advanced reads it back" "$got" "$want"

truncate -s 2M "$work/log"
ex log "$work/log" rewind >/dev/null
expect "log append+dump" "$(ex log "$work/log" append hello appendv 2 world pmem dump)" \
	"helloworldpmem"
expect "log dump in a new process" "$(ex log "$work/log" dump)" "helloworldpmem"
expect "log rewind" "$(ex log "$work/log" rewind dump)" ""

truncate -s 4M "$work/redo"
ex redo add "$work/redo" 3 30 1 10 2 20 >/dev/null || bad "redo add"
ex redo check "$work/redo" >/dev/null && ok "redo consistent" || bad "redo check"
expect "redo print" "$(ex redo print "$work/redo")" "$(printf '1 = 10\n2 = 20\n3 = 30')"

truncate -s 4M "$work/ring"
ex ringbuf "$work/ring" 64 2000 >/dev/null && ok "ringbuf 64 B x 2000" || bad "ringbuf"

for f in a b c; do truncate -s 4M "$work/$f"; done
ex map_multiple_files "$work/a" "$work/b" "$work/c" >/dev/null &&
	ok "map_multiple_files" || bad "map_multiple_files"
expect "map_multiple_files filled every byte" \
	"$(cat "$work/a" "$work/b" "$work/c" | tr -d '\055' | wc -c)" 0

echo "$fails failed check(s)"
[ "$fails" = 0 ]
