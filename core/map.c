/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * map.c -- pmem2_map: create, describe and delete mappings; decide the
 * store granularity a mapping can honestly offer.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "map.h"
#include "os.h"
#include "persist.h"
#include "region.h"
#include "registry.h"
#include "vm_reservation.h"

#define MiB ((size_t)1 << 20)

PMEM2_API void *
pmem2_map_get_address(struct pmem2_map *map)
{
	return map->addr;
}

PMEM2_API size_t
pmem2_map_get_size(struct pmem2_map *map)
{
	return map->content_length;
}

PMEM2_API enum pmem2_granularity
pmem2_map_get_store_granularity(struct pmem2_map *map)
{
	return map->effective_granularity;
}

const char *
map_granularity_name(enum pmem2_granularity g)
{
	switch (g) {
	case PMEM2_GRANULARITY_BYTE:
		return "BYTE";
	case PMEM2_GRANULARITY_CACHE_LINE:
		return "CACHE_LINE";
	case PMEM2_GRANULARITY_PAGE:
		return "PAGE";
	default:
		return "INVALID";
	}
}

enum pmem2_granularity
map_force_granularity(void)
{
	const char *s = secure_getenv("PMEM2_FORCE_GRANULARITY");
	if (!s)
		return PMEM2_GRANULARITY_INVALID;
	char up[16];
	size_t i;
	for (i = 0; s[i] && i < sizeof(up) - 1; i++)
		up[i] = (char)toupper((unsigned char)s[i]);
	up[i] = '\0';
	if (!s[i]) {
		if (strcmp(up, "BYTE") == 0)
			return PMEM2_GRANULARITY_BYTE;
		if (strcmp(up, "CACHE_LINE") == 0 ||
				strcmp(up, "CACHELINE") == 0)
			return PMEM2_GRANULARITY_CACHE_LINE;
		if (strcmp(up, "PAGE") == 0)
			return PMEM2_GRANULARITY_PAGE;
	}
	LOG(1, "ignoring PMEM2_FORCE_GRANULARITY=\"%.40s\": want BYTE, "
		"CACHE_LINE or PAGE", s);
	return PMEM2_GRANULARITY_INVALID;
}

enum pmem2_granularity
map_min_granularity(const struct pmem2_source *src, bool is_dax,
		enum pmem2_sharing_type sharing)
{
	/* private copies and anonymous memory never need flushing */
	if (sharing == PMEM2_PRIVATE || src->type == PMEM2_SOURCE_ANON)
		return PMEM2_GRANULARITY_BYTE;
	enum pmem2_granularity forced = map_force_granularity();
	if (forced != PMEM2_GRANULARITY_INVALID)
		return forced;
	if (!is_dax)
		return PMEM2_GRANULARITY_PAGE;
	return region_auto_flush(src) == 1 ? PMEM2_GRANULARITY_BYTE :
		PMEM2_GRANULARITY_CACHE_LINE;
}

/*
 * granularity_advice -- what the user can do when the requested granularity
 * is finer than what the mapping offers (the most common first failure).
 */
static void
granularity_error(enum pmem2_granularity req, enum pmem2_granularity avail)
{
	if (avail == PMEM2_GRANULARITY_PAGE)
		ERR("requested granularity %s is not available: the file is "
			"not on a DAX file system or device DAX (the kernel "
			"refused MAP_SYNC), so only PAGE (msync) is. Put the "
			"file on an fsdax mount (-o dax) or device DAX, or ask "
			"for PMEM2_GRANULARITY_PAGE; for testing on ordinary "
			"memory set PMEM2_FORCE_GRANULARITY=CACHE_LINE",
			map_granularity_name(req));
	else
		ERR("requested granularity %s is not available: the platform "
			"does not report a persistent CPU cache (eADR), so "
			"CACHE_LINE is the finest; ask for "
			"PMEM2_GRANULARITY_CACHE_LINE (or PAGE)",
			map_granularity_name(req));
}

