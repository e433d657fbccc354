/* SPDX-License-Identifier: BSD-3-Clause */
/* memops_tmpl.h -- the vector mover, included once by each ISA file. */
/*
 * The including file includes flush_x86.h and defines first:
 *   MEMOPS_ISA          its name as a token (sse2, avx, avx512f, movdir64b)
 *   vline_t             one 64-byte cache line held in registers
 *   vline_load(s)       unaligned load of a line
 *   vline_store(d, v)   unaligned temporal store of a line
 *   vline_stream(d, v)  non-temporal store of a line, d 64-byte aligned
 *   vline_splat(c)      a line of the byte c
 *
 * Shape of every copy: up to 256 bytes go through registers in one step
 * (all loads before the first store, so any overlap is fine).  Longer ones
 * are an exact head up to the first line boundary, whole aligned lines
 * (non-temporal, or temporal + flush of each line), and an exact tail, so
 * a line is never written both ways.  The head and tail are ordinary stores
 * and get flushed.  The final drain is memops_drain(): one SFENCE after all
 * of it, the only thing ordering the non-temporal stores.
 */
#ifndef MEMOPS_ISA
#error "define MEMOPS_ISA and the vline_* primitives first"
#endif

typedef char v16 __attribute__((vector_size(16), aligned(1), may_alias));
typedef char v32 __attribute__((vector_size(32), aligned(1), may_alias));

#define LINE FLUSH_LINE
#define SMALL_MAX 256	/* what mv_small/ms_small handle */

/*
 * mv_small -- len <= 256 through registers.  Stores are as wide as the
 * length allows and never narrower than 8 bytes when len >= 8 (the 8-byte
 * store promise of pmem2_memmove_fn for aligned copies).
 */
MEMOPS_INLINE void
mv_small(char *d, const char *s, size_t len)
{
	if (len <= 16) {
		if (len >= 8) {
			uint64_t a = ld64(s), b = ld64(s + len - 8);
			st64(d, a);
			st64(d + len - 8, b);
		} else if (len >= 4) {
			uint32_t a = ld32(s), b = ld32(s + len - 4);
			st32(d, a);
			st32(d + len - 4, b);
		} else if (len >= 2) {
			uint16_t a = ld16(s), b = ld16(s + len - 2);
			st16(d, a);
			st16(d + len - 2, b);
		} else if (len) {
			*d = *s;
		}
	} else if (len <= 32) {
		v16 a = *(const v16 *)s, b = *(const v16 *)(s + len - 16);
		*(v16 *)d = a;
		*(v16 *)(d + len - 16) = b;
	} else if (len <= 64) {
		v32 a = *(const v32 *)s, b = *(const v32 *)(s + len - 32);
		*(v32 *)d = a;
		*(v32 *)(d + len - 32) = b;
	} else if (len <= 128) {
		vline_t a = vline_load(s), b = vline_load(s + len - LINE);
		vline_store(d, a);
		vline_store(d + len - LINE, b);
	} else {
		vline_t a = vline_load(s), b = vline_load(s + LINE);
		vline_t c = vline_load(s + len - 2 * LINE);
		vline_t e = vline_load(s + len - LINE);
		vline_store(d, a);
		vline_store(d + LINE, b);
		vline_store(d + len - 2 * LINE, c);
		vline_store(d + len - LINE, e);
	}
}

/* ms_small -- memset of len <= 256, same store widths as mv_small. */
MEMOPS_INLINE void
ms_small(char *d, int c, size_t len)
{
	uint64_t x = 0x0101010101010101ULL * (uint8_t)c;
	if (len <= 16) {
		if (len >= 8) {
			st64(d, x);
			st64(d + len - 8, x);
		} else if (len >= 4) {
			st32(d, (uint32_t)x);
			st32(d + len - 4, (uint32_t)x);
		} else if (len >= 2) {
			st16(d, (uint16_t)x);
			st16(d + len - 2, (uint16_t)x);
		} else if (len) {
			*d = (char)c;
		}
	} else if (len <= 32) {
		v16 v = (v16){ 0 } + (char)c;
		*(v16 *)d = v;
		*(v16 *)(d + len - 16) = v;
	} else if (len <= 64) {
		v32 v = (v32){ 0 } + (char)c;
		*(v32 *)d = v;
		*(v32 *)(d + len - 32) = v;
	} else {
		vline_t v = vline_splat(c);
		vline_store(d, v);
		vline_store(d + len - LINE, v);
		if (len > 128) {
			vline_store(d + LINE, v);
			vline_store(d + len - 2 * LINE, v);
		}
	}
}

/*
 * put_line -- store one aligned line: non-temporal, or temporal followed
 * by its flush.
 */
MEMOPS_INLINE void
put_line(char *d, vline_t v, int nt, enum flush_kind k)
{
	if (nt) {
		vline_stream(d, v);
	} else {
		vline_store(d, v);
		flush_line(k, d);
	}
}

/*
 * mv_lines_fwd -- n bytes (a multiple of 64) to the aligned d, ascending.
 * Each batch loads all its lines before storing any, which keeps a forward
 * move correct whenever d <= s - 64.
 */
MEMOPS_INLINE void
mv_lines_fwd(char *d, const char *s, size_t n, int nt, enum flush_kind k)
{
	for (; n >= 4 * LINE; n -= 4 * LINE, d += 4 * LINE, s += 4 * LINE) {
		vline_t a = vline_load(s), b = vline_load(s + LINE);
		vline_t c = vline_load(s + 2 * LINE);
		vline_t e = vline_load(s + 3 * LINE);
		put_line(d, a, nt, k);
		put_line(d + LINE, b, nt, k);
		put_line(d + 2 * LINE, c, nt, k);
		put_line(d + 3 * LINE, e, nt, k);
	}
	for (; n; n -= LINE, d += LINE, s += LINE)
		put_line(d, vline_load(s), nt, k);
}

