/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * deep_flush.c -- pmem2_deep_flush: make a range durable in the deepest
 * persistence domain software can reach, and say so only when it is.
 *
 *   anonymous memory     PMEM2_E_NOSUPP (nothing to persist to)
 *   regular file, PAGE   msync(MS_SYNC) of the page-aligned range -- PMDK
 *                        1.12 does nothing here; msync is what "stored
 *                        durably" means for a page-cache mapping
 *   regular file,        flush the range from the CPU caches, then msync:
 *     CACHE_LINE/BYTE    on fsdax the kernel's fsync sends a REQ_PREFLUSH
 *                        to the pmem driver, which flushes the region
 *                        (nvdimm_flush) -- unprivileged, unlike sysfs
 *   device DAX           flush the CPU caches, then the region's
 *                        deep_flush attribute (device DAX has no msync);
 *                        a failed write is an error, not a silent success
 *                        as in PMDK (pmdk#5992)
 *
 * Every failure comes back as an error code with a message.
 */
#include <stdint.h>
#include <sys/mman.h>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include "map.h"
#include "os.h"
#include "ras.h"
#include "region.h"

#define CACHELINE 64

void
ras_cpu_flush(const void *addr, size_t len)
{
#if defined(__x86_64__)
	uintptr_t p = ALIGN_DOWN((uintptr_t)addr, CACHELINE);
	uintptr_t end = (uintptr_t)addr + len;
	for (; p < end; p += CACHELINE)
		_mm_clflush((const void *)p);
	_mm_sfence();
#else
	(void) addr;
	(void) len;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/* sync_pages -- msync(MS_SYNC) of the page-aligned cover of the range */
static int
sync_pages(void *ptr, size_t size)
{
	uintptr_t a = ALIGN_DOWN((uintptr_t)ptr, Pagesize);
	size_t len = size + ((uintptr_t)ptr - a);
	if (os_msync((void *)a, len, MS_SYNC)) {
		int e = errno;
		ERR_ERRNO(e, "msync of %zu bytes at %p failed; the range is "
			"not known to be durable", len, (void *)a);
		return -e;
	}
	return 0;
}

/* cpu_flush -- the range out of the CPU caches, by the mapping's own
 * flush where it has one */
static void
cpu_flush(struct pmem2_map *map, void *ptr, size_t size)
{
	if (map->effective_granularity == PMEM2_GRANULARITY_CACHE_LINE &&
			map->flush_fn && map->drain_fn) {
		map->flush_fn(ptr, size);
		map->drain_fn();
	} else {
		ras_cpu_flush(ptr, size);
	}
}

/* devdax_deep_flush -- the region's write-pending queues */
static int
devdax_deep_flush(struct pmem2_map *map)
{
	struct region_loc loc;
	int ret = region_find(&map->source, &loc);
	if (ret)
		return ret;
	return region_deep_flush(&loc);
}

PMEM2_API int
pmem2_deep_flush(struct pmem2_map *map, void *ptr, size_t size)
{
	errormsg_clear();
	uintptr_t lo = (uintptr_t)map->addr;
	uintptr_t hi = lo + map->content_length;
	uintptr_t p = (uintptr_t)ptr;
	/* written so that a huge size cannot wrap around */
	if (p < lo || p > hi || size > hi - p) {
		ERR("the deep flush range %p+%zu is not inside the mapping "
			"%p+%zu", ptr, size, map->addr, map->content_length);
		return PMEM2_E_DEEP_FLUSH_RANGE;
	}
	if (map->source.type == PMEM2_SOURCE_ANON) {
		ERR("a mapping of anonymous memory has no persistence domain "
			"to flush to");
		return PMEM2_E_NOSUPP;
	}
	/*
	 * A mapping without read or write access cannot hold stores made
	 * through it, and flushing it would fault (CLFLUSH/CLWB need a
	 * readable page): only the kernel's part applies.
	 */
	bool flush = !map->no_access;
	/* device DAX has no msync, whatever granularity was forced */
	if (map->source.value.ftype == PMEM2_FTYPE_DEVDAX) {
		if (flush)
			cpu_flush(map, ptr, size);
		return devdax_deep_flush(map);
	}
	if (map->effective_granularity != PMEM2_GRANULARITY_PAGE && flush)
		cpu_flush(map, ptr, size);
	return sync_pages(ptr, size);
}
