/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * persist.c -- PLACEHOLDER flush core: plain and correct, not fast.
 * Replaced by the CPU-dispatched flush core and mover (issue 3).
 */
#include <string.h>

#include "map.h"
#include "os.h"
#include "persist.h"

static void
persist_pages(const void *ptr, size_t size)
{
	uintptr_t a = ALIGN_DOWN((uintptr_t)ptr, Pagesize);
	size += (uintptr_t)ptr - a;
	/* a persist function cannot report failure; msync on a mapped range
	 * of a regular file does not fail */
	(void) os_msync((void *)a, size, MS_SYNC);
}

static void
flush_clflush(const void *ptr, size_t size)
{
	uintptr_t a = ALIGN_DOWN((uintptr_t)ptr, 64);
	for (; a < (uintptr_t)ptr + size; a += 64)
		__asm__ volatile("clflush %0" : "+m"(*(volatile char *)a));
}

static void
flush_none(const void *ptr, size_t size)
{
	(void) ptr;
	(void) size;
}

static void
drain_sfence(void)
{
	__asm__ volatile("sfence" ::: "memory");
}

static void
drain_none(void)
{
}

static void
persist_cl(const void *ptr, size_t size)
{
	flush_clflush(ptr, size);
	drain_sfence();
}

static void
persist_byte(const void *ptr, size_t size)
{
	(void) ptr;
	(void) size;
	drain_sfence();
}

#define MEM_FNS(suffix, flushfn, drainfn) \
static void * \
memmove_##suffix(void *d, const void *s, size_t n, unsigned flags) \
{ \
	memmove(d, s, n); \
	if (!(flags & PMEM2_F_MEM_NOFLUSH)) \
		flushfn(d, n); \
	if (!(flags & PMEM2_F_MEM_NODRAIN)) \
		drainfn(); \
	return d; \
} \
static void * \
memset_##suffix(void *d, int c, size_t n, unsigned flags) \
{ \
	memset(d, c, n); \
	if (!(flags & PMEM2_F_MEM_NOFLUSH)) \
		flushfn(d, n); \
	if (!(flags & PMEM2_F_MEM_NODRAIN)) \
		drainfn(); \
	return d; \
}

MEM_FNS(page, persist_pages, drain_none)
MEM_FNS(cl, flush_clflush, drain_sfence)
MEM_FNS(byte, flush_none, drain_sfence)

void
persist_init(void)
{
}

void
persist_set_fns(struct pmem2_map *map)
{
	switch (map->effective_granularity) {
	case PMEM2_GRANULARITY_PAGE:
		map->persist_fn = persist_pages;
		map->flush_fn = persist_pages;
		map->drain_fn = drain_none;
		map->memmove_fn = memmove_page;
		map->memset_fn = memset_page;
		break;
	case PMEM2_GRANULARITY_CACHE_LINE:
		map->persist_fn = persist_cl;
		map->flush_fn = flush_clflush;
		map->drain_fn = drain_sfence;
		map->memmove_fn = memmove_cl;
		map->memset_fn = memset_cl;
		break;
	default:
		map->persist_fn = persist_byte;
		map->flush_fn = flush_none;
		map->drain_fn = drain_sfence;
		map->memmove_fn = memmove_byte;
		map->memset_fn = memset_byte;
		break;
	}
	map->memcpy_fn = map->memmove_fn;
}

PMEM2_API pmem2_persist_fn
pmem2_get_persist_fn(struct pmem2_map *map)
{
	return map->persist_fn;
}

PMEM2_API pmem2_flush_fn
pmem2_get_flush_fn(struct pmem2_map *map)
{
	return map->flush_fn;
}

PMEM2_API pmem2_drain_fn
pmem2_get_drain_fn(struct pmem2_map *map)
{
	return map->drain_fn;
}

PMEM2_API pmem2_memmove_fn
pmem2_get_memmove_fn(struct pmem2_map *map)
{
	return map->memmove_fn;
}

PMEM2_API pmem2_memcpy_fn
pmem2_get_memcpy_fn(struct pmem2_map *map)
{
	return map->memcpy_fn;
}

PMEM2_API pmem2_memset_fn
pmem2_get_memset_fn(struct pmem2_map *map)
{
	return map->memset_fn;
}
