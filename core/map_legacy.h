/* SPDX-License-Identifier: BSD-3-Clause */
/* map_legacy.h -- make a registered pmem2_map for a legacy mmap(2) request. */
#ifndef PMEM2_MAP_LEGACY_H
#define PMEM2_MAP_LEGACY_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "map.h"

/* How the caller classified the file. */
enum map_legacy_kind {
	MAP_LEGACY_REAL = 1,	/* devdax or fsdax: prove it with MAP_SYNC */
	MAP_LEGACY_EMULATED,	/* declared DAX by the operator (no proof) */
};

/*
 * map_legacy_new -- do what mmap(addr, len, prot, flags, fd, off) asks for a
 * writable shared mapping of a DAX file, through the core: REAL maps with
 * MAP_SHARED_VALIDATE|MAP_SYNC (map_file), EMULATED maps plain MAP_SHARED
 * and gets granularity emu_gran.  map (caller-owned memory, zeroed) is
 * filled, its persist functions set and, when the mapping may be flushed
 * from user space, entered in the registry.
 * Returns 0 (mapped and registered), 1 (mapped, NOT registered: the kernel
 * refused MAP_SYNC, so only msync makes it durable, or the range is claimed
 * by a pmem2 API mapping), or a negative errno (nothing mapped; the errno
 * is mmap's).  *gran_cache (may be NULL): in/out cache of the REAL
 * granularity decision, PMEM2_GRANULARITY_INVALID when not yet known --
 * deciding reads sysfs, which is too slow to repeat on every mmap.
 * The caller holds registry_lock() when the registry must not change
 * between its own checks and this insert (MAP_FIXED).
 */
int map_legacy_new(struct pmem2_map *map, void *addr, size_t len, int prot,
	int flags, int fd, off_t off, const struct stat *st,
	enum map_legacy_kind kind, enum pmem2_granularity emu_gran,
	enum pmem2_granularity *gran_cache);

/*
 * map_legacy_clone -- register [start, start + len) as a new mapping object
 * dst that shares src's source and persist functions (the tail left after
 * a munmap in the middle, or the new place of an mremap).  dst->shim_data
 * is set to shim_data before dst becomes visible.  0 or -errno.
 */
int map_legacy_clone(struct pmem2_map *dst, const struct pmem2_map *src,
	void *start, size_t len, void *shim_data);

/*
 * map_legacy_split -- src's registered range [a, end) becomes [a, lo) for
 * src and [hi, end) for dst, a new mapping object like map_legacy_clone's,
 * in one registry step (registry_split: a concurrent msync of [hi, end)
 * never finds it unregistered).  0 or -errno, nothing changed on error.
 */
int map_legacy_split(struct pmem2_map *dst, const struct pmem2_map *src,
	uintptr_t lo, uintptr_t hi, uintptr_t end, void *shim_data);

#endif /* PMEM2_MAP_LEGACY_H */