int
map_file(void *addr, size_t len, int prot, int flags, int fd, off_t off,
		bool *map_sync, void **base)
{
	*map_sync = false;
	if (!(flags & (MAP_PRIVATE | MAP_ANONYMOUS))) {
		void *p = os_mmap(addr, len, prot,
				flags | MAP_SHARED_VALIDATE | MAP_SYNC, fd, off);
		if (p != MAP_FAILED) {
			*map_sync = true;
			*base = p;
			return 0;
		}
		/* only "MAP_SYNC not supported here" may fall back */
		if (errno != EOPNOTSUPP && errno != EINVAL)
			return -errno;
		flags |= MAP_SHARED;
	}
	void *p = os_mmap(addr, len, prot, flags, fd, off);
	if (p == MAP_FAILED)
		return pmem2_errno_ret();
	*base = p;
	return 0;
}

int
map_register(struct pmem2_map *map)
{
	int ret = registry_insert((uintptr_t)map->addr,
			(uintptr_t)map->addr + (map->reserved_length ?
				map->reserved_length : map->content_length),
			map, REGISTRY_MAP, NULL);
	if (ret == -EEXIST) {
		ERR("the range %p..%p is already registered with libpmem2",
			map->addr, (char *)map->addr + map->content_length);
		return PMEM2_E_MAP_EXISTS;
	}
	return ret;
}

int
map_unregister(struct pmem2_map *map)
{
	int ret = registry_remove(map);
	if (ret == -ENOENT) {
		ERR("the mapping %p is not registered", map->addr);
		return PMEM2_E_MAPPING_NOT_FOUND;
	}
	return ret;	/* 0, or -ENOMEM with its message */
}

static int
prot_from_flags(unsigned pf)
{
	int prot = PROT_NONE;
	if (pf & PMEM2_PROT_READ)
		prot |= PROT_READ;
	if (pf & PMEM2_PROT_WRITE)
		prot |= PROT_WRITE;
	if (pf & PMEM2_PROT_EXEC)
		prot |= PROT_EXEC;
	return prot;
}

/*
 * mmap_error -- the codes PMDK turns mmap failures into, with a message.
 */
static int
mmap_error(int ret, size_t len)
{
	if (ret == -EACCES) {
		ERR("mmap of %zu bytes refused: the protection asked for does "
			"not match how the file was opened (e.g. write access "
			"to a read-only descriptor)", len);
		return PMEM2_E_NO_ACCESS;
	}
	ERR_ERRNO(-ret, "mmap of %zu bytes failed", len);
	return ret == -EOPNOTSUPP ? PMEM2_E_NOSUPP : ret;
}

/*
 * map_into_reservation -- place the mapping at the configured offset of the
 * reservation, replacing the placeholder there.
 */
static int
map_into_reservation(const struct pmem2_config *cfg, size_t len,
		size_t reserved, size_t align, int prot, int flags, int fd,
		off_t off, bool *map_sync, void **addr)
{
	struct pmem2_vm_reservation *rsv = cfg->reserv;
	if (!IS_ALIGNED(cfg->reserv_offset, Pagesize)) {
		ERR("reservation offset %zu is not a multiple of the page size "
			"%zu", cfg->reserv_offset, Pagesize);
		return PMEM2_E_OFFSET_UNALIGNED;
	}
	int ret = rsv_acquire_range(rsv, cfg->reserv_offset, reserved);
	if (ret)
		return ret;
	char *at = (char *)rsv->addr + cfg->reserv_offset;
	if (!IS_ALIGNED((uintptr_t)at, align)) {
		rsv_release(rsv);
		ERR("mapping address %p (reservation + offset %zu) is not "
			"aligned to the source's alignment %zu", (void *)at,
			cfg->reserv_offset, align);
		return PMEM2_E_ADDRESS_UNALIGNED;
	}
	ret = map_file(at, len, prot, flags | MAP_FIXED, fd, off, map_sync,
			addr);
	if (ret) {
		/* a failed MAP_FIXED may have dropped the placeholder */
		os_placeholder(at, reserved, 1);
		rsv_release(rsv);
		return mmap_error(ret, len);
	}
	return 0; /* lock still held: map_new inserts or rolls back */
}

