/* SPDX-License-Identifier: BSD-3-Clause */
/* map_legacy.c -- the core side of the shim: pmem2 mappings for mmap(2). */
#include "map_legacy.h"
#include "os.h"
#include "persist.h"
#include "registry.h"

/*
 * legacy_source -- the pmem2_source a mapping of this file would have had
 * through pmem2_source_from_fd (the fd is not kept: programs close it).
 */
static void
legacy_source(struct pmem2_source *src, const struct stat *st)
{
	src->type = PMEM2_SOURCE_FD;
	src->value.ftype = S_ISCHR(st->st_mode) ? PMEM2_FTYPE_DEVDAX :
		PMEM2_FTYPE_REG;
	src->value.fd = -1;
	src->value.st_dev = st->st_dev;
	src->value.st_rdev = st->st_rdev;
	src->value.st_ino = st->st_ino;
}

int
map_legacy_new(struct pmem2_map *map, void *addr, size_t len, int prot,
		int flags, int fd, off_t off, const struct stat *st,
		enum map_legacy_kind kind, enum pmem2_granularity emu_gran,
		enum pmem2_granularity *gran_cache)
{
	core_init();
	legacy_source(&map->source, st);
	/* the caller's sharing type is replaced by what map_file wants */
	int base_flags = flags & ~MAP_TYPE;
	bool map_sync = false;
	void *base;
	enum pmem2_granularity gran;

	if (kind == MAP_LEGACY_EMULATED) {
		base = os_mmap(addr, len, prot, base_flags | MAP_SHARED, fd,
				off);
		if (base == MAP_FAILED)
			return pmem2_errno_ret();
		gran = emu_gran;
	} else {
		int ret = map_file(addr, len, prot, base_flags, fd, off,
				&map_sync, &base);
		if (ret)
			return ret;
		if (!map_sync)
			gran = PMEM2_GRANULARITY_PAGE;
		else if (gran_cache && *gran_cache !=
				PMEM2_GRANULARITY_INVALID)
			gran = *gran_cache;
		else
			gran = map_min_granularity(&map->source, true,
					PMEM2_SHARED);
		if (map_sync && gran_cache)
			*gran_cache = gran;
	}
	map->addr = base;
	map->reserved_length = ALIGN_UP(len, Pagesize);
	map->content_length = len;
	map->effective_granularity = gran;
	map->map_sync = map_sync;
	persist_set_fns(map);
	/* PAGE: only the kernel's msync makes it durable; never register */
	if (gran == PMEM2_GRANULARITY_PAGE)
		return 1;
	/* a pmem2 API object owning the range, or no memory for the new
	 * registry array: the mapping becomes what the program asked for and
	 * its msync goes to the kernel -- slower, never less durable */
	if (map_register(map) == 0)
		return 0;
	if (map_sync) {
		/* the kernel's msync never flushes a MAP_SYNC mapping's
		 * stores (its pages are never tagged dirty): the same file
		 * again in its place, without MAP_SYNC */
		int fixed = (flags & ~MAP_FIXED_NOREPLACE) | MAP_FIXED;
		void *p = os_mmap(base, len, prot, fixed, fd, off);
		if (p == MAP_FAILED) {
			int ret = pmem2_errno_ret();
			(void) os_munmap(base, len);
			return ret;
		}
		map->map_sync = false;
		map->effective_granularity = PMEM2_GRANULARITY_PAGE;
		persist_set_fns(map);
	}
	return 1;
}

/* copy_as -- dst is src's view of [start, start + len), for shim_data */
static void
copy_as(struct pmem2_map *dst, const struct pmem2_map *src, void *start,
		size_t len, void *shim_data)
{
	*dst = *src;
	dst->shim_data = shim_data;
	dst->addr = start;
	dst->reserved_length = ALIGN_UP(len, Pagesize);
	dst->content_length = len;
}

int
map_legacy_clone(struct pmem2_map *dst, const struct pmem2_map *src,
		void *start, size_t len, void *shim_data)
{
	copy_as(dst, src, start, len, shim_data);
	return registry_insert((uintptr_t)start,
			(uintptr_t)start + dst->reserved_length, dst,
			REGISTRY_MAP, NULL);
}

int
map_legacy_split(struct pmem2_map *dst, const struct pmem2_map *src,
		uintptr_t lo, uintptr_t hi, uintptr_t end, void *shim_data)
{
	copy_as(dst, src, (void *)hi, end - hi, shim_data);
	return registry_split(src, lo, hi, dst);
}
