/* SPDX-License-Identifier: BSD-3-Clause */
/* extent.h -- where a file's bytes sit on its block device (FIEMAP). */
#ifndef PMEM2_EXTENT_H
#define PMEM2_EXTENT_H

#include <stdint.h>

struct extent {
	uint64_t logical;	/* offset in the file */
	uint64_t physical;	/* offset on the block device */
	uint64_t length;
};

struct extents {
	unsigned count;
	uint64_t blksize;	/* the file system's block size */
	struct extent ext[];
};

/*
 * extents_get -- all extents of the open regular file fd (synced first, so
 * delayed allocations have a place).  0 and *out (free() it), or a negative
 * errno with a message.
 */
int extents_get(int fd, struct extents **out);

#endif /* PMEM2_EXTENT_H */