/*
 * map_standalone -- map at a fresh address aligned for huge pages when the
 * mapping is large enough to use them.
 */
static int
map_standalone(size_t len, size_t reserved, size_t align, int prot,
		int flags, int fd, off_t off, bool *map_sync, void **addr)
{
	if (reserved >= 2 * MiB && align < 2 * MiB)
		align = 2 * MiB;
	size_t span = reserved + (align > Pagesize ? align : 0);
	if (span < reserved) {
		ERR("mapping length %zu is too large", len);
		return -ENOMEM;
	}
	char *p = os_placeholder(NULL, span, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		ERR_ERRNO(e, "cannot find %zu bytes of free address space",
			span);
		return -e;
	}
	char *at = (char *)ALIGN_UP((uintptr_t)p, align);
	/* trim the placeholder to exactly the range we will map over (a
	 * split can fail: ENOMEM at the process's mapping-count limit) */
	if ((at > p && os_munmap(p, (size_t)(at - p))) ||
			(p + span > at + reserved &&
			os_munmap(at + reserved,
				(size_t)(p + span - (at + reserved))))) {
		int e = errno;
		os_munmap(p, span);
		ERR_ERRNO(e, "cannot trim the %zu-byte placeholder", span);
		return -e;
	}
	int ret = map_file(at, len, prot, flags | MAP_FIXED, fd, off,
			map_sync, addr);
	if (ret) {
		os_munmap(at, reserved);
		return mmap_error(ret, len);
	}
	return 0;
}

PMEM2_API int
pmem2_map_new(struct pmem2_map **map_ptr, const struct pmem2_config *cfg,
		const struct pmem2_source *src)
{
	core_init();
	errormsg_clear();
	*map_ptr = NULL;

	if (cfg->requested_max_granularity == PMEM2_GRANULARITY_INVALID) {
		ERR("no store granularity requested: call "
			"pmem2_config_set_required_store_granularity() first");
		return PMEM2_E_GRANULARITY_NOT_SET;
	}
	size_t align, file_len;
	int ret = pmem2_source_alignment(src, &align);
	if (ret)
		return ret;
	ret = pmem2_source_size(src, &file_len);
	if (ret)
		return ret;
	if (cfg->offset % align) {
		ERR("offset %zu is not a multiple of the source's alignment %zu",
			cfg->offset, align);
		return PMEM2_E_OFFSET_UNALIGNED;
	}
	bool anon = src->type == PMEM2_SOURCE_ANON;
	if (!anon && src->value.ftype == PMEM2_FTYPE_DEVDAX &&
			cfg->sharing == PMEM2_PRIVATE) {
		ERR("device DAX cannot be mapped private (copy-on-write)");
		return PMEM2_E_SRC_DEVDAX_PRIVATE;
	}
	ret = config_validate_length(cfg, file_len, align);
	if (ret)
		return ret;

	size_t off = anon ? 0 : cfg->offset;
	/* an anonymous source ignores the offset (PMDK maps it whole) */
	size_t len = cfg->length ? cfg->length : file_len - off;
	size_t reserved = ALIGN_UP(len, Pagesize);
	int prot = prot_from_flags(cfg->protection_flag);
	int flags = cfg->sharing == PMEM2_PRIVATE ? MAP_PRIVATE : 0;
	int fd = -1;
	if (anon)
		flags |= MAP_ANONYMOUS | (flags ? 0 : MAP_SHARED);
	else
		fd = src->value.fd;

	bool map_sync;
	void *addr;
	struct pmem2_vm_reservation *rsv = cfg->reserv;
	if (rsv)
		ret = map_into_reservation(cfg, len, reserved, align, prot,
				flags, fd, (off_t)off, &map_sync, &addr);
	else
		ret = map_standalone(len, reserved, align, prot, flags, fd,
				(off_t)off, &map_sync, &addr);
	if (ret)
		return ret;

	enum pmem2_granularity avail = map_min_granularity(src, map_sync,
			cfg->sharing);
	if (avail > cfg->requested_max_granularity) {
		granularity_error(cfg->requested_max_granularity, avail);
		ret = PMEM2_E_GRANULARITY_NOT_SUPPORTED;
		goto err_unmap;
	}
	struct pmem2_map *map = pmem2_zalloc(sizeof(*map), &ret);
	if (!map)
		goto err_unmap;
	map->addr = addr;
	map->reserved_length = reserved;
	map->content_length = len;
	map->effective_granularity = avail;
	map->reserv = rsv;
	map->source = *src;
	map->map_sync = map_sync;
	map->no_access = !(prot & (PROT_READ | PROT_WRITE));
	persist_set_fns(map);

	if (rsv) {
		rsv_insert_release(rsv, map);
	} else {
		ret = map_register(map);
		if (ret) {
			free(map);
			goto err_unmap;
		}
	}
	LOG(3, "mapped %zu bytes at %p, granularity %s", len, addr,
		map_granularity_name(avail));
	*map_ptr = map;
	return 0;

err_unmap:
	if (rsv) {
		os_placeholder(addr, reserved, 1);
		rsv_release(rsv);
	} else {
		os_munmap(addr, reserved);
	}
	return ret;
}

