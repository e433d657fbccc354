/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ras_pending.c -- TEMPORARY: RAS entry points that are not implemented
 * yet (issue 5).  Each fails with PMEM2_E_NOSUPP and says so.  The RAS work
 * deletes this file (and its line in ras.cmake) as it lands the real ones.
 */
#include "pmem2_utils.h"

struct pmem2_map;
struct pmem2_source;
struct pmem2_badblock;
struct pmem2_badblock_context;

#define PENDING() do { \
	ERR("%s is not implemented yet", __func__); \
	return PMEM2_E_NOSUPP; \
} while (0)

PMEM2_API int
pmem2_deep_flush(struct pmem2_map *map, void *ptr, size_t size)
{
	(void) map; (void) ptr; (void) size;
	PENDING();
}

PMEM2_API int
pmem2_source_device_id(const struct pmem2_source *src, char *id, size_t *len)
{
	(void) src; (void) id; (void) len;
	PENDING();
}

PMEM2_API int
pmem2_source_device_usc(const struct pmem2_source *src, uint64_t *usc)
{
	(void) src; (void) usc;
	PENDING();
}

PMEM2_API int
pmem2_source_numa_node(const struct pmem2_source *src, int *numa_node)
{
	(void) src; (void) numa_node;
	PENDING();
}

PMEM2_API int
pmem2_badblock_context_new(struct pmem2_badblock_context **bbctx,
		const struct pmem2_source *src)
{
	(void) src;
	*bbctx = NULL;
	PENDING();
}

PMEM2_API int
pmem2_badblock_next(struct pmem2_badblock_context *bbctx,
		struct pmem2_badblock *bb)
{
	(void) bbctx; (void) bb;
	PENDING();
}

PMEM2_API void
pmem2_badblock_context_delete(struct pmem2_badblock_context **bbctx)
{
	*bbctx = NULL;
}

PMEM2_API int
pmem2_badblock_clear(struct pmem2_badblock_context *bbctx,
		const struct pmem2_badblock *bb)
{
	(void) bbctx; (void) bb;
	PENDING();
}

PMEM2_API int
pmem2_source_pread_mcsafe(struct pmem2_source *src, void *buf, size_t size,
		size_t offset)
{
	(void) src; (void) buf; (void) size; (void) offset;
	PENDING();
}

PMEM2_API int
pmem2_source_pwrite_mcsafe(struct pmem2_source *src, void *buf, size_t size,
		size_t offset)
{
	(void) src; (void) buf; (void) size; (void) offset;
	PENDING();
}
