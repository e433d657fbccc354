/* SPDX-License-Identifier: BSD-3-Clause */
/* config.h -- struct pmem2_config: how a source is to be mapped. */
#ifndef PMEM2_CONFIG_H
#define PMEM2_CONFIG_H

#include "pmem2_utils.h"

struct pmem2_config {
	size_t offset;			/* in the source */
	size_t length;			/* 0: to the end of the source */
	enum pmem2_granularity requested_max_granularity; /* INVALID: unset */
	enum pmem2_sharing_type sharing;
	unsigned protection_flag;	/* PMEM2_PROT_* */
	struct pmem2_vm_reservation *reserv;
	size_t reserv_offset;
};

/* config_init -- the defaults PMDK documents: shared, read+write, no
 * granularity (map_new refuses until one is set), whole source. */
void config_init(struct pmem2_config *cfg);

/* config_validate_length -- length/offset against the source's size and
 * alignment: PMEM2_E_SOURCE_EMPTY, PMEM2_E_LENGTH_UNALIGNED,
 * PMEM2_E_MAP_RANGE. */
int config_validate_length(const struct pmem2_config *cfg, size_t file_len,
	size_t alignment);

#endif /* PMEM2_CONFIG_H */
