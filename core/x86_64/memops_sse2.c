/* SPDX-License-Identifier: BSD-3-Clause */
/* memops_sse2.c -- the mover with SSE2 (16-byte) loads and stores. */
#include "vline_sse2.h"

#define MEMOPS_ISA sse2

MEMOPS_INLINE void
vline_stream(char *d, vline_t v)
{
	__m128i *p = (__m128i *)d;
	_mm_stream_si128(p, v.a);
	_mm_stream_si128(p + 1, v.b);
	_mm_stream_si128(p + 2, v.c);
	_mm_stream_si128(p + 3, v.d);
}

#include "memops_tmpl.h"
