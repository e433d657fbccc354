/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * persist.h -- the flush core and the mover: how map.c gets the
 * persist/flush/drain and memmove/memcpy/memset functions of a mapping.
 */
#ifndef PMEM2_PERSIST_H
#define PMEM2_PERSIST_H

#include "pmem2_utils.h"

struct pmem2_map;

/*
 * persist_init -- detect the CPU (CPUID) and read the PMEM_* switches once;
 * fills a read-only table of the chosen functions.  Idempotent and
 * thread-safe; called by core_init().
 */
void persist_init(void);

/*
 * persist_set_fns -- fill map->persist_fn ... map->memset_fn and
 * map->persist_granularity for map->effective_granularity and
 * PMEM_NO_FLUSH (PAGE: msync based; CACHE_LINE: cache-line flush +
 * SFENCE; BYTE: drain only).
 */
void persist_set_fns(struct pmem2_map *map);

#endif /* PMEM2_PERSIST_H */
