/* SPDX-License-Identifier: BSD-3-Clause */
/* memops_movdir64b.c -- the mover with MOVDIR64B for whole lines, SSE2 else. */
#include <immintrin.h>

#include "vline_sse2.h"

#define MEMOPS_ISA movdir64b

/*
 * vline_stream -- MOVDIR64B takes its source from memory, so the line goes
 * through an aligned stack slot.  Like MOVNT it is weakly ordered: the
 * mover's final SFENCE orders it.
 */
MEMOPS_INLINE void
vline_stream(char *d, vline_t v)
{
	_Alignas(64) char buf[64];
	vline_store(buf, v);
	_movdir64b(d, buf);
}

#include "memops_tmpl.h"
