/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_util.h -- the clock and the median every benchmark of the project
 * uses (pmem2-bench, pmem2-mapbench, tests/shim/bench_shim).
 */
#ifndef PMEMSHIM_BENCH_UTIL_H
#define PMEMSHIM_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

/* now_ns -- CLOCK_MONOTONIC in ns */
static inline double
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* cmp_double -- ascending order for qsort */
static inline int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* median -- sorts v[0..n) and returns its middle element */
static inline double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

#endif
