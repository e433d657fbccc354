#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# demo.sh -- the README's first command: build pmemshim, then show it at
# work next to PMDK's own libpmem2:
#   1. PMDK's example programs, compiled from Debian's libpmem2-dev, run
#      unchanged with our libpmem2.so.1 in place of PMDK's;
#   2. the mapping benchmark: our library and PMDK's side by side.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}

bash "$top/tools/install-deps.sh"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

work=$(mktemp -d /dev/shm/pmemshim-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
examples=/usr/share/doc/libpmem2-dev/examples

echo "== PMDK's basic example, built against PMDK's header, run with OUR library"
gcc -O2 -I/usr/include "$examples/basic/basic.c" -o "$work/basic" -lpmem2
truncate -s 16M "$work/file"
PMEM2_FORCE_GRANULARITY=CACHE_LINE LD_LIBRARY_PATH="$build/core" \
	LD_DEBUG=libs "$work/basic" "$work/file" 2>"$work/ld.log"
grep -m1 -o "calling init: $build/core/libpmem2.so.1" "$work/ld.log" ||
	{ echo "demo: our library was not the one loaded" >&2; exit 1; }
printf 'file now starts with: "%s"\n' "$(head -c 24 "$work/file")"

echo
echo "== mapping paths: ours vs PMDK's libpmem2, measured side by side"
"$build/tools/pmem2-mapbench/pmem2-mapbench" "$build/core/libpmem2.so.1"
