#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# run.sh - boot a throwaway QEMU (TCG) guest with 4 emulated NVDIMMs and run
# tests on real fsdax (ext4, xfs) and device DAX inside it.  See README.md.
#
# usage: run.sh --build DIR [options] [TEST...]
#   --build DIR         CMake build directory.  <DIR>/core/libpmem2.so.1 and,
#                       if present, <DIR>/shim/libpmemshim.so are copied into
#                       the guest's /opt/pmemshim/lib (= LD_LIBRARY_PATH).
#   --pmdk              use Debian's (PMDK's) libpmem2.so.1 instead of ours
#                       (the oracle; also the stand-in while ours is missing)
#   --persistence P     mem-ctrl (default, ADR), cpu (eADR) or none: the NFIT
#                       platform capability, i.e. the regions' persistence_domain
#   --kernel SERIES     boot the newest Debian kernel of this series (default
#                       6.1, Debian 12's own; 6.12 is its newest, with
#                       userfaultfd WP_ASYNC and PAGEMAP_SCAN)
#   --file PATH         copy PATH into the guest's /files (on PATH, $DAX_FILES)
#   --args-file F       read more arguments from F, one per line
#   --timeout SEC       limit for the whole guest run (default 300)
#   --test-timeout SEC  limit for each test inside the guest (default 120)
#   --log FILE          guest console log (default
#                       <DIR>/tests/dax/dax-guest-<P>.log)
#   -v, --verbose       also show the guest console on stderr
#   TEST                an executable or a shell script (run with sh); a bare
#                       name is looked up in <DIR>/tests/dax, next to this
#                       script and in its examples/.  Without TESTs,
#                       <DIR>/tests/dax/dax-guest.args (written by CMake)
#                       is used as --args-file.
# One invocation boots once; run it twice for mem-ctrl and cpu.
# Output: "PASS name" / "FAIL name" / "SKIP name: reason" per test (a
# passing test's output lines starting with "@show " are shown above it), then
# "N passed, N failed, N skipped".  Exit: 0 ok, 1 failure (incl. timeout),
# 77 = QEMU cannot run here (or every test skipped), 2 = usage error.
set -euo pipefail
# never exit without a word: a failing command under set -e (a reader that
# quit early, SIGPIPE under pipefail, ...) names itself and its line
set -E
trap 'rc=$?; echo "dax-run: error: line $LINENO: $BASH_COMMAND (exit $rc)" >&2' ERR
# Pipelines here must read their producer to the end: awk '{...; exit}',
# head or grep -q/-m after a producer that still writes kill it with SIGPIPE,
# and pipefail turns that into a failure (ldconfig -p | awk ... exit failed
# ~4% of runs, silently, before the ERR trap above existed).

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${PMEMSHIM_DAX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pmemshim-dax}
PKGS=(qemu-system-x86 busybox-static cpio kmod xz-utils zstd e2fsprogs xfsprogs ndctl daxctl)
# guest kernel modules; modprobe resolves their dependencies and order
MODULES=(nfit nd_pmem nd_btt dax_pmem device_dax ext4 xfs crc32c-intel)
SYSLIB=/usr/lib/x86_64-linux-gnu/libpmem2.so.1

BUILD="" PMDK=0 PERSIST=mem-ctrl KSERIES=6.1 TIMEOUT=300 TEST_TIMEOUT=120 LOG="" VERBOSE=0
TESTS=() FILES=()

