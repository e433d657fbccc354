/* SPDX-License-Identifier: BSD-3-Clause */
/* vline_sse2.h -- a cache line as four SSE2 registers (sse2, movdir64b). */
#ifndef PMEM2_VLINE_SSE2_H
#define PMEM2_VLINE_SSE2_H

#include <emmintrin.h>

#include "flush_x86.h"

typedef struct { __m128i a, b, c, d; } vline_t;

MEMOPS_INLINE vline_t
vline_load(const char *s)
{
	const __m128i *p = (const __m128i *)s;
	return (vline_t){ _mm_loadu_si128(p), _mm_loadu_si128(p + 1),
		_mm_loadu_si128(p + 2), _mm_loadu_si128(p + 3) };
}

MEMOPS_INLINE void
vline_store(char *d, vline_t v)
{
	__m128i *p = (__m128i *)d;
	_mm_storeu_si128(p, v.a);
	_mm_storeu_si128(p + 1, v.b);
	_mm_storeu_si128(p + 2, v.c);
	_mm_storeu_si128(p + 3, v.d);
}

MEMOPS_INLINE vline_t
vline_splat(int c)
{
	__m128i x = _mm_set1_epi8((char)c);
	return (vline_t){ x, x, x, x };
}

#endif /* PMEM2_VLINE_SSE2_H */
