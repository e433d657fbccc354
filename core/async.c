/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * async.c -- PMDK 1.12's miniasync-based calls, exported so that binaries
 * built against 1.12 load.  Debian ships no miniasync, so they are not
 * implemented: each reports PMEM2_E_NOSUPP through pmem2_errormsg().
 */
#include <string.h>

#include "pmem2_utils.h"

struct pmem2_config;
struct pmem2_map;
struct vdm;

PMEM2_API int
pmem2_config_set_vdm(struct pmem2_config *cfg, struct vdm *vdm)
{
	(void) cfg;
	(void) vdm;
	ERR("pmem2_config_set_vdm is not supported: this libpmem2 is built "
		"without miniasync (asynchronous copies)");
	return PMEM2_E_NOSUPP;
}

/*
 * The async copy calls return a struct pmem2_future by value.  Its layout
 * comes from miniasync's FUTURE() macros: a future_context header (data
 * size, output size, state) followed by the chained data and the output.
 * The caller passes a hidden pointer to storage of its own size; we fill the
 * header so that the future reads as COMPLETE with a NULL destination, never
 * touching bytes beyond the header, and set the error message.
 */
struct future_context_hdr {
	size_t data_size;
	size_t output_size;
	int state;		/* FUTURE_STATE_COMPLETE == 2 */
};

struct pmem2_future_abi {
	struct future_context_hdr ctx;
	char opaque[512];	/* larger than any 1.12 pmem2_future */
};

static struct pmem2_future_abi
future_nosupp(const char *fn)
{
	struct pmem2_future_abi f;
	memset(&f.ctx, 0, sizeof(f.ctx));
	f.ctx.state = 2;
	ERR("%s is not supported: this libpmem2 is built without miniasync "
		"(asynchronous copies); use pmem2_get_memcpy_fn()", fn);
	return f;
}

PMEM2_API struct pmem2_future_abi
pmem2_memcpy_async(struct pmem2_map *map, void *pmemdest, const void *src,
		size_t len, unsigned flags)
{
	(void) map; (void) pmemdest; (void) src; (void) len; (void) flags;
	return future_nosupp(__func__);
}

PMEM2_API struct pmem2_future_abi
pmem2_memmove_async(struct pmem2_map *map, void *pmemdest, const void *src,
		size_t len, unsigned flags)
{
	(void) map; (void) pmemdest; (void) src; (void) len; (void) flags;
	return future_nosupp(__func__);
}

PMEM2_API struct pmem2_future_abi
pmem2_memset_async(struct pmem2_map *map, void *str, int c, size_t n,
		unsigned flags)
{
	(void) map; (void) str; (void) c; (void) n; (void) flags;
	return future_nosupp(__func__);
}
