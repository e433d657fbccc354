/* SPDX-License-Identifier: BSD-3-Clause */
/* config.c -- pmem2_config: offset, length, granularity, sharing, protection
 * and the VM reservation a mapping is to use. */
#include <stdint.h>
#include <stdlib.h>

#include "config.h"

void
config_init(struct pmem2_config *cfg)
{
	cfg->offset = 0;
	cfg->length = 0;
	cfg->requested_max_granularity = PMEM2_GRANULARITY_INVALID;
	cfg->sharing = PMEM2_SHARED;
	cfg->protection_flag = PMEM2_PROT_READ | PMEM2_PROT_WRITE;
	cfg->reserv = NULL;
	cfg->reserv_offset = 0;
}

PMEM2_API int
pmem2_config_new(struct pmem2_config **cfg)
{
	core_init();
	errormsg_clear();
	int ret;
	*cfg = pmem2_malloc(sizeof(**cfg), &ret);
	if (!*cfg)
		return ret;
	config_init(*cfg);
	return 0;
}

PMEM2_API int
pmem2_config_delete(struct pmem2_config **cfg)
{
	errormsg_clear();
	free(*cfg);
	*cfg = NULL;
	return 0;
}

PMEM2_API int
pmem2_config_set_required_store_granularity(struct pmem2_config *cfg,
		enum pmem2_granularity g)
{
	errormsg_clear();
	if (!granularity_valid(g)) {
		ERR("unknown granularity value %d (want PMEM2_GRANULARITY_BYTE, "
			"_CACHE_LINE or _PAGE)", (int)g);
		return PMEM2_E_GRANULARITY_NOT_SUPPORTED;
	}
	cfg->requested_max_granularity = g;
	return 0;
}

PMEM2_API int
pmem2_config_set_offset(struct pmem2_config *cfg, size_t offset)
{
	errormsg_clear();
	/* mmap takes an off_t: anything above INT64_MAX cannot be mapped */
	if (offset > (size_t)INT64_MAX) {
		ERR("offset %zu is greater than INT64_MAX", offset);
		return PMEM2_E_OFFSET_OUT_OF_RANGE;
	}
	cfg->offset = offset;
	return 0;
}

PMEM2_API int
pmem2_config_set_length(struct pmem2_config *cfg, size_t length)
{
	errormsg_clear();
	cfg->length = length;
	return 0;
}

PMEM2_API int
pmem2_config_set_sharing(struct pmem2_config *cfg,
		enum pmem2_sharing_type type)
{
	errormsg_clear();
	switch (type) {
	case PMEM2_SHARED:
	case PMEM2_PRIVATE:
		cfg->sharing = type;
		return 0;
	default:
		ERR("unknown sharing value %d (want PMEM2_SHARED or "
			"PMEM2_PRIVATE)", (int)type);
		return PMEM2_E_INVALID_SHARING_VALUE;
	}
}

PMEM2_API int
pmem2_config_set_protection(struct pmem2_config *cfg, unsigned prot)
{
	errormsg_clear();
	const unsigned known = PMEM2_PROT_READ | PMEM2_PROT_WRITE |
		PMEM2_PROT_EXEC | PMEM2_PROT_NONE;
	if (prot & ~known) {
		ERR("invalid protection flags 0x%x (want a combination of "
			"PMEM2_PROT_READ, _WRITE, _EXEC, or PMEM2_PROT_NONE)",
			prot);
		return PMEM2_E_INVALID_PROT_FLAG;
	}
	cfg->protection_flag = prot;
	return 0;
}

PMEM2_API int
pmem2_config_set_vm_reservation(struct pmem2_config *cfg,
		struct pmem2_vm_reservation *rsv, size_t offset)
{
	errormsg_clear();
	cfg->reserv = rsv;
	cfg->reserv_offset = offset;
	return 0;
}

/*
 * config_validate_length -- the checks PMDK makes, in PMDK's order, so the
 * same bad config gives the same code from both libraries.
 */
int
config_validate_length(const struct pmem2_config *cfg, size_t file_len,
		size_t alignment)
{
	if (file_len == 0) {
		ERR("the source is empty (size 0): nothing to map");
		return PMEM2_E_SOURCE_EMPTY;
	}
	if (cfg->length % alignment) {
		ERR("length %zu is not a multiple of the source's alignment %zu",
			cfg->length, alignment);
		return PMEM2_E_LENGTH_UNALIGNED;
	}
	size_t end = cfg->offset + cfg->length;
	if (end < cfg->offset) {
		ERR("offset %zu + length %zu overflows", cfg->offset,
			cfg->length);
		return PMEM2_E_MAP_RANGE;
	}
	if (end > file_len) {
		ERR("offset %zu + length %zu reaches past the end of the source "
			"(size %zu)", cfg->offset, cfg->length, file_len);
		return PMEM2_E_MAP_RANGE;
	}
	return 0;
}
