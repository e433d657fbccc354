/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * floor.c -- pmem2-bench --floor: is there a faster way to persist a small
 * copy than the ceiling loop?  Every instruction sequence that could store
 * 64 B or 256 B and make it persistent, timed like the main table (fresh
 * destination lines, cold source, contenders interleaved, medians), next
 * to ours and PMDK's memcpy with flags 0.
 *
 * What it showed on the 2-vCPU EPYC of RESULTS.md: every non-temporal
 * form lands on the same time per copy (the SFENCE waits for the lines to
 * reach memory, ~100 ns), and the cached forms (store + CLWB/CLFLUSHOPT,
 * a full MFENCE) are slower.  So "1.05x PMDK at 256 B", with PMDK already
 * at 0.98x of the loop, asks for more than the fastest sequence gives.
 */
#include <cpuid.h>
#include <immintrin.h>
#include <stdio.h>

#include "floor.h"
#include "bench_util.h"

typedef void (*seq_fn)(char *, const char *, size_t);

__attribute__((target("avx2"), noinline)) static void
nt256(char *d, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i += 32)
		_mm256_stream_si256((void *)(d + i),
			_mm256_loadu_si256((const void *)(s + i)));
	_mm_sfence();
}

__attribute__((noinline)) static void
movnti(char *d, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i += 8)
		_mm_stream_si64((long long *)(void *)(d + i),
			*(const long long *)(const void *)(s + i));
	_mm_sfence();
}

__attribute__((target("avx512f"), noinline)) static void
nt512_mfence(char *d, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i += 64)
		_mm512_stream_si512((void *)(d + i),
			_mm512_loadu_si512((const void *)(s + i)));
	_mm_mfence();
}

__attribute__((target("avx512f"), noinline)) static void
nt512_locked(char *d, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i += 64)
		_mm512_stream_si512((void *)(d + i),
			_mm512_loadu_si512((const void *)(s + i)));
	__asm__ volatile("lock orq $0, (%%rsp)" ::: "memory", "cc");
}

__attribute__((target("avx512f,clwb"), noinline)) static void
store_clwb(char *d, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i += 64)
		_mm512_storeu_si512((void *)(d + i),
			_mm512_loadu_si512((const void *)(s + i)));
	for (size_t i = 0; i < n; i += 64)
		_mm_clwb(d + i);
	_mm_sfence();
}

__attribute__((target("avx512f,clflushopt"), noinline)) static void
store_clflushopt(char *d, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i += 64)
		_mm512_storeu_si512((void *)(d + i),
			_mm512_loadu_si512((const void *)(s + i)));
	for (size_t i = 0; i < n; i += 64)
		_mm_clflushopt(d + i);
	_mm_sfence();
}

__attribute__((noinline)) static void
dir64b(char *d, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i += 64)
		__asm__ volatile("movdir64b (%1), %0"
			:: "r"(d + i), "r"(s + i) : "memory");
	_mm_sfence();
}

static int
has(unsigned leaf7_reg, unsigned bit)
{
	unsigned a, b, c, d;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return ((leaf7_reg == 'b' ? b : c) >> bit) & 1;
}

struct seq {
	const char *name;
	seq_fn f;		/* NULL: a library's memcpy */
	pmem2_memcpy_fn lib;
	int ok;
};

/* one timed batch: ns per persisted copy of len bytes */
static double
batch(const struct seq *q, const struct floor_area *a, size_t len,
	size_t *cur, size_t *scur)
{
	size_t n = (a->quick ? 16 : 64) * 1024 * 1024 / len;
	double t0 = now_ns();
	for (size_t i = 0; i < n; i++) {
		if (*cur + len > a->region)
			*cur = 0;
		if (*scur + len > a->src_region)
			*scur = 0;
		char *d = a->base + *cur;
		const char *s = a->src + *scur;
		if (q->f)
			q->f(d, s, len);
		else
			q->lib(d, s, len, 0);
		*cur += len;
		*scur += len;
	}
	_mm_mfence();
	return (now_ns() - t0) / (double)n;
}

#define NSEQ 11
#define MAXR 15

int
floor_study(const struct floor_area *a, pmem2_memcpy_fn ours,
	pmem2_memcpy_fn pmdk, int reps)
{
	struct seq q[NSEQ] = {
		{ "AVX-512 vmovntdq + sfence (ceiling)", ceil_copy, NULL, 1 },
		{ "AVX2 vmovntdq + sfence", nt256, NULL, 1 },
		{ "movnti (8 B) + sfence", movnti, NULL, 1 },
		{ "movdir64b + sfence", dir64b, NULL, has('c', 28) },
		{ "AVX-512 vmovntdq + mfence", nt512_mfence, NULL, 1 },
		{ "AVX-512 vmovntdq + locked or", nt512_locked, NULL, 1 },
		{ "AVX-512 stores + clwb + sfence", store_clwb, NULL,
			has('b', 24) },
		{ "AVX-512 stores + clflushopt + sfence", store_clflushopt,
			NULL, has('b', 23) },
		{ "ours: pmem2 memcpy, flags 0", NULL, ours, 1 },
		{ "PMDK: pmem2 memcpy, flags 0", NULL, pmdk, 1 },
		{ NULL, NULL, NULL, 0 },
	};
	static const size_t sizes[] = { 64, 256 };
	size_t cur = 0, scur = 0;
	if (reps > MAXR)
		reps = MAXR;
	printf("persisted copies to fresh lines (CACHE_LINE region), ns per "
		"copy, medians of %d interleaved batches\n\n", reps);
	printf("%-38s %9s %9s %11s %11s\n", "sequence", "64 B ns", "256 B ns",
		"64 B /ceil", "256 B /ceil");
	double med[NSEQ][2];
	for (size_t si = 0; si < 2; si++) {
		double v[NSEQ][MAXR];
		for (int r = 0; r < reps; r++)
			for (int j = 0; q[j].name; j++) {
				int k = (j + r) % (NSEQ - 1);
				if (q[k].ok)
					v[k][r] = batch(&q[k], a, sizes[si],
						&cur, &scur);
			}
		for (int k = 0; q[k].name; k++) {
			if (!q[k].ok)
				continue;
			med[k][si] = median(v[k], (size_t)reps);
		}
	}
	for (int k = 0; q[k].name; k++) {
		if (!q[k].ok) {
			printf("%-38s %9s %9s %11s %11s\n", q[k].name, "-", "-",
				"(no CPU", "support)");
			continue;
		}
		/* speed relative to the ceiling: ceiling ns / this ns */
		printf("%-38s %9.1f %9.1f %11.3f %11.3f\n", q[k].name,
			med[k][0], med[k][1], med[0][0] / med[k][0],
			med[0][1] / med[k][1]);
	}
	printf("\nours/PMDK: 64 B %.3f, 256 B %.3f (speed)\n",
		med[9][0] / med[8][0], med[9][1] / med[8][1]);
	return 0;
}