msg() { echo "dax-run: $*" >&2; }
usage() { sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit "${1:-2}"; }
skip() { echo "SKIP: $*"; echo "0 passed, 0 failed, 0 skipped"; exit 77; }
die() { msg "error: $*"; exit 2; }

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--build) BUILD=${2:?}; shift 2 ;;
		--pmdk) PMDK=1; shift ;;
		--persistence) PERSIST=${2:?}; shift 2 ;;
		--kernel) KSERIES=${2:?}; shift 2 ;;
		--file) FILES+=("${2:?}"); shift 2 ;;
		--args-file)
			local -a more=()
			mapfile -t more < "${2:?}"
			shift 2
			[ ${#more[@]} -eq 0 ] || parse_args "${more[@]}"
			;;
		--timeout) TIMEOUT=${2:?}; shift 2 ;;
		--test-timeout) TEST_TIMEOUT=${2:?}; shift 2 ;;
		--log) LOG=${2:?}; shift 2 ;;
		-v|--verbose) VERBOSE=1; shift ;;
		-h|--help) usage 0 ;;
		-*) msg "unknown option $1"; usage ;;
		*) TESTS+=("$1"); shift ;;
		esac
	done
}
parse_args "$@"
[ -n "$BUILD" ] || { msg "--build DIR is required"; usage; }
[ -d "$BUILD" ] || die "build directory $BUILD does not exist"
BUILD=$(cd "$BUILD" && pwd)
case "$PERSIST" in mem-ctrl|cpu|none) ;; *) die "--persistence must be mem-ctrl, cpu or none" ;; esac
[[ "$KSERIES" =~ ^[0-9]+\.[0-9]+$ ]] || die "--kernel must be a series such as 6.1 or 6.12"
if [ ${#TESTS[@]} -eq 0 ] && [ -f "$BUILD/tests/dax/dax-guest.args" ]; then
	parse_args --args-file "$BUILD/tests/dax/dax-guest.args"
fi
[ ${#TESTS[@]} -gt 0 ] || die "no tests given (and no $BUILD/tests/dax/dax-guest.args)"
if [ -z "$LOG" ]; then
	LOG=$BUILD/dax-guest-$PERSIST.log
	[ ! -d "$BUILD/tests/dax" ] || LOG=$BUILD/tests/dax/dax-guest-$PERSIST.log
fi

# ------------------------------------------------------------ which libpmem2
if [ "$PMDK" = 1 ]; then
	LIBPMEM2=$SYSLIB
	[ -f "$LIBPMEM2" ] || skip "--pmdk given but $SYSLIB is not installed (apt-get install libpmem2-dev)"
else
	LIBPMEM2=$BUILD/core/libpmem2.so.1
	[ -f "$LIBPMEM2" ] || skip "$LIBPMEM2 not built yet (or pass --pmdk to test PMDK's library)"
fi
SHIM=$BUILD/shim/libpmemshim.so
[ -f "$SHIM" ] || SHIM=""

resolve() { # TEST -> path
	local t=$1
	if [ -f "$t" ]; then echo "$t"
	elif [ -f "$BUILD/tests/dax/$t" ]; then echo "$BUILD/tests/dax/$t"
	elif [ -f "$HERE/$t" ]; then echo "$HERE/$t"
	elif [ -f "$HERE/examples/$t" ]; then echo "$HERE/examples/$t"
	else die "no such test: $t"; fi
}
declare -A SEEN_NAME=()
TEST_PATHS=()
for t in "${TESTS[@]}"; do
	p=$(resolve "$t")
	n=$(basename "$p")
	[ -z "${SEEN_NAME[$n]:-}" ] || die "two tests named $n"
	SEEN_NAME[$n]=1
	TEST_PATHS+=("$p")
done
for f in "${FILES[@]}"; do [ -e "$f" ] || die "no such file: $f"; done

# ------------------------------------------------------------ host checks
mem_avail=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)
[ "${mem_avail:-0}" -ge 1024 ] || skip "only ${mem_avail:-?} MiB of memory available, need 1024"
{ [ -d /dev/shm ] && [ -w /dev/shm ]; } || skip "/dev/shm is missing or not writable"
shm_avail=$(df -Pk /dev/shm | awk 'NR == 2 {print int($4 / 1024)}')
[ "${shm_avail:-0}" -ge 512 ] || skip "/dev/shm has only ${shm_avail:-?} MiB free, need 512"

mkdir -p "$CACHE" || skip "cannot create cache directory $CACHE"
CACHE=$(cd "$CACHE" && pwd)
case "$CACHE/" in "$(cd "$HERE/../.." && pwd)/"*) die "cache $CACHE must not be inside the source tree" ;; esac
exec 9> "$CACHE/.lock"
flock 9 # serialises apt-get and the kernel unpacking between parallel runs

missing=()
for p in "${PKGS[@]}"; do
	case "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" in
	*"ok installed") ;;
	*) missing+=("$p") ;;
	esac
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || skip "packages missing (${missing[*]}) and not root to install them"
	msg "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
		{ apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; } ||
		skip "cannot install ${missing[*]}"
