#!/bin/busybox sh
# SPDX-License-Identifier: BSD-3-Clause
# guest-init.sh - /init of the DAX test guest: set up fsdax (ext4, xfs) and
# device DAX on the 3 emulated NVDIMMs, run /tests/*, report, power off.
#
# Console protocol (parsed by run.sh):
#   @@DAXT BEGIN name / "| " + output line... / @@DAXT END name rc
#   @@DAXT SETUP-FAIL reason      @@DAXT DONE
# shellcheck shell=dash

/bin/busybox --install -s /bin
export PATH=/files:/tests:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
# shellcheck source=/dev/null
. /etc/dax.conf

say() { echo "@@DAXT $*"; }
setup_fail() { say "SETUP-FAIL $*"; }
info() { echo "[guest $(cut -d' ' -f1 /proc/uptime)s] $*"; }
finish() {
	say DONE
	sync
	poweroff -f
	sleep 5
	echo o > /proc/sysrq-trigger
}
wait_for() { # PATH: up to 10 s
	i=0
	while [ ! -e "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ -e "$1" ]
}

dax_dev_of() { # REGION-ID: its /dev/daxID.N, up to 5 s after create-namespace
	dev="" i=0
	while [ -z "$dev" ] && [ $i -lt 50 ]; do
		for d in /dev/dax"$1".*; do [ -e "$d" ] && dev=$d; done
		[ -n "$dev" ] || { sleep 0.1; i=$((i + 1)); }
	done
	echo "$dev"
}

say BOOT
while read -r m; do
	insmod "/lib/modules/$KVER/$m" || setup_fail "insmod $m"
done < /etc/modules.load

# 4 regions: two label-less DIMMs (raw namespaces, /dev/pmemN), one with a
# label area (QEMU label-size=; its DSM offers get_data) for device DAX, and
# a label-less one of 2 GiB for device DAX with 1 GiB pages
i=0
while [ $i -lt 100 ]; do
	nr=$(find /sys/bus/nd/devices -name 'region*' 2>/dev/null | wc -l)
	[ "$nr" -ge 4 ] && break
	sleep 0.1
	i=$((i + 1))
done
FSREG="" DEVREG="" PUDREG=""
for r in /sys/bus/nd/devices/region*; do
	[ -e "$r/mapping0" ] || continue
	id=${r##*/region}
	nmem=$(cut -d, -f1 "$r/mapping0")
	if grep -qw get_data "/sys/bus/nd/devices/$nmem/commands" 2>/dev/null; then
		DEVREG="$DEVREG $id"
	elif [ "$(cat "$r/size")" -ge $((2 << 30)) ]; then
		PUDREG="$PUDREG $id"
	else
		FSREG="$FSREG $id"
	fi
	info "region$id ($nmem) persistence_domain=$(cat "$r/persistence_domain" 2>/dev/null || echo '<absent>')"
done
# shellcheck disable=SC2086 # word splitting wanted
set -- $FSREG
EXT4_ID=${1:-} XFS_ID=${2:-}
# shellcheck disable=SC2086
set -- $DEVREG
DEV_ID=${1:-}

# fsdax: raw namespaces do not support DAX; converting needs no labels
for id in $EXT4_ID $XFS_ID; do
	ndctl create-namespace -f -e "namespace$id.0" -m fsdax > /tmp/ndctl.out 2>&1 ||
		{ cat /tmp/ndctl.out; setup_fail "ndctl create-namespace -m fsdax namespace$id.0"; }
	wait_for "/dev/pmem$id" || setup_fail "/dev/pmem$id missing"
done
if [ -n "$EXT4_ID" ] && mkfs.ext4 -q -F -b 4096 "/dev/pmem$EXT4_ID" &&
	mount -t ext4 -o dax "/dev/pmem$EXT4_ID" /mnt/ext4; then
	export DAX_EXT4_DIR=/mnt/ext4
else
	setup_fail "ext4 -o dax on pmem${EXT4_ID:-?}"
fi
# xfsprogs refuses < 300 MB; DAX on 6.1 xfs needs reflink off
if [ -n "$XFS_ID" ] && mkfs.xfs -q -f -m reflink=0 "/dev/pmem$XFS_ID" &&
	mount -t xfs -o dax=always "/dev/pmem$XFS_ID" /mnt/xfs; then
	export DAX_XFS_DIR=/mnt/xfs
else
	setup_fail "xfs -o dax=always on pmem${XFS_ID:-?}"
fi

# device DAX: QEMU's label area starts zeroed, the kernel ignores it until an
# index block is written
if [ -n "$DEV_ID" ]; then
	nmem=$(cut -d, -f1 "/sys/bus/nd/devices/region$DEV_ID/mapping0")
	ndctl disable-region "region$DEV_ID" > /dev/null 2>&1
	ndctl init-labels -f "$nmem" > /dev/null 2>&1 || setup_fail "ndctl init-labels $nmem"
	ndctl enable-region "region$DEV_ID" > /dev/null 2>&1 || setup_fail "ndctl enable-region region$DEV_ID"
	if ndctl create-namespace -r "region$DEV_ID" -m devdax > /tmp/ndctl.out 2>&1; then
		dev=$(dax_dev_of "$DEV_ID")
		if [ -n "$dev" ]; then
			export DAX_DEV="$dev"
		else
			setup_fail "no /dev/dax$DEV_ID.* after create-namespace"
		fi
	else
		cat /tmp/ndctl.out
		setup_fail "ndctl create-namespace -m devdax region$DEV_ID"
	fi
else
	setup_fail "no labelled region for device DAX"
fi

# device DAX with 1 GiB pages (PUD mappings), where the CPU has them
# (-cpu max under TCG does: pdpe1gb)
# shellcheck disable=SC2086
set -- $PUDREG
PUD_ID=${1:-}
if [ -z "$PUD_ID" ]; then
	setup_fail "no 2 GiB region for device DAX with 1 GiB alignment"
elif ! grep -qw pdpe1gb /proc/cpuinfo; then
	info "no pdpe1gb: no device DAX with 1 GiB alignment"
elif ndctl create-namespace -f -e "namespace$PUD_ID.0" -m devdax -a 1G > /tmp/ndctl.out 2>&1; then
	dev=$(dax_dev_of "$PUD_ID")
	if [ -n "$dev" ]; then
		export DAX_DEV_1G="$dev"
	else
		setup_fail "no /dev/dax$PUD_ID.* after create-namespace -a 1G"
	fi
else
	cat /tmp/ndctl.out
	setup_fail "ndctl create-namespace -m devdax -a 1G namespace$PUD_ID.0"
fi

export NODAX_DIR=/tmp DAX_FILES=/files DAX_PERSISTENCE
export LD_LIBRARY_PATH=/opt/pmemshim/lib
[ ! -f /opt/pmemshim/lib/libpmemshim.so ] || export DAX_SHIM_LIB=/opt/pmemshim/lib/libpmemshim.so
[ ! -f /opt/pmemshim/lib/libpmemshim-faults.so ] || export DAX_SHIM_FAULTS_LIB=/opt/pmemshim/lib/libpmemshim-faults.so
unset PMEM2_FORCE_GRANULARITY
info "setup done: DAX_EXT4_DIR=${DAX_EXT4_DIR:-} DAX_XFS_DIR=${DAX_XFS_DIR:-} DAX_DEV=${DAX_DEV:-} DAX_DEV_1G=${DAX_DEV_1G:-} libpmem2 from $LIBSRC"

# every dynamic test/file that needs libpmem2 must get ours, not another copy
for f in /tests/* /files/*; do
	[ -f "$f" ] || continue
	lib=$(/lib64/ld-linux-x86-64.so.2 --list "$f" 2>/dev/null | grep 'libpmem2\.so') || continue
	case "$lib" in
	*"=> /opt/pmemshim/lib/libpmem2.so.1 "*) ;;
	*) setup_fail "${f##*/} resolves $lib" ;;
	esac
done

mkdir -p /tmp/run
while read -r name; do
	t=/tests/$name
	case "$name" in
	*.sh) set -- sh "$t" ;;
	*) set -- "$t" ;;
	esac
	mkdir -p "/tmp/run/$name"
	say "BEGIN $name"
	(cd "/tmp/run/$name" && exec timeout -k 5 "$TEST_TIMEOUT" "$@") < /dev/null > /tmp/run/out 2>&1
	rc=$?
	tail -n 200 /tmp/run/out | sed 's/^/| /'
	info "$name: exit $rc"
	say "END $name $rc"
	rm -rf "/tmp/run/$name"
done < /etc/tests

sync
for d in /mnt/ext4 /mnt/xfs; do
	if grep -q " $d " /proc/mounts; then umount "$d" || setup_fail "umount $d"; fi
done
if dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace' > /tmp/kwarn; then
	setup_fail "kernel warning: $(head -n 1 /tmp/kwarn)"
fi
dmesg | grep -iE 'dax|pmem|nvdimm|nfit|error|warn' | tail -n 30
finish
