/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hooks_mem.c -- memcpy, memmove, mempcpy and their _chk forms: one branch
 * on the registry's bounds for every destination; a destination inside a
 * DAX mapping goes to the core's mover.  Any other copy of 8-64 bytes is
 * made here (small), the rest by libc's.
 *
 * Built with -fno-builtin-*: the compiler must not turn anything in this
 * file into a call to memcpy, which would be ourselves.
 */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <strings.h>

#include "registry.h"
#include "shim.h"

#define PUBLIC __attribute__((visibility("default")))
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/*
 * Below this a copy into DAX is libc's (cached) copy, flushed by the next
 * msync.  The mover's non-temporal stores must reach memory before the
 * copy returns (see copy_slow), about 100 ns for 256 B here; cached lines
 * are written back by the msync's flushes, all overlapping.  Measured
 * here (16 copies of n bytes, then one msync of them; mover vs libc):
 * 256 B 5.6 vs 3.9 us, 512 B 7.4 vs 6.6, 1 KiB 10.5 vs 11.2, 4 KiB 6.6
 * vs 9.9, 16 KiB 18 vs 35.  PMDK's 256 B threshold fits its memcpy, which
 * flushes at once; the shim's flush waits for msync.
 */
#define MOVER_MIN 1024

/*
 * Into emulated DAX at BYTE granularity (DRAM, and nothing to flush) the
 * mover's only gain is the read-for-ownership it saves where the
 * destination is not in the cache; where it is, libc's cached copy is
 * faster.  Measured here (a 1 MiB file rewritten vs a 256 MiB one
 * streamed; mover vs libc): 4 KiB 270 vs 88 ns hot, 273 vs 380 cold;
 * 16 KiB 776 vs 296 hot, 829 vs 1584 cold; 32 KiB 1436 vs 771 hot, 1491
 * vs 2867 cold; 64 KiB 2597 vs 1443 hot, 2875 vs 7386 cold.  The two
 * cross at about 32 KiB.  Real DAX keeps MOVER_MIN at BYTE granularity
 * too (PMDK's practice): a read-for-ownership from persistent media
 * costs far more than from DRAM.
 */
#define MOVER_MIN_DRAM 32768

typedef void *(*copy_fn)(void *, const void *, size_t);

/*
 * pre_memcpy/pre_memmove -- what the hooks use before the constructor has
 * resolved libc's functions (hundreds of calls arrive from the program's
 * libraries' constructors first).  bcopy is not interposed by us and
 * reaches libc's optimised memmove through libc's internal PLT.
 */
static void *
pre_memmove(void *d, const void *s, size_t n)
{
	bcopy(s, d, n);
	return d;
}

void *(*_Atomic shim_real_memcpy)(void *, const void *, size_t) =
	pre_memmove;
static void *(*_Atomic Real_memmove)(void *, const void *, size_t) =
	pre_memmove;

void
shim_resolve_real(void)
{
	/* once, from the constructor: never dlsym in a hook */
	copy_fn c = (copy_fn)dlvsym(RTLD_NEXT, "memcpy", "GLIBC_2.14");
	copy_fn m = (copy_fn)dlvsym(RTLD_NEXT, "memmove", "GLIBC_2.2.5");
	if (c)
		atomic_store(&shim_real_memcpy, c);
	if (m)
		atomic_store(&Real_memmove, m);
}

static inline copy_fn
real(int move)
{
	return atomic_load_explicit(move ? &Real_memmove : &shim_real_memcpy,
			memory_order_relaxed);
}

/* site -- the caller of a copy, for PMEMSHIM_STATS (not reentrant) */
static void
site(void *ip, size_t n)
{
	shim_in_hook = 1;
	shim_site(SITE_COPY, ip, n);
	shim_in_hook = 0;
}

/*
 * copy_slow -- d is inside the registry's bounds: the core's mover when d
 * really is in a shim mapping, libc otherwise.  The mover ends with a
 * store fence (no PMEM2_F_MEM_NODRAIN): x86 does not order non-temporal
 * stores with later ordinary ones, and a program may publish the copy
 * with a plain store to a flag (a release store is one) that another
 * thread or process reads before the bytes.  glibc fences its own
 * non-temporal copies for that reason.  (A locked instruction would do
 * too, and the statistics counter after the copy is one, but that is no
 * contract.)  The fence costs nothing measurable here: the stores have to
 * reach memory before the next locked instruction anyway.
 * tests/shim/shim_fence.c single-steps the hooks to check it.
 */
