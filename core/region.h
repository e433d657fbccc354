/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * region.h -- what sysfs says about the device behind a source: device DAX
 * size and alignment, and the region's persistence domain (eADR or not).
 */
#ifndef PMEM2_REGION_H
#define PMEM2_REGION_H

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
 * when it is not or cannot be told.  Unknown never counts as eADR: claiming
 * BYTE granularity wrongly would lose data.
 */
int region_auto_flush(const struct pmem2_source *src);

/* region_set_sysfs_root -- tests only: read "<root>/sys/..." instead of
 * "/sys/...".  NULL restores the real root. */
void region_set_sysfs_root(const char *root);
const char *region_sysfs_root(void);

#endif /* PMEM2_REGION_H */
