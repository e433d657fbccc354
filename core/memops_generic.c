/* SPDX-License-Identifier: BSD-3-Clause */
/* memops_generic.c -- the movers without vector or non-temporal stores. */
/*
 * PMEM_NO_MOVNT=1 selects "generic": plain C with 8-byte stores, then a
 * flush of the range.  PMEM_NO_GENERIC_MEMCPY=1 on top selects "libc": the
 * kind of copy a libc does (REP MOVSB/STOSB), then the flush.  Neither calls
 * libc itself: inside libpmemshim.so memcpy and friends are our own hooks.
 * The non-temporal hints are ignored here, as in PMDK.
 */
#include "x86_64/flush_x86.h"

/* gen_fill -- memset with 8-byte stores once d is aligned. */
MEMOPS_INLINE void
gen_fill(char *d, int c, size_t len)
{
	uint64_t x = 0x0101010101010101ULL * (uint8_t)c;
	for (; len && ((uintptr_t)d & 7); len--)
		*d++ = (char)c;
	for (; len >= 8; len -= 8, d += 8)
		st64(d, x);
	for (; len; len--)
		*d++ = (char)c;
}

/* rep_copy -- REP MOVSB, descending (DF set) when d lies inside the source. */
MEMOPS_INLINE void
rep_copy(char *d, const char *s, size_t len)
{
	if ((uintptr_t)d - (uintptr_t)s >= len) {
		__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(len)
				: : "memory");
	} else if (len) {
		d += len - 1;
		s += len - 1;
		__asm__ volatile("std\n\trep movsb\n\tcld"
				: "+D"(d), "+S"(s), "+c"(len) : : "memory");
	}
}

MEMOPS_INLINE void
rep_fill(char *d, int c, size_t len)
{
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(len) : "a"(c) : "memory");
}

/* The four bodies: store, then flush unless NOFLUSH, then drain. */
#define PLAIN_BODIES(name, copy, fill) \
MEMOPS_INLINE void * \
name##_mv(void *d, const void *s, size_t len, unsigned flags, \
		enum flush_kind k) \
{ \
	copy(d, s, len); \
	if (!(flags & PMEM2_F_MEM_NOFLUSH)) \
		flush_range(k, d, len); \
	memops_drain(flags); \
	return d; \
} \
MEMOPS_INLINE void * \
name##_ms(void *d, int c, size_t len, unsigned flags, enum flush_kind k) \
{ \
	fill(d, c, len); \
	if (!(flags & PMEM2_F_MEM_NOFLUSH)) \
		flush_range(k, d, len); \
	memops_drain(flags); \
	return d; \
}

PLAIN_BODIES(gen, memops_copy8, gen_fill)
PLAIN_BODIES(rep, rep_copy, rep_fill)

MEMOPS_DEFINE(generic, gen_mv, gen_ms)
MEMOPS_DEFINE(libc, rep_mv, rep_ms)
