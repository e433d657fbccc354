/* SPDX-License-Identifier: BSD-3-Clause */
/* extent_linux.c -- a file's extents through the FIEMAP ioctl. */
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "extent.h"
#include "pmem2_utils.h"

/*
 * fiemap -- one FS_IOC_FIEMAP call with room for n extents (n == 0 asks
 * only for the count).  Returns the buffer (free() it) or NULL with *err.
 */
static struct fiemap *
fiemap(int fd, unsigned n, int *err)
{
	size_t sz = sizeof(struct fiemap) + n * sizeof(struct fiemap_extent);
	struct fiemap *fm = pmem2_zalloc(sz, err);
	if (!fm)
		return NULL;
	fm->fm_start = 0;
	fm->fm_length = FIEMAP_MAX_OFFSET;
	fm->fm_flags = FIEMAP_FLAG_SYNC;
	fm->fm_extent_count = n;
	if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0) {
		int e = errno;
		ERR_ERRNO(e, "cannot read the extents of the file (FIEMAP)");
		free(fm);
		*err = -e;
		return NULL;
	}
	return fm;
}

int
extents_get(int fd, struct extents **out)
{
	struct stat st;
	if (fstat(fd, &st)) {
		int e = errno;
		ERR_ERRNO(e, "fstat(%d)", fd);
		return -e;
	}
	int err = 0;
	struct fiemap *fm = fiemap(fd, 0, &err);
	if (!fm)
		return err;
	unsigned n = fm->fm_mapped_extents;
	free(fm);
	/* the file may grow extents between the two calls: ask for slack */
	fm = fiemap(fd, n + 16, &err);
	if (!fm)
		return err;
	n = fm->fm_mapped_extents;
	struct extents *x = pmem2_zalloc(sizeof(*x) + n * sizeof(x->ext[0]),
			&err);
	if (!x) {
		free(fm);
		return err;
	}
	x->blksize = st.st_blksize > 0 ? (uint64_t)st.st_blksize : 4096;
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		struct fiemap_extent *fe = &fm->fm_extents[i];
		/* no known place on the device (e.g. inline data) */
		if (fe->fe_flags & (FIEMAP_EXTENT_UNKNOWN |
				FIEMAP_EXTENT_DATA_INLINE))
			continue;
		x->ext[k].logical = fe->fe_logical;
		x->ext[k].physical = fe->fe_physical;
		x->ext[k].length = fe->fe_length;
		k++;
	}
	x->count = k;
	free(fm);
	*out = x;
	return 0;
}
