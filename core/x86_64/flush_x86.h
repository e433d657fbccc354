/* SPDX-License-Identifier: BSD-3-Clause */
/* flush_x86.h -- cache-line flush and fence instructions, always inlined. */
#ifndef PMEM2_FLUSH_X86_H
#define PMEM2_FLUSH_X86_H

#include <stdint.h>

#include "flush.h"

#define FLUSH_LINE 64
#define MEMOPS_INLINE static inline __attribute__((always_inline))

/*
 * flush_line -- write back (CLWB) or evict one cache line.  The "memory"
 * clobber keeps the compiler from sinking earlier stores to the line below
 * the flush; the mnemonics need no -m flag (the assembler knows them all).
 */
MEMOPS_INLINE void
flush_line(enum flush_kind k, const void *p)
{
	switch (k) {
	case FLUSH_CLWB:
		__asm__ volatile("clwb %0" : : "m"(*(const char *)p) : "memory");
		break;
	case FLUSH_CLFLUSHOPT:
		__asm__ volatile("clflushopt %0" : : "m"(*(const char *)p)
				: "memory");
		break;
	case FLUSH_CLFLUSH:
		__asm__ volatile("clflush %0" : : "m"(*(const char *)p)
				: "memory");
		break;
	default:
		break;
	}
}

/* flush_range -- flush every line that [p, p + len) touches. */
MEMOPS_INLINE void
flush_range(enum flush_kind k, const void *p, size_t len)
{
	if (k == FLUSH_NONE || len == 0)
		return;
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)(FLUSH_LINE - 1);
	uintptr_t end = (uintptr_t)p + len;
	for (; a < end; a += FLUSH_LINE)
		flush_line(k, (const void *)a);
}

/*
 * flush_sfence -- the drain: orders every earlier CLWB/CLFLUSHOPT and every
 * non-temporal store before any later store.  This is what makes them
 * durable on an ADR/eADR platform.
 */
MEMOPS_INLINE void
flush_sfence(void)
{
	__asm__ volatile("sfence" : : : "memory");
}

/* The hints that pick non-temporal or temporal stores (WC/WB alias them). */
#define MEMOPS_F_MOVNT (PMEM2_F_MEM_NONTEMPORAL | PMEM2_F_MEM_WC)
#define MEMOPS_F_MOV (PMEM2_F_MEM_TEMPORAL | PMEM2_F_MEM_WB)

/*
 * memops_drain -- the final fence of a mover, skipped for NODRAIN and for
 * NOFLUSH (which implies NODRAIN).  Every non-temporal path of every mover
 * ends here, so this is the fence the NT stores rely on.
 */
MEMOPS_INLINE void
memops_drain(unsigned flags)
{
	if (!(flags & (PMEM2_F_MEM_NODRAIN | PMEM2_F_MEM_NOFLUSH)))
		flush_sfence();
}

/* scalar loads and stores of any alignment (constant-size builtins) */
#define MEMOPS_LDST(bits) \
MEMOPS_INLINE uint##bits##_t \
ld##bits(const char *p) \
{ \
	uint##bits##_t v; \
	__builtin_memcpy(&v, p, sizeof(v)); \
	return v; \
} \
MEMOPS_INLINE void \
st##bits(char *p, uint##bits##_t v) \
{ \
	__builtin_memcpy(p, &v, sizeof(v)); \
}
MEMOPS_LDST(16)
MEMOPS_LDST(32)
MEMOPS_LDST(64)

/*
 * memops_copy8 -- a copy in 8-byte stores once d is aligned (bytes at the
 * ends), ascending or descending so that any overlap is handled: the
 * generic mover, and the vector movers' rare near-overlap case.
 */
MEMOPS_INLINE void
memops_copy8(char *d, const char *s, size_t len)
{
	if ((uintptr_t)d - (uintptr_t)s >= len) {
		for (; len && ((uintptr_t)d & 7); len--)
			*d++ = *s++;
		for (; len >= 8; len -= 8, d += 8, s += 8)
			st64(d, ld64(s));
		for (; len; len--)
			*d++ = *s++;
	} else {
		d += len;
		s += len;
		for (; len && ((uintptr_t)d & 7); len--)
			*--d = *--s;
		for (; len >= 8; len -= 8) {
			d -= 8;
			s -= 8;
			st64(d, ld64(s));
		}
		for (; len; len--)
			*--d = *--s;
	}
}

/*
 * MEMOPS_DEFINE -- the eight entry points of one mover variant (memmove and
 * memset for each flush kind) and its table memops_<isa>.  mv and ms are
 * always-inline bodies taking the flush kind as a constant last argument,
 * so each entry is a specialised function with no indirect call inside.
 */
#define MEMOPS_KIND(isa, mv, ms, kn, K) \
static void * \
memops_##isa##_memmove_##kn(void *d, const void *s, size_t len, \
		unsigned flags) \
{ \
	return mv(d, s, len, flags, K); \
} \
static void * \
memops_##isa##_memset_##kn(void *d, int c, size_t len, unsigned flags) \
{ \
	return ms(d, c, len, flags, K); \
}
#define MEMOPS_DEFINE_(isa, mv, ms) \
MEMOPS_KIND(isa, mv, ms, clwb, FLUSH_CLWB) \
MEMOPS_KIND(isa, mv, ms, clflushopt, FLUSH_CLFLUSHOPT) \
MEMOPS_KIND(isa, mv, ms, clflush, FLUSH_CLFLUSH) \
MEMOPS_KIND(isa, mv, ms, eadr, FLUSH_NONE) \
const struct memops_isa memops_##isa = { \
	.name = #isa, \
	.memmove = { memops_##isa##_memmove_clwb, \
		memops_##isa##_memmove_clflushopt, \
		memops_##isa##_memmove_clflush, memops_##isa##_memmove_eadr }, \
	.memset = { memops_##isa##_memset_clwb, \
		memops_##isa##_memset_clflushopt, \
		memops_##isa##_memset_clflush, memops_##isa##_memset_eadr }, \
};
#define MEMOPS_DEFINE(isa, mv, ms) MEMOPS_DEFINE_(isa, mv, ms)

#endif /* PMEM2_FLUSH_X86_H */