PMEM2_API int
pmem2_map_delete(struct pmem2_map **map_ptr)
{
	errormsg_clear();
	struct pmem2_map *map = *map_ptr;
	struct pmem2_vm_reservation *rsv = map->reserv;
	int ret;

	if (rsv) {
		rsv_lock(rsv);
		ret = rsv_remove_locked(rsv, map);
		if (ret) {
			rsv_release(rsv);
			return ret;
		}
		if (os_placeholder(map->addr, map->reserved_length, 1) ==
				MAP_FAILED) {
			int e = errno;
			rsv_insert_release(rsv, map);
			ERR_ERRNO(e, "cannot put the reservation's placeholder "
				"back over %p", map->addr);
			return -e;
		}
		rsv_release(rsv);
	} else {
		/* out of the registry before the range is released: a stale
		 * entry would make a later mapping at this address skip its
		 * real msync */
		ret = map_unregister(map);
		if (ret)
			return ret;
		if (!map->from_existing &&
				os_munmap(map->addr, map->reserved_length)) {
			int e = errno;
			map_register(map);
			ERR_ERRNO(e, "munmap(%p, %zu) failed", map->addr,
				map->reserved_length);
			return -e;
		}
	}
	free(map);
	*map_ptr = NULL;
	return 0;
}

PMEM2_API int
pmem2_map_from_existing(struct pmem2_map **map_ptr,
		const struct pmem2_source *src, void *addr, size_t len,
		enum pmem2_granularity gran)
{
	core_init();
	errormsg_clear();
	if (!granularity_valid(gran)) {
		ERR("unknown granularity value %d", (int)gran);
		return PMEM2_E_GRANULARITY_NOT_SUPPORTED;
	}
	if (len == 0) {
		ERR("an existing mapping of length 0 cannot be described");
		return PMEM2_E_LENGTH_OUT_OF_RANGE;
	}
	int ret;
	struct pmem2_map *map = pmem2_zalloc(sizeof(*map), &ret);
	if (!map)
		return ret;
	map->addr = addr;
	map->content_length = len;
	map->effective_granularity = gran;
	map->source = *src;
	map->from_existing = true;
	persist_set_fns(map);
	ret = map_register(map);
	if (ret) {
		free(map);
		return ret;
	}
	*map_ptr = map;
	return 0;
}
