/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * persist.c -- the flush core: chooses, once, the flush instruction and the
 * mover variant from CPUID and the PMEM_* switches, and hands each mapping
 * its persist/flush/drain/memmove/memcpy/memset functions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flush.h"
#include "map.h"
#include "os.h"
#include "persist.h"
#include "x86_64/flush_x86.h"

size_t memops_nt_threshold = MEMOPS_NT_THRESHOLD_DEFAULT;
size_t memops_nt_threshold_eadr = MEMOPS_NT_THRESHOLD_EADR_DEFAULT;
size_t memops_nt_threshold_eadr_set = MEMOPS_NT_THRESHOLD_EADR_SET_DEFAULT;

/*
 * The choice made by flush_init_from_env().  Written before the first
 * mapping exists (library constructor), read-only afterwards.
 */
static struct {
	enum flush_kind kind;		/* for CACHE_LINE mappings */
	const struct memops_isa *isa;
	int no_flush;			/* PMEM_NO_FLUSH: -1 unset, 0, 1 */
} Chosen = { FLUSH_CLFLUSH, &memops_sse2, -1 };

/* Per flush kind: flush_<k> flushes, persist_<k> flushes and drains. */
#define FLUSH_FNS(kn, K) \
static void \
flush_##kn(const void *p, size_t len) \
{ \
	flush_range(K, p, len); \
} \
static void \
persist_##kn(const void *p, size_t len) \
{ \
	flush_range(K, p, len); \
	flush_sfence(); \
}
FLUSH_FNS(clwb, FLUSH_CLWB)
FLUSH_FNS(clflushopt, FLUSH_CLFLUSHOPT)
FLUSH_FNS(clflush, FLUSH_CLFLUSH)
FLUSH_FNS(eadr, FLUSH_NONE)	/* BYTE: the "flush" is nothing, the drain stays */

static const pmem2_flush_fn Flush_fns[FLUSH_KINDS] = {
	flush_clwb, flush_clflushopt, flush_clflush, flush_eadr
};
static const pmem2_persist_fn Persist_fns[FLUSH_KINDS] = {
	persist_clwb, persist_clflushopt, persist_clflush, persist_eadr
};

/* drain_fence -- CACHE_LINE and BYTE: SFENCE orders flushes and NT stores */
static void
drain_fence(void)
{
	flush_sfence();
}

/* drain_nop -- PAGE: msync in the flush already waited for everything */
static void
drain_nop(void)
{
}

/*
 * persist_pages -- PAGE granularity: msync(MS_SYNC) the pages the range
 * touches.  A persist function cannot return an error; a failure (a range
 * that is not all mapped) is logged and written to stderr.
 */
static void
persist_pages(const void *p, size_t len)
{
	uintptr_t a = ALIGN_DOWN((uintptr_t)p, Pagesize);
	if (os_msync((void *)a, len + ((uintptr_t)p - a), MS_SYNC) == 0)
		return;
	int e = errno;
	static const char msg[] = "libpmem2: msync failed in persist\n";
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to do */
	}
	LOG(1, "msync(%p, %zu): errno %d", (void *)a, len, e);
	errno = e;
}

/*
 * memmove_pages/memset_pages -- PAGE granularity: store without cache
 * flushes (the eADR variant with NODRAIN), fence the non-temporal stores,
 * then msync.  NODRAIN cannot skip the msync: it is the flush.
 */
static void *
memmove_pages(void *d, const void *s, size_t len, unsigned flags)
{
	Chosen.isa->memmove[FLUSH_NONE](d, s, len,
			flags | PMEM2_F_MEM_NODRAIN);
	if (!(flags & PMEM2_F_MEM_NOFLUSH)) {
		flush_sfence();
		persist_pages(d, len);
	}
	return d;
}

static void *
memset_pages(void *d, int c, size_t len, unsigned flags)
{
	Chosen.isa->memset[FLUSH_NONE](d, c, len, flags | PMEM2_F_MEM_NODRAIN);
	if (!(flags & PMEM2_F_MEM_NOFLUSH)) {
		flush_sfence();
		persist_pages(d, len);
	}
	return d;
}

/*
 * env_bad -- a PMEM_* variable we cannot use: say so on stderr (a single
 * write(2), no stdio) and in the log; the caller keeps the default.
 */
static void
env_bad(const char *name, const char *val, const char *want)
{
	char msg[200];
	int n = snprintf(msg, sizeof(msg), "libpmem2: ignoring invalid "
		"%s=\"%.40s\" (want %s)\n", name, val, want);
	if (n > 0 && write(2, msg, (size_t)n) < 0) {
		/* nothing more we can do */
	}
	LOG(1, "ignoring invalid %s=\"%.40s\" (want %s)", name, val, want);
}

/* env_bool -- "0" or "1"; unset or empty gives def. */
static int
env_bool(const char *name, int def)
{
	const char *v = secure_getenv(name);
	if (!v || !*v)
		return def;
	if (strcmp(v, "0") == 0 || strcmp(v, "1") == 0)
		return v[0] == '1';
	env_bad(name, v, "0 or 1");
	return def;
}