fi

# ------------------------------------------------------------ guest kernel
# The newest cached kernel of the series is reused; otherwise the newest
# one apt knows is downloaded and unpacked (never installed on the host).
# Names: linux-image-6.1.0-56-amd64, linux-image-6.12.117+deb12-amd64 (not
# the -cloud-/-rt- flavours, -dbg or -unsigned).
kre="^${KSERIES//./\\.}\\.[0-9]+[-+][^-]*-amd64\$"
KVER=$(find "$CACHE/kernel" -mindepth 1 -maxdepth 1 -type d ! -name '*.tmp' -printf '%f\n' 2>/dev/null | grep -E "$kre" | sort -V | tail -n 1 || true)
if [ -z "$KVER" ] || [ ! -s "$CACHE/kernel/$KVER/vmlinux" ]; then
	kpkg() { apt-cache pkgnames linux-image- 2>/dev/null | sed -n 's/^linux-image-//p' | grep -E "$kre" | sort -V | tail -n 1; }
	KVER=$(kpkg || true)
	[ -n "$KVER" ] || { apt-get update -qq >&2 || true; KVER=$(kpkg || true); }
	[ -n "$KVER" ] || skip "cannot find a Debian kernel package of series $KSERIES (linux-image-$KSERIES.*-amd64)"
	KPKG=linux-image-$KVER
	msg "downloading and unpacking $KPKG into $CACHE/kernel/$KVER"
	mkdir -p "$CACHE/kernel"
	dl=$(mktemp -d "$CACHE/dl.XXXXXX")
	if ! (cd "$dl" && apt-get download -q "$KPKG" > "$dl/apt.log" 2>&1); then
		cat "$dl/apt.log" >&2
		rm -rf "$dl"
		skip "cannot download $KPKG"
	fi
	kdir=$CACHE/kernel/$KVER
	rm -rf "$kdir" "$kdir.tmp"
	dpkg -x "$dl"/*.deb "$kdir.tmp"
	rm -rf "$dl"
	depmod -b "$kdir.tmp" "$KVER" # the .deb ships no modules.dep
	# PVH boot of the ELF vmlinux (CONFIG_PVH) skips SeaBIOS and the in-guest
	# decompression: ~2.8 s faster under TCG than the bzImage.  6.1 packs
	# it with xz, 6.12 with zstd.
	vmlinuz=$kdir.tmp/boot/vmlinuz-$KVER
	# first_at MAGIC -- byte offset of the first MAGIC in $vmlinuz, or nothing
	first_at() { LC_ALL=C grep -obUaP "$1" "$vmlinuz" | awk -F: 'NR == 1 {print $1}' || true; }
	if off=$(first_at '\xfd7zXZ\x00') && [ -n "$off" ]; then
		unpack=(xz -dc --single-stream)
	elif off=$(first_at '\x28\xb5\x2f\xfd') && [ -n "$off" ]; then
		unpack=(zstd -dcq) # it fails on what follows the first frame: not ours
	else
		die "no xz or zstd stream in $vmlinuz"
	fi
	tail -c +$((off + 1)) "$vmlinuz" | "${unpack[@]}" > "$kdir.tmp/vmlinux" 2>/dev/null || true
	[ "$(head -c 4 "$kdir.tmp/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] ||
		die "could not extract vmlinux from $vmlinuz"
	mv "$kdir.tmp" "$kdir"
fi
KDIR=$CACHE/kernel/$KVER
flock -u 9

# ------------------------------------------------------------ initramfs
# One scratch dir in /dev/shm holds the initramfs stage and the NVDIMM
# backing files; it is removed on exit.  Dirs left by runs that were killed
# (SIGKILL, e.g. a ctest timeout) are removed by the next run.
for d in /dev/shm/pmemshim-dax.*; do
	[ -f "$d/owner" ] || continue
	kill -0 "$(cat "$d/owner")" 2>/dev/null || rm -rf "$d"
done
WORK="" QPID="" TAILPID=""
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
	[ -z "$QPID" ] || kill "$QPID" 2>/dev/null || true # timeout passes it on to qemu
	[ -z "$TAILPID" ] || kill "$TAILPID" 2>/dev/null || true
	[ -z "$QPID" ] || wait "$QPID" 2>/dev/null || true
	[ -z "$LOG" ] || rm -f "$LOG.raw"
	[ -z "$WORK" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
WORK=$(mktemp -d /dev/shm/pmemshim-dax.XXXXXX)
echo $$ > "$WORK/owner"
STAGE=$WORK/stage
QLOG=$WORK/qemu.err
mkdir -p "$STAGE"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,mnt/ext4,mnt/xfs,tests,files,opt/pmemshim/lib}
cp /bin/busybox "$STAGE/bin/busybox"

# modules: modprobe prints "insmod PATH" lines in load order (-C /dev/null:
# ignore the host's modprobe.d, ndctl ships an "install libnvdimm" rule there)
: > "$STAGE/etc/modules.load"
declare -A SEEN_MOD=()
for m in "${MODULES[@]}"; do
	deps=$(modprobe -C /dev/null -d "$KDIR" -S "$KVER" --show-depends "$m") || die "module $m not found in $KVER"
	while read -r kind path _; do
		[ "$kind" = insmod ] || continue
		rel=${path#"$KDIR/lib/modules/$KVER/"}
		[ -z "${SEEN_MOD[$rel]:-}" ] || continue
		SEEN_MOD[$rel]=1
		dst=$STAGE/lib/modules/$KVER/${rel%.xz}
		mkdir -p "$(dirname "$dst")"
		case "$rel" in
		*.xz) xz -dc "$path" > "$dst" ;; # busybox insmod wants plain .ko
		*) cp "$path" "$dst" ;;
		esac
		echo "${rel%.xz}" >> "$STAGE/etc/modules.load"
	done <<< "$deps"
done

copy_libs() { # copy the shared libraries of ELF file $1 (ldd), except libpmem2
	local lib dst
	ldd "$1" >/dev/null 2>&1 || return 0 # static or not ELF
	# mawk has no \s: take every absolute path ldd prints (incl. ld-linux)
	for lib in $(ldd "$1" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'); do
		case "$(basename "$lib")" in libpmem2.so*|libpmemshim.so*) continue ;; esac
		case "$lib" in
		/lib/*|/lib64/*|/usr/lib/*|/usr/lib64/*) dst=$lib ;;
		# a build-tree library (a test's own): the guest mounts tmpfs
		# over /tmp and /run, so a copy under its build path could be
		# hidden; LD_LIBRARY_PATH finds it here
		*) dst=/opt/pmemshim/lib/$(basename "$lib") ;;
		esac
		[ -e "$STAGE$dst" ] && continue
		mkdir -p "$STAGE$(dirname "$dst")"
		cp -L "$lib" "$STAGE$dst"
	done
}
copy_tool() { # SRC DST
	cp -L "$1" "$STAGE$2"
	copy_libs "$1"
}
copy_tool "$(command -v mke2fs)" /usr/sbin/mke2fs
ln -s mke2fs "$STAGE/usr/sbin/mkfs.ext4"
copy_tool "$(command -v mkfs.xfs)" /usr/sbin/mkfs.xfs
copy_tool "$(command -v ndctl)" /usr/bin/ndctl
copy_tool "$(command -v daxctl)" /usr/bin/daxctl
[ ! -f /etc/mke2fs.conf ] || cp /etc/mke2fs.conf "$STAGE/etc/"

cp -L "$LIBPMEM2" "$STAGE/opt/pmemshim/lib/libpmem2.so.1"
copy_libs "$LIBPMEM2"
if [ -n "$SHIM" ]; then
	cp -L "$SHIM" "$STAGE/opt/pmemshim/lib/libpmemshim.so"
	copy_libs "$SHIM"
	# the fault-injection build, for tests/shim/shim_faults
	[ ! -f "$BUILD/shim/libpmemshim-faults.so" ] ||
		cp -L "$BUILD/shim/libpmemshim-faults.so" "$STAGE/opt/pmemshim/lib/"
	# PMEMSHIM_STATS dlopens libunwind for the call sites of its report
	unwind=$(ldconfig -p | awk '$1 == "libunwind.so.8" && /x86-64/ && !n++ {print $NF}')
	if [ -n "$unwind" ]; then
		mkdir -p "$STAGE$(dirname "$unwind")"
		cp -L "$unwind" "$STAGE$unwind"
		copy_libs "$unwind"
	fi
fi
for f in "${FILES[@]}"; do
	cp -rL "$f" "$STAGE/files/"
	[ -d "$f" ] || copy_libs "$f"
done
: > "$STAGE/etc/tests"
for p in "${TEST_PATHS[@]}"; do
	n=$(basename "$p")
	cp -L "$p" "$STAGE/tests/$n"
	chmod +x "$STAGE/tests/$n"
	copy_libs "$p"
	echo "$n" >> "$STAGE/etc/tests"
done
{
	echo "KVER=$KVER"
	echo "DAX_PERSISTENCE=$PERSIST"
	echo "TEST_TIMEOUT=$TEST_TIMEOUT"
	echo "LIBSRC=$LIBPMEM2"
} > "$STAGE/etc/dax.conf"
cp "$HERE/guest-init.sh" "$STAGE/init"
chmod +x "$STAGE/init"
INITRD=$WORK/initramfs.cpio
(cd "$STAGE" && find . | sort | cpio -o -H newc --quiet) > "$INITRD" # uncompressed: faster boot
rm -rf "$STAGE"

# ------------------------------------------------------------ boot
NV=()
for i in 0 1 2; do
	truncate -s 512M "$WORK/nvdimm$i" # sparse; ~110 MB get touched
	lbl=""
	[ $i != 2 ] || lbl=",label-size=128K" # labelled DIMM -> devdax namespace
	NV+=(-object "memory-backend-file,id=mem$i,share=on,mem-path=$WORK/nvdimm$i,size=512M"
		-device "nvdimm,id=nv$i,memdev=mem$i$lbl")
done
# a 4th, label-less, for device DAX with 1 GiB pages: its data must start
# on a 1 GiB boundary after the info block, so 2 GiB give 1 GiB of device
# (sparse: only the info block and the pages a test writes are stored)
truncate -s 2G "$WORK/nvdimm3"
NV+=(-object "memory-backend-file,id=mem3,share=on,mem-path=$WORK/nvdimm3,size=2G,align=1G"
	-device "nvdimm,id=nv3,memdev=mem3")
MACHINE=pc,nvdimm=on
[ "$PERSIST" = none ] || MACHINE=$MACHINE,nvdimm-persistence=$PERSIST
mkdir -p "$(dirname "$LOG")"
msg "booting $KVER (TCG, persistence=$PERSIST, ${#TEST_PATHS[@]} tests, libpmem2 from $LIBPMEM2), log: $LOG"
T0=$(date +%s%N)
: > "$LOG.raw"
if [ "$VERBOSE" = 1 ]; then
	tail -n +1 -f "$LOG.raw" >&2 &
	TAILPID=$!
fi
# TCG only: the /dev/kvm seen on such hosts can be far slower than TCG (see
# the reference NOTES).  Plain timeout, not --foreground (did not kill qemu).
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 1 \
	-machine "$MACHINE" -m 512M,slots=4,maxmem=8G "${NV[@]}" \
	-nodefaults -no-user-config -display none -serial stdio -no-reboot \
	-kernel "$KDIR/vmlinux" -initrd "$INITRD" \
	-append "console=ttyS0 panic=-1 rdinit=/init loglevel=3 mitigations=off nokaslr tsc=reliable" \
	< /dev/null > "$LOG.raw" 2> "$QLOG" &
QPID=$!
QRC=0
wait "$QPID" || QRC=$? # in the background so that INT/TERM are handled at once
QPID=""
if [ -n "$TAILPID" ]; then sleep 0.2; kill "$TAILPID" 2>/dev/null || true; TAILPID=""; fi
tr -d '\r' < "$LOG.raw" > "$LOG"
rm -f "$LOG.raw"
console_bytes=$(wc -c < "$LOG")
cat "$QLOG" >> "$LOG"
MS=$((($(date +%s%N) - T0) / 1000000))
msg "qemu exit $QRC after $((MS / 1000)).$(printf %03d $((MS % 1000))) s"
if [ "$QRC" != 0 ] && [ "$QRC" != 124 ] && [ "$console_bytes" = 0 ]; then
	skip "qemu could not start the guest: $(head -n 1 "$QLOG")"
fi

# ------------------------------------------------------------ results
# Guest protocol: "@@DAXT BEGIN name", "| output...", "@@DAXT END name rc",
# "@@DAXT SETUP-FAIL reason", "@@DAXT DONE".
pass=0 fail=0 skipped=0
declare -A DONE_T=()
out=()
while IFS= read -r line; do
	case "$line" in
	"@@DAXT BEGIN "*) out=() ;;
	"| "*) out+=("${line#| }") ;;
	"@@DAXT SETUP-FAIL "*)
		echo "FAIL guest-setup: ${line#@@DAXT SETUP-FAIL }"
		fail=$((fail + 1)) ;;
	"@@DAXT END "*)
		read -r _ _ name rc <<< "$line"
		DONE_T[$name]=1
		if [ "$rc" = 0 ]; then
			# a test's "@show " lines (tables, numbers) are shown when it passes too
			for l in "${out[@]}"; do case "$l" in "@show "*) echo "    ${l#@show }" ;; esac; done
			echo "PASS $name"; pass=$((pass + 1))
		elif [ "$rc" = 77 ]; then
			reason=""
			for l in "${out[@]}"; do case "$l" in *SKIP*) reason=${l#*SKIP}; reason=${reason#:} ;; esac; done
			[ -n "$reason" ] || reason=${out[${#out[@]}-1]:-no reason given}
			echo "SKIP $name: ${reason# }"; skipped=$((skipped + 1))
		else
			for l in "${out[@]}"; do echo "    | $l"; done
			case "$rc" in
			124|143) echo "FAIL $name (timed out after ${TEST_TIMEOUT}s)" ;;
			*) echo "FAIL $name (exit $rc)" ;;
			esac
			fail=$((fail + 1))
		fi ;;
	esac
done < <(grep -a -E '^(@@DAXT|\| )' "$LOG")

why="guest crashed or did not finish"
[ "$QRC" != 124 ] || why="whole run timed out after ${TIMEOUT}s"
grep -q '^@@DAXT DONE' "$LOG" || { echo "FAIL guest: $why (see $LOG)"; fail=$((fail + 1)); }
for p in "${TEST_PATHS[@]}"; do
	n=$(basename "$p")
	[ -n "${DONE_T[$n]:-}" ] || { echo "FAIL $n (no result: $why)"; fail=$((fail + 1)); }
done
echo "$pass passed, $fail failed, $skipped skipped"
[ "$fail" = 0 ] || exit 1
[ "$pass" -gt 0 ] || exit 77
exit 0
