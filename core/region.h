/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * region.h -- what sysfs says about the device behind a source: device DAX
 * size and alignment, the NVDIMM region (and namespace) a file or device
 * DAX lives on, and that region's attributes.
 *
 * Everything is read from sysfs under a root that tests can move
 * (region_set_sysfs_root), never through libndctl: a fake tree then drives
 * every branch.  See core/RAS.md.
 */
#ifndef PMEM2_REGION_H
#define PMEM2_REGION_H

#include <limits.h>
#include <sys/types.h>

#include "pmem2_utils.h"

struct pmem2_source;

/* region_is_devdax -- 1 if the char device rdev is device DAX, 0 if not,
 * negative on error reading sysfs. */
int region_is_devdax(dev_t rdev);

/* region_devdax_size / region_devdax_alignment -- from
 * /sys/dev/char/M:m/size and .../device/align; PMEM2_E_* on failure. */
int region_devdax_size(const struct pmem2_source *src, size_t *size);
int region_devdax_alignment(const struct pmem2_source *src, size_t *align);

/*
 * region_auto_flush -- 1 when the persistence domain of the memory behind
 * src is the CPU cache (eADR: stores are durable once globally visible), 0
 * when it is not or cannot be told.  The region of src decides when it can
 * be found; otherwise PMDK's rule: every region says "cpu_cache" (and there
 * is at least one).  Unknown never counts as eADR: claiming BYTE
 * granularity wrongly would lose data.
 */
int region_auto_flush(const struct pmem2_source *src);

/* region_set_sysfs_root -- tests only: read "<root>/sys/..." (and open
 * "<root>/dev/ndctlN") instead of "/sys/...".  NULL restores the real root. */
void region_set_sysfs_root(const char *root);
const char *region_sysfs_root(void);

/* Where a source lives, found by region_find(). */
struct region_loc {
	unsigned id;			/* N of regionN */
	char region[PATH_MAX / 2];	/* sysfs directory of regionN */
	/* fsdax: the whole block device (badblocks relative to it) */
	char bdev[PATH_MAX / 2];
	unsigned long long part_start;	/* bytes: partition start, or 0 */
	/* device DAX: the nd_dax device (daxN.M; resource, size) */
	char ndns[PATH_MAX / 2];
};

/*
 * region_find -- the NVDIMM region behind src: a regular file's st_dev
 * through /sys/dev/block, a device DAX's st_rdev through /sys/dev/char, up
 * to a "regionN" directory.  0 and *loc when found;
 * PMEM2_E_DAX_REGION_NOT_FOUND with a message saying why when the source is
 * not on persistent memory (anonymous, tmpfs, a disk...); a negative errno
 * when sysfs cannot be read.
 */
int region_find(const struct pmem2_source *src, struct region_loc *loc);

/*
 * region_read_attr -- read "<dir>/<attr>" into buf (NUL-terminated, one
 * trailing newline removed).  Returns the length or a negative errno; a
 * message is set unless quiet (ENOENT is often an answer, not an error).
 */
int region_read_attr(const char *dir, const char *attr, char *buf,
	size_t size, int quiet);

/*
 * region_read_u64 -- one number (decimal or 0x hex) from "<dir>/<attr>".
 * 0, a negative errno, or PMEM2_E_INVALID_DEV_FORMAT for garbage.
 */
int region_read_u64(const char *dir, const char *attr,
	unsigned long long *val);

/*
 * region_dimm_foreach -- call cb(dimm_dir, arg) for each DIMM of the region
 * (mapping0, mapping1, ... in order; dimm_dir is the nmemN directory).
 * Returns the number of DIMMs, the first non-zero cb result, or a negative
 * errno / PMEM2_E_INVALID_DEV_FORMAT.
 */
int region_dimm_foreach(const struct region_loc *loc,
	int (*cb)(const char *dimm_dir, void *arg), void *arg);

/*
 * region_deep_flush -- flush the region's write-pending queues through its
 * deep_flush attribute.  0 when done or when the region has nothing to
 * flush ("0": no flush hints, the platform drains on power loss; absent:
 * the kernel knows no flush mechanism); a negative errno when the flush
 * exists but the write failed -- never a silent success (pmdk#5992).
 */
int region_deep_flush(const struct region_loc *loc);

#endif /* PMEM2_REGION_H */
