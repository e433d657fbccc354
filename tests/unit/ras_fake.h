/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ras_fake.h -- fake sysfs trees for the RAS suites, built at run time
 * under a fresh directory and handed to the core with
 * region_set_sysfs_root().  Layout follows a real NVDIMM machine:
 *
 *   sys/devices/ndbus0/region0/{persistence_domain,deep_flush,badblocks,
 *       resource,numa_node,mappings,mapping0,...}
 *   sys/devices/ndbus0/region0/namespace0.0/block/pmem0/{badblocks,...}
 *   sys/devices/ndbus0/region0/dax0.1/{resource,size}/dax0.0/...
 *   sys/bus/nd/devices/{region0,nmem0,...} -> ../../../devices/...
 *   sys/dev/block/M:m, sys/dev/char/M:m -> the devices
 */
#ifndef RAS_FAKE_H
#define RAS_FAKE_H

#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "region.h"
#include "source.h"

static char fake_root[256];

/* fake_path -- "<root>/<rel>" in a static rotating buffer */
static inline const char *
fake_path(const char *fmt, ...)
{
	static char bufs[4][PATH_MAX];
	static int i;
	char rel[PATH_MAX / 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	char *b = bufs[i++ & 3];
	snprintf(b, PATH_MAX, "%s/%s", fake_root, rel);
	return b;
}

/* fake_mkdirs -- mkdir -p of an absolute path */
static inline void
fake_mkdirs(const char *path)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

/* fake_file -- write a file (creating its directories) under the root */
static inline void
fake_file(const char *rel, const char *content)
{
	const char *path = fake_path("%s", rel);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	fake_mkdirs(dir);
	FILE *f = fopen(path, "w");
	cr_assert(f, "fopen %s", path);
	fputs(content, f);
	fclose(f);
}

/* fake_link -- symlink root/<rel> to target (absolute, inside the root) */
static inline void
fake_link(const char *rel, const char *target_rel)
{
	const char *path = fake_path("%s", rel);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	fake_mkdirs(dir);
	unlink(path);
	cr_assert(symlink(fake_path("%s", target_rel), path) == 0,
		"symlink %s", path);
}

/* fake_link_abs -- symlink root/<rel> to an absolute path outside */
static inline void
fake_link_abs(const char *rel, const char *target)
{
	const char *path = fake_path("%s", rel);
	unlink(path);
	cr_assert(symlink(target, path) == 0, "symlink %s", path);
}

/* fake_setup / fake_teardown -- a fresh root for each test */
static inline void
fake_setup(void)
{
	snprintf(fake_root, sizeof(fake_root), "/dev/shm/ras-fake-XXXXXX");
	cr_assert(mkdtemp(fake_root));
	region_set_sysfs_root(fake_root);
}

static inline void
fake_teardown(void)
{
	region_set_sysfs_root(NULL);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fake_root);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", fake_root);
}

#define R0 "sys/devices/ndbus0/region0"

/*
 * fake_region0 -- region0 with two DIMMs (nmem0, nmem1), a fsdax block
 * device pmem0 (dev 259:0) and a device DAX dax0.0 (char 252:0).
 */
static inline void
fake_region0(void)
{
	fake_file(R0 "/resource", "0x100000000\n");
	fake_file(R0 "/size", "0x40000000\n");
	fake_file(R0 "/numa_node", "1\n");
	fake_file(R0 "/persistence_domain", "memory_controller\n");
	fake_file(R0 "/deep_flush", "0\n");
	fake_file(R0 "/badblocks", "");
	fake_file(R0 "/mappings", "2\n");
	fake_file(R0 "/mapping0", "nmem0,0,536870912,0\n");
	fake_file(R0 "/mapping1", "nmem1,0,536870912,1\n");
	fake_link("sys/bus/nd/devices/region0", R0);
	for (int i = 0; i < 2; i++) {
		char rel[128], id[64];
		snprintf(rel, sizeof(rel), "sys/devices/ndbus0/nmem%d/nfit/id",
			i);
		snprintf(id, sizeof(id), "8089-a2-1837-0000%04d\n", i);
		fake_file(rel, id);
		snprintf(rel, sizeof(rel),
			"sys/devices/ndbus0/nmem%d/nfit/dirty_shutdown", i);
		fake_file(rel, i ? "4\n" : "3\n");
		char dev[64], tgt[64];
		snprintf(dev, sizeof(dev), "sys/bus/nd/devices/nmem%d", i);
		snprintf(tgt, sizeof(tgt), "sys/devices/ndbus0/nmem%d", i);
		fake_link(dev, tgt);
	}
	fake_file(R0 "/namespace0.0/block/pmem0/badblocks", "");
	fake_file(R0 "/namespace0.0/block/pmem0/dev", "259:0\n");
	fake_link("sys/dev/block/259:0", R0 "/namespace0.0/block/pmem0");
	fake_file(R0 "/dax0.1/resource", "0x100200000\n");
	fake_file(R0 "/dax0.1/size", "0x10000000\n");
	fake_file(R0 "/dax0.1/dax0.0/size", "268435456\n");
	fake_link("sys/dev/char/252:0", R0 "/dax0.1/dax0.0");
	fake_link("sys/dev/char/252:0/subsystem", "sys/class/dax");
	fake_mkdirs(fake_path("sys/class/dax"));
}

/* fake_src -- a source "on" the fake devices: pmem0 (259:0) for a file,
 * dax0.0 (252:0) for device DAX */
static inline struct pmem2_source
fake_src(int fd, enum pmem2_file_type ftype)
{
	struct pmem2_source s;
	memset(&s, 0, sizeof(s));
	s.type = PMEM2_SOURCE_FD;
	s.value.ftype = ftype;
	s.value.fd = fd;
	if (ftype == PMEM2_FTYPE_DEVDAX)
		s.value.st_rdev = makedev(252, 0);
	else
		s.value.st_dev = makedev(259, 0);
	return s;
}

#define fake_src_fsdax(fd) fake_src((fd), PMEM2_FTYPE_REG)
#define fake_src_devdax(fd) fake_src((fd), PMEM2_FTYPE_DEVDAX)

#endif /* RAS_FAKE_H */
