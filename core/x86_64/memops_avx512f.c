/* SPDX-License-Identifier: BSD-3-Clause */
/* memops_avx512f.c -- the mover with AVX-512F (64-byte) loads and stores. */
#include <immintrin.h>

#include "flush_x86.h"

#define MEMOPS_ISA avx512f

typedef __m512i vline_t;

MEMOPS_INLINE vline_t
vline_load(const char *s)
{
	return _mm512_loadu_si512((const void *)s);
}

MEMOPS_INLINE void
vline_store(char *d, vline_t v)
{
	_mm512_storeu_si512((void *)d, v);
}

MEMOPS_INLINE void
vline_stream(char *d, vline_t v)
{
	_mm512_stream_si512((void *)d, v);
}

MEMOPS_INLINE vline_t
vline_splat(int c)
{
	return _mm512_set1_epi8((char)c);
}

#include "memops_tmpl.h"