__attribute__((noinline, cold)) static void *
copy_slow(void *d, const void *s, size_t n, int move, void *ip)
{
	struct registry_entry e;
	struct shim_map *m;
	if (shim_in_hook || !registry_lookup(d, &e) ||
			!shim_served(m = shim_map_of(&e)) ||
			(uintptr_t)d + n > e.end || n == 0)
		return real(move)(d, s, n);
	shim_count(ST_COPY_CALLS, 1);
	shim_count(ST_COPY_BYTES, n);
	if (shim_cfg.stats)
		site(ip, n);
	enum pmem2_granularity g = m->m.persist_granularity;
	size_t min = g == PMEM2_GRANULARITY_BYTE && m->cls ==
		SHIM_EMULATED_DAX ? MOVER_MIN_DRAM : MOVER_MIN;
	if (!(n >= min && shim_cfg.memcpy_nt && g != PMEM2_GRANULARITY_PAGE))
		return real(move)(d, s, n);
	/*
	 * shim_in_hook covers our own work only, never the copy itself: a
	 * copy can fault on the program's own terms (SIGBUS past an end of
	 * file that another process moved), and a program that leaves its
	 * handler with siglongjmp never comes back here.  Left set, it
	 * would turn every later hook of the thread into a bare system
	 * call -- munmap too, leaving the registry stale.  The movers call
	 * nothing that could reach a hook.
	 */
	shim_in_hook = 1;
	unsigned fl = PMEM2_F_MEM_NONTEMPORAL;	/* and drain */
	void *to = d;
	const void *from = s;
	bool alias = shim_alias_enter(m, &e, &to, &from, n);
	shim_in_hook = 0;
	if (move)
		m->m.memmove_fn(to, from, n, fl);
	else
		m->m.memcpy_fn(to, from, n, fl);
	if (alias) {
		shim_alias_leave(m);
		shim_count(ST_COPY_ALIAS_BYTES, n);
	}
	shim_count(ST_COPY_NT_BYTES, n);
	return d;
}

/*
 * small -- copy n bytes if 8 <= n <= 64, here: all loads first (the head
 * and the tail of the range, overlapping in the middle), then all stores,
 * so it is memmove-safe too.  Worth it where libc's own copy costs as
 * little as the jump to it: the extra indirect jump alone measured
 * +0.5-1.0 ns at 8-32 B (bench_shim case 1), -0.3 to 0 ns with this
 * (+0.27 at 64 B).  A 128-byte version tried here was slower (+3 ns:
 * its registers spilled to the stack).  Fixed-size
 * __builtin_memcpy is an inline load or store, never a call, even with
 * -fno-builtin.
 */
typedef struct { char b[16]; } b16;

static inline bool
small(void *d, const void *s, size_t n)
{
	if (n - 8 > 56)
		return false;
	char *dc = d;
	const char *sc = s;
	if (n <= 16) {
		uint64_t a, b;
		__builtin_memcpy(&a, sc, 8);
		__builtin_memcpy(&b, sc + n - 8, 8);
		__builtin_memcpy(dc, &a, 8);
		__builtin_memcpy(dc + n - 8, &b, 8);
	} else if (n <= 32) {
		b16 a, b;
		__builtin_memcpy(&a, sc, 16);
		__builtin_memcpy(&b, sc + n - 16, 16);
		__builtin_memcpy(dc, &a, 16);
		__builtin_memcpy(dc + n - 16, &b, 16);
	} else {
		b16 a0, a1, b0, b1;
		__builtin_memcpy(&a0, sc, 16);
		__builtin_memcpy(&a1, sc + 16, 16);
		__builtin_memcpy(&b0, sc + n - 32, 16);
		__builtin_memcpy(&b1, sc + n - 16, 16);
		__builtin_memcpy(dc, &a0, 16);
		__builtin_memcpy(dc + 16, &a1, 16);
		__builtin_memcpy(dc + n - 32, &b0, 16);
		__builtin_memcpy(dc + n - 16, &b1, 16);
	}
	return true;
}

PUBLIC void *
memcpy(void *d, const void *s, size_t n)
{
	if (UNLIKELY(registry_may_contain(d)))
		return copy_slow(d, s, n, 0, __builtin_return_address(0));
	if (small(d, s, n))
		return d;
	return real(0)(d, s, n);
}

PUBLIC void *
memmove(void *d, const void *s, size_t n)
{
	if (UNLIKELY(registry_may_contain(d)))
		return copy_slow(d, s, n, 1, __builtin_return_address(0));
	if (small(d, s, n))
		return d;
	return real(1)(d, s, n);
}

/* memcpy@GLIBC_2.2.5: what binaries linked before glibc 2.14 call; it
 * always had memmove's overlap semantics */
PUBLIC void *shim_memcpy_225(void *d, const void *s, size_t n)
	__attribute__((alias("memmove")));
__asm__(".symver shim_memcpy_225, memcpy@GLIBC_2.2.5");

PUBLIC void *
mempcpy(void *d, const void *s, size_t n)
{
	if (UNLIKELY(registry_may_contain(d)))
		return (char *)copy_slow(d, s, n, 0,
				__builtin_return_address(0)) + n;
	if (small(d, s, n))
		return (char *)d + n;
	return (char *)real(0)(d, s, n) + n;
}

PUBLIC void *__mempcpy(void *d, const void *s, size_t n)
	__attribute__((alias("mempcpy")));

extern void __chk_fail(void) __attribute__((noreturn));

PUBLIC void *
__memcpy_chk(void *d, const void *s, size_t n, size_t dlen)
{
	if (UNLIKELY(n > dlen))
		__chk_fail();
	if (UNLIKELY(registry_may_contain(d)))
		return copy_slow(d, s, n, 0, __builtin_return_address(0));
	if (small(d, s, n))
		return d;
	return real(0)(d, s, n);
}

PUBLIC void *
__memmove_chk(void *d, const void *s, size_t n, size_t dlen)
{
	if (UNLIKELY(n > dlen))
		__chk_fail();
	if (UNLIKELY(registry_may_contain(d)))
		return copy_slow(d, s, n, 1, __builtin_return_address(0));
	if (small(d, s, n))
		return d;
	return real(1)(d, s, n);
}

PUBLIC void *
__mempcpy_chk(void *d, const void *s, size_t n, size_t dlen)
{
	if (UNLIKELY(n > dlen))
		__chk_fail();
	return mempcpy(d, s, n);
}
