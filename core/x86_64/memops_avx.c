/* SPDX-License-Identifier: BSD-3-Clause */
/* memops_avx.c -- the mover with AVX (32-byte) loads and stores (-mavx). */
#include <immintrin.h>

#include "flush_x86.h"

#define MEMOPS_ISA avx

typedef struct { __m256i a, b; } vline_t;

MEMOPS_INLINE vline_t
vline_load(const char *s)
{
	const __m256i *p = (const __m256i *)s;
	return (vline_t){ _mm256_loadu_si256(p), _mm256_loadu_si256(p + 1) };
}

MEMOPS_INLINE void
vline_store(char *d, vline_t v)
{
	__m256i *p = (__m256i *)d;
	_mm256_storeu_si256(p, v.a);
	_mm256_storeu_si256(p + 1, v.b);
}

MEMOPS_INLINE void
vline_stream(char *d, vline_t v)
{
	__m256i *p = (__m256i *)d;
	_mm256_stream_si256(p, v.a);
	_mm256_stream_si256(p + 1, v.b);
}

MEMOPS_INLINE vline_t
vline_splat(int c)
{
	__m256i x = _mm256_set1_epi8((char)c);
	return (vline_t){ x, x };
}

#include "memops_tmpl.h"
