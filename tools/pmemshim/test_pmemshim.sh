#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# test_pmemshim.sh -- the launcher as a user runs it: --help covers every
# option and every PMEMSHIM_* variable the shim reads, bad arguments give a
# message and exit 2, the options become the right environment, and a real
# program run through it has its mapping taken over (stats report).
#   test_pmemshim.sh BUILD/tools/pmemshim/pmemshim BUILD/shim/libpmemshim.so
set -u
L=${1:?launcher}
SHIM=${2:?libpmemshim.so}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d /dev/shm/pmemshim-launcher.XXXXXX)
trap 'rm -rf "$W"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# --help: exit 0, every variable the shim reads (from its source) and every
# option named
"$L" --help >"$W/help" 2>&1 || fail "--help exit $?"
vars=$(grep -o 'env_get("PMEMSHIM_[A-Z_]*")' "$SRC/shim/init.c" |
	sed 's/env_get("\(.*\)")/\1/' | sort -u)
[ -n "$vars" ] || fail "found no PMEMSHIM_ variable in shim/init.c"
for v in $vars; do
	grep -q "$v" "$W/help" || fail "--help does not mention $v"
done
for o in --dax-path --stats --log --dax --granularity --memcpy --track --alias --filter \
		--lib --print-env --help --version; do
	grep -q -- "$o" "$W/help" || fail "--help does not mention $o"
done
grep -q "default" "$W/help" || fail "--help gives no defaults"
"$L" --version | grep -q '^pmemshim [0-9]' || fail "--version"

# bad arguments: exit 2, a message naming the problem, nothing run
bad() {
	want=$1; shift
	"$L" "$@" >"$W/out" 2>"$W/err" && { fail "'$*' succeeded"; return; }
	rc=$?
	[ $rc -eq 2 ] || fail "'$*' exit $rc, want 2"
	grep -q "^pmemshim: .*$want" "$W/err" ||
		fail "'$*' message: $(head -1 "$W/err") (want: $want)"
	[ -s "$W/out" ] && fail "'$*' wrote to stdout"
}
bad "unknown option '--bogus'" --bogus -- true
bad "needs a value" --log
bad "'7' is not one of" --log 7 -- true
bad "is not one of" --dax maybe -- true
bad "is not one of" --granularity PAGE -- true
bad "is not one of" --memcpy fast -- true
bad "is not one of" --track maybe -- true
bad "is not one of" --alias maybe -- true
bad "is not a directory" --dax-path "$W/missing" -- true
bad "contains ':'" --dax-path "$W:/tmp" -- true
bad "is not a file" --lib "$W/nolib.so" -- true
bad "no program given" --dax-path "$W"
bad "leave --stats out" --stats=0 -- true

# options -> environment (print-env and the real environment agree)
mkdir "$W/d1" "$W/d2"
"$L" --dax-path "$W/d1" --dax-path="$W/d2" --stats=rel.txt --log 2 \
	--dax off --granularity byte --memcpy off --track off --alias off \
	--filter a:b \
	--print-env \
	>"$W/env" || fail "--print-env exit $?"
expect() { grep -qx "$1" "$W/env" || fail "--print-env lacks $1"; }
expect "LD_PRELOAD=$(cd "$(dirname "$SHIM")" && pwd -P)/$(basename "$SHIM")"
expect "PMEMSHIM_DAX_PATHS=$W/d1:$W/d2"
expect "PMEMSHIM_STATS=$PWD/rel.txt"
expect "PMEMSHIM_LOG=2"
expect "PMEMSHIM_DAX=off"
expect "PMEMSHIM_GRANULARITY=BYTE"
expect "PMEMSHIM_MEMCPY=off"
expect "PMEMSHIM_TRACK=off"
expect "PMEMSHIM_ALIAS=off"
expect "PMEMSHIM_FILTER=a:b"
LD_PRELOAD=/x.so "$L" --stats -- sh -c 'echo "$LD_PRELOAD|$PMEMSHIM_STATS"' \
	>"$W/real" 2>/dev/null || fail "run sh"
case $(cat "$W/real") in
*libpmemshim.so:/x.so\|1) ;;
*) fail "environment of the program: $(cat "$W/real")" ;;
esac

# exit status passes through; a missing program is 127
"$L" -- sh -c 'exit 3'; [ $? -eq 3 ] || fail "exit status not passed on"
"$L" -- "$W/no-such-program" 2>/dev/null; rc=$?
[ $rc -eq 127 ] || fail "missing program: exit $rc, want 127"

# a real program: python3 writes through a shared mapping of a file in the
# emulated-DAX directory and msyncs; the shim must report the takeover
PY=/usr/bin/python3
[ -x $PY ] || PY=$(command -v python3) || PY=
if [ -n "$PY" ]; then
	"$L" --dax-path "$W/d1" --stats="$W/stats.txt" -- $PY -c '
import mmap, os
fd = os.open("'"$W"'/d1/f", os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 1 << 20)
m = mmap.mmap(fd, 1 << 20, mmap.MAP_SHARED)
m[0:4096] = b"x" * 4096
m.flush()
' || fail "python3 under the launcher"
	taken=$(awk '$2 == "maps_taken_over" { s += $3 } END { print s + 0 }' \
		"$W/stats.txt" 2>/dev/null)
	user=$(awk '$2 == "msync_user_space" { s += $3 } END { print s + 0 }' \
		"$W/stats.txt" 2>/dev/null)
	[ "${taken:-0}" -gt 0 ] && [ "${user:-0}" -gt 0 ] ||
		fail "no takeover reported (maps $taken, msyncs $user)"
else
	echo "note: no python3, the real-program run was not done"
fi

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "PASS: pmemshim launcher"
