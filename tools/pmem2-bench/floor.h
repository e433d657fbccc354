/* SPDX-License-Identifier: BSD-3-Clause */
/* floor.h -- pmem2-bench --floor: small persisted copies, every sequence */
#ifndef PMEM2_BENCH_FLOOR_H
#define PMEM2_BENCH_FLOOR_H

#include <stddef.h>

#include <libpmem2.h>

struct floor_area {
	char *base;		/* CACHE_LINE mapping, region bytes */
	size_t region;
	const char *src;	/* cold source, src_region bytes */
	size_t src_region;
	int quick;
};

/* the ceiling loop of the main table (pmem2_bench.c) */
void ceil_copy(char *d, const char *s, size_t n);

int floor_study(const struct floor_area *a, pmem2_memcpy_fn ours,
	pmem2_memcpy_fn pmdk, int reps);

#endif
