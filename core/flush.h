/* SPDX-License-Identifier: BSD-3-Clause */
/* flush.h -- internals of the flush core: flush kinds, mover tables, CPU. */
#ifndef PMEM2_FLUSH_H
#define PMEM2_FLUSH_H

#include <stdbool.h>
#include <stddef.h>

#include "pmem2_utils.h"

/*
 * How a written cache line is made durable.  FLUSH_NONE is the BYTE
 * granularity (eADR) case: nothing to flush, the drain still fences.
 */
enum flush_kind {
	FLUSH_CLWB,
	FLUSH_CLFLUSHOPT,
	FLUSH_CLFLUSH,
	FLUSH_NONE,
	FLUSH_KINDS
};

/*
 * One instruction-set variant of the mover: a memmove and a memset per
 * flush kind.  Each entry is a complete pmem2_memmove_fn/pmem2_memset_fn
 * (it flushes and drains as its flags say), so a mapping's function pointer
 * goes straight to it.
 */
struct memops_isa {
	const char *name;
	pmem2_memmove_fn memmove[FLUSH_KINDS];
	pmem2_memset_fn memset[FLUSH_KINDS];
};

extern PMEM2_INTERNAL const struct memops_isa memops_sse2;
extern PMEM2_INTERNAL const struct memops_isa memops_avx;
extern PMEM2_INTERNAL const struct memops_isa memops_avx512f;
extern PMEM2_INTERNAL const struct memops_isa memops_movdir64b;
extern PMEM2_INTERNAL const struct memops_isa memops_generic;	/* PMEM_NO_MOVNT=1 */
extern PMEM2_INTERNAL const struct memops_isa memops_libc;	/* ... + PMEM_NO_GENERIC_MEMCPY=1 */

/*
 * The length from which the movers use non-temporal stores when no
 * TEMPORAL/NONTEMPORAL hint is given: for flushed mappings (CACHE_LINE),
 * and at BYTE granularity for copies and for memset.  PMEM_MOVNT_THRESHOLD
 * sets all three.  Written only by flush_init_from_env().
 *
 * The defaults come from tools/pmem2-bench (RESULTS.md): with a flush to
 * pay anyway, a full line stored non-temporally beats store + CLWB from
 * 64 bytes up; without one (BYTE), ordinary stores win below ~4 KiB for
 * copies and, for memset, up to ~64 KiB.
 */
extern PMEM2_INTERNAL size_t memops_nt_threshold;
extern PMEM2_INTERNAL size_t memops_nt_threshold_eadr;
extern PMEM2_INTERNAL size_t memops_nt_threshold_eadr_set;

#define MEMOPS_NT_THRESHOLD_DEFAULT 64
#define MEMOPS_NT_THRESHOLD_EADR_DEFAULT (4 * 1024)
#define MEMOPS_NT_THRESHOLD_EADR_SET_DEFAULT (64 * 1024)

struct cpu_features {
	bool clflush, clflushopt, clwb;
	bool sse2, avx, avx512f, movdir64b;
	bool ospke;	/* RDPKRU/WRPKRU usable */
};

/* cpu_detect -- CPUID (and XGETBV for the AVX state) into *f. */
void cpu_detect(struct cpu_features *f);

/*
 * flush_init_from_env -- (re)read the CPU and the PMEM_* switches and
 * refill the function table.  persist_init() calls it once; tests call it
 * again after changing the environment.  Not thread-safe against mappings
 * being created at the same time.
 */
void flush_init_from_env(void);

/* What flush_init_from_env() chose (tests, tools, log). */
const char *flush_isa_name(void);
enum flush_kind flush_chosen_kind(void);
const char *flush_kind_name(enum flush_kind k);

#endif /* PMEM2_FLUSH_H */
