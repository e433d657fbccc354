/* SPDX-License-Identifier: BSD-3-Clause */
/* map.h -- struct pmem2_map and the mapping internals shared with the shim. */
#ifndef PMEM2_MAP_H
#define PMEM2_MAP_H

#include <stdbool.h>
#include <sys/types.h>

#include "pmem2_utils.h"
#include "source.h"

struct pmem2_map {
	void *addr;
	size_t reserved_length;	/* address space owned, page-rounded */
	size_t content_length;	/* what pmem2_map_get_size() reports */
	enum pmem2_granularity effective_granularity;
	/* what the persist functions act at: effective_granularity with
	 * PMEM_NO_FLUSH applied (persist_set_fns); the shim flushes by it */
	enum pmem2_granularity persist_granularity;
	struct pmem2_vm_reservation *reserv;	/* NULL: standalone */
	struct pmem2_source source;	/* copy; fd not to be used after map */
	bool from_existing;	/* pmem2_map_delete must not unmap it */
	bool map_sync;		/* mapped with MAP_SHARED_VALIDATE|MAP_SYNC */
	bool no_access;		/* mapped with neither PROT_READ nor PROT_WRITE:
				 * the CPU cannot touch (or flush) it */

	pmem2_persist_fn persist_fn;
	pmem2_flush_fn flush_fn;
	pmem2_drain_fn drain_fn;
	pmem2_memmove_fn memmove_fn;
	pmem2_memcpy_fn memcpy_fn;
	pmem2_memset_fn memset_fn;

	void *shim_data;	/* owned by the shim; the core never reads it */
};

/*
 * map_force_granularity -- PMEM2_FORCE_GRANULARITY (BYTE, CACHE_LINE or
 * CACHELINE, PAGE; any case), or PMEM2_GRANULARITY_INVALID when unset or
 * not understood (a message goes to the log).
 */
enum pmem2_granularity map_force_granularity(void);

/*
 * map_min_granularity -- the finest granularity a mapping can honestly
 * offer: PRIVATE and anonymous mappings need no flushing (BYTE); otherwise
 * PMEM2_FORCE_GRANULARITY wins; non-DAX is PAGE; DAX is CACHE_LINE, or BYTE
 * when the persistence domain includes the CPU caches.
 */
enum pmem2_granularity map_min_granularity(const struct pmem2_source *src,
	bool is_dax, enum pmem2_sharing_type sharing);

/*
 * map_file -- mmap(2) a file, trying MAP_SHARED_VALIDATE|MAP_SYNC first for
 * shared mappings; *map_sync tells whether that worked.  Falls back to a
 * plain MAP_SHARED mapping only when the kernel refuses MAP_SYNC for this
 * file (EOPNOTSUPP/EINVAL).  Returns 0 or a negative errno.
 */
int map_file(void *addr, size_t len, int prot, int flags, int fd, off_t off,
	bool *map_sync, void **base);

/*
 * map_register/map_unregister -- enter a standalone mapping in the registry
 * or take it out.  PMEM2_E_MAP_EXISTS when the range is already known.
 */
int map_register(struct pmem2_map *map);
int map_unregister(struct pmem2_map *map);

/* map_granularity_name -- "BYTE", "CACHE_LINE", "PAGE" (messages, tools). */
const char *map_granularity_name(enum pmem2_granularity g);

#endif /* PMEM2_MAP_H */