/* mv_lines_bwd -- the same, descending: for d >= s + 64. */
MEMOPS_INLINE void
mv_lines_bwd(char *d, const char *s, size_t n, int nt, enum flush_kind k)
{
	d += n;
	s += n;
	for (; n >= 4 * LINE; n -= 4 * LINE) {
		d -= 4 * LINE;
		s -= 4 * LINE;
		vline_t a = vline_load(s), b = vline_load(s + LINE);
		vline_t c = vline_load(s + 2 * LINE);
		vline_t e = vline_load(s + 3 * LINE);
		put_line(d + 3 * LINE, e, nt, k);
		put_line(d + 2 * LINE, c, nt, k);
		put_line(d + LINE, b, nt, k);
		put_line(d, a, nt, k);
	}
	for (; n; n -= LINE) {
		d -= LINE;
		s -= LINE;
		put_line(d, vline_load(s), nt, k);
	}
}

/*
 * mv_near -- a move where d and s overlap at less than a line's distance:
 * 8 bytes at a time in the safe direction.  Rare; correctness only.
 */
static __attribute__((noinline)) void
mv_near(char *d, const char *s, size_t len)
{
	memops_copy8(d, s, len);
}

/*
 * mv_big -- len >= 64, d and s at least a line apart: head, lines, tail.
 * Forward unless d lies inside [s, s + len); the head/tail order matches
 * the direction so that an overlapping move reads every byte before it is
 * overwritten.
 */
MEMOPS_INLINE void
mv_big(char *d, const char *s, size_t len, int nt, enum flush_kind k)
{
	size_t h = (size_t)(-(uintptr_t)d & (LINE - 1));
	size_t n = (len - h) & ~(size_t)(LINE - 1);
	size_t t = len - h - n;
	char *td = d + h + n;
	const char *ts = s + h + n;

	if ((uintptr_t)d - (uintptr_t)s >= len) {
		if (h) {
			mv_small(d, s, h);
			flush_line(k, d);
		}
		mv_lines_fwd(d + h, s + h, n, nt, k);
		if (t) {
			mv_small(td, ts, t);
			flush_line(k, td);
		}
	} else {
		if (t) {
			mv_small(td, ts, t);
			flush_line(k, td);
		}
		mv_lines_bwd(d + h, s + h, n, nt, k);
		if (h) {
			mv_small(d, s, h);
			flush_line(k, d);
		}
	}
}

/*
 * use_nt -- the store kind for one call: NOFLUSH means plain stores and
 * nothing else; otherwise the hints, otherwise the size.
 */
MEMOPS_INLINE int
use_nt(size_t len, unsigned flags, enum flush_kind k, int set)
{
	if (flags & MEMOPS_F_MOVNT)
		return 1;
	if (flags & MEMOPS_F_MOV)
		return 0;
	if (k != FLUSH_NONE)
		return len >= memops_nt_threshold;
	return len >= (set ? memops_nt_threshold_eadr_set :
			memops_nt_threshold_eadr);
}

/* mv_entry -- the pmem2_memmove_fn body for flush kind k. */
MEMOPS_INLINE void *
mv_entry(void *dst, const void *src, size_t len, unsigned flags,
		enum flush_kind k)
{
	char *d = dst;
	const char *s = src;
	int nt = 0;

	if (flags & PMEM2_F_MEM_NOFLUSH)
		k = FLUSH_NONE;
	else
		nt = use_nt(len, flags, k, 0);

	size_t dist = d > s ? (size_t)(d - s) : (size_t)(s - d);
	if (len < LINE || (!nt && len <= SMALL_MAX)) {
		mv_small(d, s, len);
		flush_range(k, d, len);
	} else if (dist < LINE) {
		if (len <= SMALL_MAX)
			mv_small(d, s, len);
		else
			mv_near(d, s, len);
		flush_range(k, d, len);
	} else {
		mv_big(d, s, len, nt, k);
	}
	memops_drain(flags);
	return dst;
}

/* ms_entry -- the pmem2_memset_fn body for flush kind k. */
MEMOPS_INLINE void *
ms_entry(void *dst, int c, size_t len, unsigned flags, enum flush_kind k)
{
	char *d = dst;
	int nt = 0;

	if (flags & PMEM2_F_MEM_NOFLUSH)
		k = FLUSH_NONE;
	else
		nt = use_nt(len, flags, k, 1);

	if (len < LINE || (!nt && len <= SMALL_MAX)) {
		ms_small(d, c, len);
		flush_range(k, d, len);
	} else {
		size_t h = (size_t)(-(uintptr_t)d & (LINE - 1));
		size_t n = (len - h) & ~(size_t)(LINE - 1);
		size_t t = len - h - n;
		vline_t v = vline_splat(c);
		if (h) {
			ms_small(d, c, h);
			flush_line(k, d);
		}
		char *p = d + h;
		for (; n >= 4 * LINE; n -= 4 * LINE, p += 4 * LINE) {
			put_line(p, v, nt, k);
			put_line(p + LINE, v, nt, k);
			put_line(p + 2 * LINE, v, nt, k);
			put_line(p + 3 * LINE, v, nt, k);
		}
		for (; n; n -= LINE, p += LINE)
			put_line(p, v, nt, k);
		if (t) {
			ms_small(p, c, t);
			flush_line(k, p);
		}
	}
	memops_drain(flags);
	return dst;
}

MEMOPS_DEFINE(MEMOPS_ISA, mv_entry, ms_entry)
