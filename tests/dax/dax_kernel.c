/* SPDX-License-Identifier: BSD-3-Clause */
/* dax_kernel.c -- raw-kernel DAX facts the library relies on (no pmem2). */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* statx, MAP_SYNC */
#endif
#include <sys/mman.h>
#include <sys/stat.h>

#include "dax_util.h"

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

#define FILE_SIZE (2u << 20)

/* statx_dax -- 1/0: STATX_ATTR_DAX in stx_attributes, -1: cannot tell */
static int
statx_dax(const char *path)
{
	struct statx stx;
	if (statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &stx))
		dax_die("statx %s", path);
	/* the mask has the bit on every fs; only stx_attributes tells DAX */
	if (!(stx.stx_attributes_mask & STATX_ATTR_DAX))
		return -1;
	return (stx.stx_attributes & STATX_ATTR_DAX) != 0;
}

/* check_fsdax -- a file on a DAX-mounted fs */
static void
check_fsdax(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/kernel-sanity.dat", dir);
	int fd = dax_make_file(path, FILE_SIZE);

	CHECK(statx_dax(path) == 1, "%s: STATX_ATTR_DAX set", path);

	char *p = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE,
		MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
	CHECK(p != MAP_FAILED, "%s: mmap MAP_SHARED_VALIDATE|MAP_SYNC (%s)",
		path, p == MAP_FAILED ? strerror(errno) : "ok");
	if (p != MAP_FAILED) {
		static const char msg[] = "dax kernel sanity";
		memcpy(p + 4096, msg, sizeof(msg));
		CHECK(msync(p, FILE_SIZE, MS_SYNC) == 0, "%s: msync", path);
		char buf[sizeof(msg)];
		CHECK(pread(fd, buf, sizeof(buf), 4096) == (ssize_t)sizeof(buf)
			&& memcmp(buf, msg, sizeof(msg)) == 0,
			"%s: pread sees the store", path);
		munmap(p, FILE_SIZE);
	}
	close(fd);
	unlink(path);
}

/* check_nodax -- negative control on tmpfs */
static void
check_nodax(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/kernel-sanity.dat", dir);
	int fd = dax_make_file(path, FILE_SIZE);

	int d = statx_dax(path);
	CHECK(d == 0, "%s: STATX_ATTR_DAX clear (got %d)", path, d);

	errno = 0;
	void *p = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE,
		MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
	CHECK(p == MAP_FAILED && errno == EOPNOTSUPP,
		"%s: MAP_SHARED_VALIDATE|MAP_SYNC fails with EOPNOTSUPP (%s)",
		path, p == MAP_FAILED ? strerror(errno) : "mapped");
	if (p != MAP_FAILED)
		munmap(p, FILE_SIZE);
	close(fd);
	unlink(path);
}

/* check_devdax -- device DAX character device */
static void
check_devdax(const char *dev)
{
	int fd = open(dev, O_RDWR);
	if (fd < 0)
		dax_die("open %s", dev);
	uint64_t align;
	if (dax_devdax_attr(fd, "align", &align))
		dax_die("%s: cannot read sysfs align", dev);
	printf("%s: sysfs align %llu\n", dev, (unsigned long long)align);

	CHECK(statx_dax(dev) == 1, "%s: STATX_ATTR_DAX set", dev);

	char *p = mmap(NULL, align, PROT_READ | PROT_WRITE,
		MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
	CHECK(p != MAP_FAILED, "%s: mmap %llu bytes MAP_SYNC (%s)", dev,
		(unsigned long long)align,
		p == MAP_FAILED ? strerror(errno) : "ok");
	if (p != MAP_FAILED) {
		p[align - 1] = 'x';
		errno = 0;
		int r = msync(p, align, MS_SYNC);
		CHECK(r == -1 && errno == EINVAL,
			"%s: msync fails with EINVAL (r=%d, %s)", dev, r,
			strerror(errno));
		munmap(p, align);
	}

	if (align > 4096) {
		errno = 0;
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		CHECK(p == MAP_FAILED && errno == EINVAL,
			"%s: mmap of 4096 < align bytes fails with EINVAL (%s)",
			dev, p == MAP_FAILED ? strerror(errno) : "mapped");
		if (p != MAP_FAILED)
			munmap(p, 4096);
	}
	close(fd);
}

int
main(void)
{
	const char *ext4 = dax_env("DAX_EXT4_DIR");
	const char *xfs = dax_env("DAX_XFS_DIR");
	const char *dev = dax_env("DAX_DEV");
	const char *nodax = dax_env("NODAX_DIR");
	if (!ext4 && !xfs && !dev)
		dax_skip("not inside the DAX guest (no DAX_* variables)");

	CHECK(ext4 != NULL, "DAX_EXT4_DIR is set");
	CHECK(xfs != NULL, "DAX_XFS_DIR is set");
	CHECK(dev != NULL, "DAX_DEV is set");
	CHECK(nodax != NULL, "NODAX_DIR is set");
	if (ext4)
		check_fsdax(ext4);
	if (xfs)
		check_fsdax(xfs);
	if (nodax)
		check_nodax(nodax);
	if (dev)
		check_devdax(dev);
	return dax_result();
}
