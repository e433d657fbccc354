#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# install_deb.sh -- build the .deb with CPack, unpack it (dpkg -x) into a
# scratch root and use it as a user would:
#   - control fields, the library symlink chain and SONAME libpmem2.so.1,
#     no file shared with Debian's libpmem2/libpmem2-dev (no silent clash);
#   - `pkg-config --cflags --libs libpmem2` from the scratch root builds
#     PMDK's basic example against the installed header, and the program
#     loads the installed library (RUNPATH from the .pc) and works on a
#     tmpfs file with PMEM2_FORCE_GRANULARITY=CACHE_LINE;
#   - the installed tools find the installed libraries; man pages render.
#   install_deb.sh BUILD_DIR LIBDIR INCLUDEDIR [standard]
# (LIBDIR etc. under /usr).  "standard": a tree configured with
# -DPMEMSHIM_PRIVATE_DIR=OFF, which replaces PMDK's library in the
# standard directories: the package must declare Conflicts and Replaces
# on Debian's libpmem2 and libpmem2-dev and Provide libpmem2 (= 1.12.1),
# and its libpmem2.pc adds no RUNPATH (the loader's own path is where the
# library goes), so the example runs from the scratch root with
# LD_LIBRARY_PATH.
set -u
BUILD=${1:?build dir}
LIBDIR=/usr/${2:?libdir}
INCDIR=/usr/${3:?includedir}
STANDARD=0
[ "${4:-}" = standard ] && STANDARD=1
W=$(mktemp -d /dev/shm/pmemshim-install.XXXXXX)
trap 'rm -rf "$W"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
need() { command -v "$1" >/dev/null || { echo "SKIP: no $1"; exit 77; }; }
need cpack; need dpkg-deb; need pkg-config; need cc; need readelf

cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$W/pkg" >"$W/cpack.log" 2>&1 ||
	{ cat "$W/cpack.log"; echo "FAIL: cpack"; exit 1; }