/* env_size -- a decimal byte count; 0 is allowed. */
static size_t
env_size(const char *name, size_t def)
{
	const char *v = secure_getenv(name);
	if (!v || !*v)
		return def;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (*v < '0' || *v > '9' || *end || errno) {
		env_bad(name, v, "a decimal number of bytes");
		return def;
	}
	return (size_t)x;
}

/* choose_isa -- the widest usable mover, unless switched off (PMDK's order) */
static const struct memops_isa *
choose_isa(const struct cpu_features *f)
{
	int no_movnt = env_bool("PMEM_NO_MOVNT", 0);
	int no_generic = env_bool("PMEM_NO_GENERIC_MEMCPY", 0);
	int avx = env_bool("PMEM_AVX", 1);
	int avx512f = env_bool("PMEM_AVX512F", 1);
	int movdir64b = env_bool("PMEM_MOVDIR64B", 1);

	if (no_movnt)
		return no_generic ? &memops_libc : &memops_generic;
	if (f->movdir64b && movdir64b)
		return &memops_movdir64b;
	if (f->avx512f && avx512f)
		return &memops_avx512f;
	if (f->avx && avx)
		return &memops_avx;
	return &memops_sse2;
}

void
flush_init_from_env(void)
{
	struct cpu_features f;
	cpu_detect(&f);

	int no_clwb = env_bool("PMEM_NO_CLWB", 0);
	int no_clflushopt = env_bool("PMEM_NO_CLFLUSHOPT", 0);
	enum flush_kind k = FLUSH_CLFLUSH;
	if (f.clwb && !no_clwb)
		k = FLUSH_CLWB;
	else if (f.clflushopt && !no_clflushopt)
		k = FLUSH_CLFLUSHOPT;

	Chosen.kind = k;
	Chosen.isa = choose_isa(&f);
	Chosen.no_flush = env_bool("PMEM_NO_FLUSH", -1);
	size_t thr = env_size("PMEM_MOVNT_THRESHOLD", SIZE_MAX);
	memops_nt_threshold = thr != SIZE_MAX ? thr :
		MEMOPS_NT_THRESHOLD_DEFAULT;
	memops_nt_threshold_eadr = thr != SIZE_MAX ? thr :
		MEMOPS_NT_THRESHOLD_EADR_DEFAULT;
	memops_nt_threshold_eadr_set = thr != SIZE_MAX ? thr :
		MEMOPS_NT_THRESHOLD_EADR_SET_DEFAULT;

	LOG(3, "flush %s, mover %s, movnt threshold %zu (BYTE %zu)%s",
		flush_kind_name(k), Chosen.isa->name, memops_nt_threshold,
		memops_nt_threshold_eadr, Chosen.no_flush == 1 ?
		", PMEM_NO_FLUSH=1" : "");
}

void
persist_init(void)
{
	flush_init_from_env();
}

const char *
flush_isa_name(void)
{
	return Chosen.isa->name;
}

enum flush_kind
flush_chosen_kind(void)
{
	return Chosen.kind;
}

const char *
flush_kind_name(enum flush_kind k)
{
	static const char *const names[FLUSH_KINDS] = {
		"clwb", "clflushopt", "clflush", "none"
	};
	return (unsigned)k < FLUSH_KINDS ? names[k] : "?";
}

/*
 * persist_set_fns -- PMEM_NO_FLUSH=1 treats CACHE_LINE like BYTE (no cache
 * flushes, drain kept); PMEM_NO_FLUSH=0 treats BYTE like CACHE_LINE.  An
 * unknown granularity gets the msync path, which is never wrong.
 */
void
persist_set_fns(struct pmem2_map *map)
{
	enum pmem2_granularity g = map->effective_granularity;
	if (g == PMEM2_GRANULARITY_CACHE_LINE && Chosen.no_flush == 1)
		g = PMEM2_GRANULARITY_BYTE;
	else if (g == PMEM2_GRANULARITY_BYTE && Chosen.no_flush == 0)
		g = PMEM2_GRANULARITY_CACHE_LINE;
	else if (g != PMEM2_GRANULARITY_CACHE_LINE &&
			g != PMEM2_GRANULARITY_BYTE)
		g = PMEM2_GRANULARITY_PAGE;
	map->persist_granularity = g;

	if (g != PMEM2_GRANULARITY_PAGE) {
		enum flush_kind k = g == PMEM2_GRANULARITY_BYTE ? FLUSH_NONE :
			Chosen.kind;
		map->persist_fn = Persist_fns[k];
		map->flush_fn = Flush_fns[k];
		map->drain_fn = drain_fence;
		map->memmove_fn = Chosen.isa->memmove[k];
		map->memset_fn = Chosen.isa->memset[k];
	} else {
		map->persist_fn = persist_pages;
		map->flush_fn = persist_pages;
		map->drain_fn = drain_nop;
		map->memmove_fn = memmove_pages;
		map->memset_fn = memset_pages;
	}
	/* every mover is overlap-safe, so memcpy is memmove, as in PMDK */
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
