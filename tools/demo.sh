#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# demo.sh -- the README's first command: build pmemshim, then show it at
# work, both halves:
#   1. an unmodified Debian program (python3 and its mmap module, writing a
#      journal with an msync after every record) under the shim, through
#      the pmemshim launcher, on an emulated-DAX tmpfs directory: the shim's
#      stats report, and the same workload's time without the shim (on
#      tmpfs and on the disk), side by side, with the caveats;
#   2. PMDK's basic example, compiled from Debian's libpmem2-dev, run
#      unchanged with our libpmem2.so.1 in place of PMDK's;
#   3. the mapping benchmark: our library and PMDK's side by side.
# DEMO_RECORDS (default 1000) sets the journal's length, DEMO_RUNS (3) the
# runs per setting (the median is shown).  DEMO_QUICK=1 (the ctest smoke
# run): no package installation or build (BUILD_DIR must be built), 100
# records, one run, the mapping benchmark's --quick mode.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
quick=${DEMO_QUICK:-0}
records=${DEMO_RECORDS:-$( ((quick)) && echo 100 || echo 1000)}
runs=${DEMO_RUNS:-$( ((quick)) && echo 1 || echo 3)}

if ((!quick)); then
	bash "$top/tools/install-deps.sh" python3
	cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$build" -j"$(nproc)" >/dev/null
fi

launcher=$build/tools/pmemshim/pmemshim
journal=$top/tests/acceptance/journal.py
py=/usr/bin/python3
work=$(mktemp -d /dev/shm/pmemshim-demo.XXXXXX)
disk=$(mktemp -d "${TMPDIR:-/var/tmp}/pmemshim-demo.XXXXXX")
trap 'rm -rf "$work" "$disk"' EXIT
mkdir "$work/plain" "$work/dax"

# ms_of CMD... -- run CMD, print its wall time in ms
ms_of() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

echo "== 1. An unmodified Debian program under the shim"
echo "python3 (Debian's, with its mmap module) writes a $records-record journal"
echo "into a shared file mapping and calls flush() -- msync(2) -- after every"
echo "record: the durability pattern of a log or a database."
echo "  $ pmemshim --dax-path $work/dax --stats=FILE -- python3 journal.py ..."
echo
fstype=$(findmnt -n -o FSTYPE -T "$disk" 2>/dev/null || stat -f -c %T "$disk")
declare -a t_tmpfs t_disk t_shim
for ((r = 0; r < runs; r++)); do
	# interleaved, so the machine's load hits all three alike
	t_tmpfs+=("$(ms_of "$py" "$journal" "$work/plain/j.bin" write "$records")")
	t_disk+=("$(ms_of "$py" "$journal" "$disk/j.bin" write "$records")")
	rm -f "$work/stats.txt"
	t_shim+=("$(ms_of "$launcher" --dax-path "$work/dax" \
		--stats="$work/stats.txt" -- \
		"$py" "$journal" "$work/dax/j.bin" write "$records")")
done
"$py" "$journal" "$work/dax/j.bin" check "$records" >/dev/null
cmp -s "$work/plain/j.bin" "$work/dax/j.bin" && cmp -s "$disk/j.bin" "$work/dax/j.bin" ||
	{ echo "demo: the journals differ" >&2; exit 1; }

echo "The shim's report (PMEMSHIM_STATS) of the last run:"
sed 's/^/  /' "$work/stats.txt"
stat_of() { awk -v n="$1" '$2 == n { s += $3 } END { print s + 0 }' "$work/stats.txt"; }
taken=$(stat_of maps_taken_over)
user=$(stat_of msync_user_space)
flushed=$(stat_of msync_bytes_flushed)
[ "$taken" -gt 0 ] && [ "$user" -gt 0 ] ||
	{ echo "demo: the shim did not take the mapping over" >&2; exit 1; }

tm=$(median "${t_tmpfs[@]}") dm=$(median "${t_disk[@]}") sm=$(median "${t_shim[@]}")
echo
echo "Wall time$( ((runs > 1)) && echo ", median of $runs interleaved runs") (the three journals are identical):"
printf '  %-34s %9s  %s\n' "setting" "time" "what msync does"
printf '  %-34s %6s ms  %s\n' "without the shim, tmpfs" "$tm" \
	"nothing: RAM, no durability at all"
printf '  %-34s %6s ms  %s\n' "without the shim, $fstype disk" "$dm" \
	"the kernel writes the pages to the disk ($disk)"
printf '  %-34s %6s ms  %s\n' "with the shim, emulated DAX" "$sm" \
	"user-space cache flush: $user msyncs, $((flushed / 1024)) KiB"
echo
awk -v t="$tm" -v d="$dm" -v s="$sm" -v fs="$fstype" 'BEGIN {
	if (s < 1) s = 1
	if (t < 1) t = 1
	printf "  the shim vs the kernel msync on %s: %.1fx %s\n", fs,
		(d >= s) ? d / s : s / d, (d >= s) ? "faster" : "slower"
	printf "  the shim vs tmpfs without the shim: %.2fx the time\n", s / t }'
cat <<EOT

How to read this honestly:
- The tmpfs run without the shim is a floor, not a competitor: tmpfs is
  RAM, its msync makes nothing durable and costs almost nothing.  The shim
  does the real work persistent memory needs (a cache-line flush of every
  page msync names, then a fence), so on tmpfs it is usually somewhat
  slower than doing nothing.
- On the disk, msync is what durability costs a program without
  persistent memory: every call waits for the device.
- On real DAX (fsdax/devdax) without the shim, the kernel's msync does the
  same cache flush as the shim plus a page-table walk and write-protect
  faults on the next store; measuring that needs real DAX (the QEMU guest
  in tests/dax).  The emulated directory here is only as durable as tmpfs:
  --dax-path is the operator's declaration, meant for testing.
- Programs that msync their whole mapping after small changes (tdbtool,
  tcamgr) are slower under the shim on tmpfs than without it: even when
  the shim flushes only the pages written since the last msync (Linux
  6.7+, PMEMSHIM_TRACK), that is real work the tmpfs run skips, plus a
  write-protect fault per page (README, Performance).
EOT

echo
echo "== 2. PMDK's basic example, built against PMDK's header, run with OUR library"
examples=/usr/share/doc/libpmem2-dev/examples
gcc -O2 -I/usr/include "$examples/basic/basic.c" -o "$work/basic" -lpmem2
truncate -s 16M "$work/file"
PMEM2_FORCE_GRANULARITY=CACHE_LINE LD_LIBRARY_PATH="$build/core" \
	LD_DEBUG=libs "$work/basic" "$work/file" 2>"$work/ld.log"
grep -m1 -o "calling init: $build/core/libpmem2.so.1" "$work/ld.log" ||
	{ echo "demo: our library was not the one loaded" >&2; exit 1; }
printf 'file now starts with: "%s"\n' "$(head -c 24 "$work/file")"

echo
echo "== 3. mapping paths: ours vs PMDK's libpmem2, measured side by side"
"$build/tools/pmem2-mapbench/pmem2-mapbench" "$build/core/libpmem2.so.1" \
	$( ((quick)) && echo --quick)