deb=$(ls "$W"/pkg/*.deb)
[ -f "$deb" ] || { echo "FAIL: no .deb"; exit 1; }
echo "package: $(basename "$deb")"
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = pmemshim ] || fail "Package: $(field Package)"
field Version | grep -qE '^[0-9]+\.[0-9]+\.[0-9]+$' || fail "Version: $(field Version)"
field Depends | grep -q libc6 || fail "Depends: $(field Depends)"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] ||
	fail "Architecture: $(field Architecture)"

if [ $STANDARD = 1 ]; then
	[ "$(field Conflicts)" = "libpmem2, libpmem2-dev" ] ||
		fail "Conflicts: '$(field Conflicts)'"
	[ "$(field Replaces)" = "libpmem2, libpmem2-dev" ] ||
		fail "Replaces: '$(field Replaces)'"
	[ "$(field Provides)" = "libpmem2 (= 1.12.1)" ] ||
		fail "Provides: '$(field Provides)'"
else
	for f in Conflicts Replaces Provides; do
		[ -z "$(field $f)" ] || fail "$f in the private layout: $(field $f)"
	done
fi

R=$W/root
dpkg -x "$deb" "$R" || { echo "FAIL: dpkg -x"; exit 1; }

# the libraries: libpmem2.so -> libpmem2.so.1 -> libpmem2.so.1.x.y, SONAME
L=$R$LIBDIR
[ "$(readlink "$L/libpmem2.so")" = libpmem2.so.1 ] || fail "libpmem2.so link"
real=$(readlink "$L/libpmem2.so.1")
case $real in libpmem2.so.1.*) ;; *) fail "libpmem2.so.1 -> '$real'" ;; esac
[ -f "$L/$real" ] && [ ! -L "$L/$real" ] || fail "$real is not a file"
readelf -d "$L/$real" | grep -q 'SONAME.*\[libpmem2\.so\.1\]' ||
	fail "SONAME is not libpmem2.so.1"
[ -f "$L/libpmemshim.so" ] || fail "no libpmemshim.so"
for f in "$R$INCDIR/libpmem2.h" "$R$INCDIR/libpmem2/base.h" \
		"$R/usr/bin/pmemshim" "$R/usr/bin/pmem2-info" \
		"$R/usr/bin/pmem2-bench"; do
	[ -f "$f" ] || fail "missing ${f#"$R"}"
done

# no path the package ships is owned by Debian's libpmem2 packages
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|; s|/$||' |
	sort >"$W/ours"
for p in libpmem2 libpmem2-dev; do
	dpkg -L "$p" 2>/dev/null
done | sort -u >"$W/debian"
if [ -s "$W/debian" ]; then
	comm -12 "$W/ours" "$W/debian" | while read -r f; do
		[ -d "$R$f" ] || echo "$f"
	done >"$W/clash"
	if [ -s "$W/clash" ] && ! field Conflicts | grep -q libpmem2; then
		fail "files also in Debian's libpmem2, no Conflicts: $(cat "$W/clash")"
	fi
else
	echo "note: Debian's libpmem2 not installed, clash check not done"
fi

# pkg-config from the scratch root only
PCP=$R$LIBDIR/pkgconfig
export PKG_CONFIG_PATH="$PCP" PKG_CONFIG_LIBDIR="$PCP"
flags=$(pkg-config --cflags --libs libpmem2) || fail "pkg-config libpmem2"
echo "pkg-config --cflags --libs libpmem2: $flags"
pkg-config --atleast-version=1.12 libpmem2 || fail "libpmem2.pc version < 1.12"
PKG_CONFIG_LIBDIR=$R/usr/lib/pkgconfig pkg-config --libs pmemshim \
	>/dev/null || fail "pmemshim.pc"
shimlib=$(PKG_CONFIG_LIBDIR=$R/usr/lib/pkgconfig pkg-config \
	--variable=shimlib pmemshim)
[ "$(readlink -f "$shimlib")" = "$(readlink -f "$L/libpmemshim.so")" ] ||
	fail "pmemshim.pc shimlib=$shimlib"

ex=/usr/share/doc/libpmem2-dev/examples/basic/basic.c
# shellcheck disable=SC2086
cc -O2 $(pkg-config --cflags libpmem2) "$ex" -o "$W/basic" \
	$(pkg-config --libs libpmem2) || fail "building basic.c"
# shellcheck disable=SC2086
hdr=$(cc -M $(pkg-config --cflags libpmem2) "$ex" | tr ' ' '\n' |
	grep '/libpmem2\.h$')
[ "$(readlink -f "$hdr")" = "$(readlink -f "$R$INCDIR/libpmem2.h")" ] ||
	fail "basic.c used the header '$hdr'"
if [ $STANDARD = 1 ]; then
	readelf -d "$W/basic" | grep -q 'R.*PATH' &&
		fail "basic has a RUNPATH in the standard layout"
	export LD_LIBRARY_PATH="$L"
fi
want=$(readlink -f "$L/libpmem2.so.1")
got=$(ldd "$W/basic" | awk '$1 == "libpmem2.so.1" { print $3 }')
[ -n "$got" ] && [ "$(readlink -f "$got")" = "$want" ] ||
	fail "basic resolves libpmem2.so.1 to '$got', not $want"
truncate -s 16M "$W/file"
PMEM2_FORCE_GRANULARITY=CACHE_LINE LD_DEBUG=libs "$W/basic" "$W/file" \
	2>"$W/ld.log" || fail "basic exit $?"
init=$(sed -n 's/.*calling init: \(.*libpmem2\.so\.1\)$/\1/p' "$W/ld.log")
[ -n "$init" ] && [ "$(readlink -f "$init")" = "$want" ] ||
	fail "the installed library was not the one initialised ('$init')"
[ "$(head -c 24 "$W/file")" = "hello, persistent memory" ] ||
	fail "file does not hold the example's string"
unset PKG_CONFIG_PATH PKG_CONFIG_LIBDIR LD_LIBRARY_PATH

# the installed tools find the installed libraries
"$R/usr/bin/pmem2-info" --help >/dev/null || fail "pmem2-info --help"
got=$(ldd "$R/usr/bin/pmem2-info" | awk '$1 == "libpmem2.so.1" { print $3 }')
[ "$(readlink -f "$got")" = "$want" ] || fail "pmem2-info uses '$got'"
PMEM2_FORCE_GRANULARITY=CACHE_LINE "$R/usr/bin/pmem2-info" "$W/file" \
	>/dev/null || fail "installed pmem2-info on a forced-DAX file: $?"
"$R/usr/bin/pmemshim" --print-env >"$W/env" || fail "pmemshim --print-env"
grep -qx "LD_PRELOAD=$(readlink -f "$L/libpmemshim.so")" "$W/env" ||
	fail "installed launcher preloads: $(cat "$W/env")"
"$R/usr/bin/pmem2-bench" --help >/dev/null || fail "pmem2-bench --help"
if grep -q avx512f /proc/cpuinfo; then
	"$R/usr/bin/pmem2-bench" --quick --reps 1 >"$W/bench" 2>&1 ||
		fail "installed pmem2-bench: $(tail -1 "$W/bench")"
	used=$(sed -n 's/^ours: //p' "$W/bench")
	[ "$(readlink -f "$used")" = "$want" ] ||
		fail "installed pmem2-bench measured '$used', not $want"
else
	echo "note: no AVX-512F, installed pmem2-bench not run"
fi
for m in pmemshim pmem2-info pmem2-bench; do
	page=$R/usr/share/man/man1/$m.1.gz
	gzip -t "$page" 2>/dev/null || { fail "no gzip'ed man page $m.1.gz"; continue; }
	if command -v groff >/dev/null; then
		warn=$(gzip -dc "$page" | groff -man -ww -z 2>&1)
		[ -z "$warn" ] || fail "$m.1: $warn"
		gzip -dc "$page" | groff -man -Tascii -P-bcou 2>/dev/null | grep -q "^NAME" ||
			fail "$m.1 does not render"
	fi
done

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "PASS: .deb unpacked, PMDK's basic example built with pkg-config and run on the installed library"
