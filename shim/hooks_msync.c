/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hooks_msync.c -- msync, fsync, fdatasync: registered DAX ranges are made
 * durable from user space (flush + drain), everything else goes to the
 * kernel.
 *
 * What is flushed: an msync of at most 64 KiB, every line of its range
 * (flush_small: asking the kernel would cost more); otherwise, in a
 * mapping with written-page tracking (emulated DAX on Linux 6.7+,
 * dirty.c), only the pages written since their last flush;
 * otherwise only pages mincore(2) reports resident.  On fsdax and
 * devdax there is no page cache, so "resident" means "this process has the
 * page mapped" -- a page never faulted in cannot hold a store made through
 * this mapping; on tmpfs it means "the file has that page".  Pages past
 * end-of-file are never resident, so the same test keeps CLWB away from
 * them (a flush there raises SIGBUS) and follows ftruncate without an
 * fstat or a hooked ftruncate.  Device DAX that may be mapped with 1 GiB
 * pages is the exception: no page-table walk can be trusted there
 * (hooks_mmap.c, pud_pages), so every page asked for is flushed -- all of
 * a device is always there.  Other shim mappings of the same file in
 * this process are flushed too, as the kernel's msync would write back the
 * file's pages whichever mapping dirtied them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os.h"
#include "registry.h"
#include "shim.h"

#define PUBLIC __attribute__((visibility("default")))
#define VEC_PAGES 4096	/* one mincore call covers 16 MiB */

size_t
shim_flush_runs(struct shim_map *s, uintptr_t a, const unsigned char *vec,
		size_t np)
{
	size_t done = 0;
	for (size_t i = 0; i < np;) {
		if (!(vec[i] & 1)) {
			i++;
			continue;
		}
		size_t j = i + 1;
		while (j < np && (vec[j] & 1))
			j++;
		shim_flush_guarded(s->m.flush_fn, a + i * Pagesize,
			(j - i) * Pagesize);
		done += (j - i) * Pagesize;
		i = j;
	}
	return done;
}

/*
 * REPROTECT_MIN -- an msync of a range no larger than this leaves the
 * written pages it finds unprotected (MS_KEEP_WRITTEN): they stay
 * "written", so every later flush of them includes them again (never
 * misses them) until an msync of a larger range, an fsync or a sync
 * protects them.  A program msyncs a few pages because it has just
 * written them and will write them again (a log's tail, a record updated
 * in place).  Protecting them again costs a write-protect fault at that
 * next store (~1.1 us here) and ~0.3 us more in the scan; leaving them
 * costs a flush of clean lines (~0.1-0.3 us a page) where a later msync
 * finds them unwritten.  Measured here, one page stored to and msynced in
 * a loop: 2.6 -> 1.25 us a cycle (msync alone 1.52 -> 1.22 us); one
 * written page msynced again and again with no store: 0.87 -> 1.19 us;
 * 16 such pages: 0.91 -> 2.44 us.  Not where the mover copies through
 * its alias (alias.c): those copies leave the program's pages protected,
 * so a page kept written would be flushed again after every copy (4 KiB
 * copied and msynced: 1.0 -> 1.3 us).
 */
#define REPROTECT_MIN (64u << 10)
/* a flag of ours, beside msync's own: flush, protect nothing again */
#define MS_KEEP_WRITTEN 0x100

/*
 * flush_mincore -- flush_resident's mincore walk, in a frame of its own:
 * its 4 KiB vector (16 MiB per call) stays off the stack of the tracked
 * and BYTE paths, so a program msyncing from a small (coroutine) stack
 * pays it only where mincore is used.
 */
static __attribute__((noinline)) int
flush_mincore(struct shim_map *s, uintptr_t lo, uintptr_t hi, int flags,
		size_t *flushed, size_t *skipped)
{
	unsigned char vec[VEC_PAGES];
	int ret = 0;
	while (lo < hi) {
		size_t chunk = hi - lo;
		if (chunk > VEC_PAGES * Pagesize)
			chunk = VEC_PAGES * Pagesize;
		if (mincore((void *)lo, chunk, vec)) {
			if (os_msync((void *)lo, chunk, flags & ~MS_KEEP_WRITTEN))
				ret = -1;
			lo += chunk;
			continue;
		}
		size_t np = chunk / Pagesize;
		size_t done = shim_flush_runs(s, lo, vec, np);
		*flushed += done;
		*skipped += np * Pagesize - done;
		lo += chunk;
	}
	return ret;
}

/*
 * flush_pagemap -- real DAX on kernels without PAGEMAP_SCAN (before 6.7):
 * the pages of [*lo, hi) this process has mapped, read from
 * /proc/self/pagemap (bit 63, "present"), which is what mincore answers
 * there too but costs ~5 ns a page where mincore looks up the page cache
 * for each page without a page table (~35 ns: 566 us against 81 us for a
 * 64 MiB mapping of a 0.5 MiB file).  Opened per call (~4 us, so only for
 * ranges of PAGEMAP_MIN and up): nothing to keep, to lose at fork or to
 * see closed by the program.  Returns 0, or -1 with *lo where mincore
 * must take over.
 */
#define PAGEMAP_MIN (1u << 20)
#define PAGEMAP_VEC 512

static __attribute__((noinline)) int
flush_pagemap(struct shim_map *s, uintptr_t *lo, uintptr_t hi,
		size_t *flushed, size_t *skipped)
{
	uint64_t pm[PAGEMAP_VEC];
	unsigned char vec[PAGEMAP_VEC];
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int ret = 0;
	while (*lo < hi) {
		size_t np = (hi - *lo) / Pagesize;
		if (np > PAGEMAP_VEC)
			np = PAGEMAP_VEC;
		ssize_t n = pread(fd, pm, np * sizeof(pm[0]),
				(off_t)(*lo / Pagesize * sizeof(pm[0])));
		if (n != (ssize_t)(np * sizeof(pm[0]))) {
			ret = -1;
			break;
		}
		for (size_t i = 0; i < np; i++)
			vec[i] = (unsigned char)(pm[i] >> 63);
		size_t done = shim_flush_runs(s, *lo, vec, np);
		*flushed += done;
		*skipped += np * Pagesize - done;
		*lo += np * Pagesize;
	}
	close(fd);
	return ret;
}

/*
 * flush_present -- flush [lo, hi) of mappings that lost their tracking
 * (as s), or of real DAX: the pages this process has mapped (dirty.c; on
 * older kernels flush_pagemap for real DAX), or mincore's resident pages
 * where that cannot be asked.  Returns as flush_mincore.
 */
static int
flush_present(struct shim_map *s, uintptr_t lo, uintptr_t hi, int flags,
		size_t *flushed, size_t *skipped)
{
	size_t done = 0;
	uintptr_t stop;
	int r = shim_dirty_present(s, lo, hi, &done, &stop);
	*flushed += done;
	if (r == 0) {
		*skipped += hi - lo - done;
		return 0;
	}
	if (s->cls == SHIM_REAL_DAX && hi - stop >= PAGEMAP_MIN &&
			flush_pagemap(s, &stop, hi, flushed, skipped) == 0)
		return 0;
	return flush_mincore(s, stop, hi, flags, flushed, skipped);
}

/*
 * recheck_one -- after a scan over several tracked mappings failed: is
 * this one still tracked?  Those that are not, are not from now on.
 */
static int
recheck_one(void *ctx, const struct registry_entry *e)
{
	struct shim_map *s = shim_map_of(e);
	const uintptr_t *r = ctx;
	uintptr_t lo = e->start > r[0] ? e->start : r[0];
	uintptr_t hi = e->end < r[1] ? e->end : r[1];
	if (s && atomic_load_explicit(&s->tracked, memory_order_relaxed) &&
			!shim_dirty_intact(lo, hi) && shim_dirty_untrack(s)) {
		shim_log(2, "written-page tracking lost for %p: %s",
			(void *)e->start, strerror(errno));
	}
	return 0;
}

/*
 * flush_tracked -- flush the written pages of [lo, hi), which lies in
 * tracked mappings all flushed by s->m.flush_fn (one = all of it in s:
 * then its density is noted, and a lost tracking is s's).  Returns as
 * flush_resident.
 */
static int
flush_tracked(struct shim_map *s, uintptr_t lo, uintptr_t hi, int flags,
		bool one, size_t *flushed, size_t *skipped)
{
	bool reprotect = !(flags & (MS_ASYNC | MS_KEEP_WRITTEN));
	size_t done = 0;
	uintptr_t stop;
	int r = shim_dirty_flush(s, lo, hi, reprotect,
			one ? s->protected_end : 0, &done, &stop);
	*flushed += done;
	if (r == 0) {
		*skipped += hi - lo - done;
		if (reprotect && one)
			shim_dirty_note(s, lo, hi, done);
		return 0;
	}
	/*
	 * Tracking lost (fork, mremap, descriptor closed): from here on
	 * every page this process has mapped, which is always enough.  The
	 * failed scan may have protected pages it never listed, in any
	 * mapping it reached: the fallback covers all it was given.  A scan
	 * over several mappings does not say whose tracking is gone: each
	 * is asked.
	 */
	if (one && shim_dirty_untrack(s))
		shim_log(2, "written-page tracking lost for %p: %s",
			(void *)lo, strerror(errno));
	/* every mapping of the run was tracked */
	int ret = flush_present(s, stop, hi, flags, flushed, skipped);
	if (!one) {
		int saved = errno;
		uintptr_t r[2] = { lo, hi };
		(void) shim_each_overlap(lo, hi, recheck_one, r);
		errno = saved;
	}
	return ret;
}

/*
 * Layout -- a flush finds the pages of a piece that are there (a scan,
 * mincore), then flushes them; a page cut off the file in between raises
 * SIGBUS at its CLWB (past the end of a page-cache file; there the
 * kernel's msync just skips it).  Another thread's ftruncate did that:
 * one thread shrinking its file while another msyncs it, or syncs the
 * file system, killed the program (found by shim_fuzz --threads;
 * shim_threads checks it).  So every flush of a piece holds Layout shared,
 * and ftruncate, truncate, fallocate and posix_fallocate of a DAX file
 * hold it exclusive for their kernel call (layout_begin), once the
 * process has mappings to flush.  Writers go first: msyncs in a loop on
 * other threads never starve a truncate.  A thread takes it once: a
 * signal handler that flushes, or truncates, inside our flush goes on
 * under the outer hold (a nested read would wait behind a queued writer,
 * a write behind ourselves).  Another process's truncate is not seen
 * (shim/README.md).  It guards no data: a fork's child, with no other
 * thread, starts with it free.
 */
static pthread_rwlock_t Layout FORK_DATA =
	PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static _Thread_local int Layout_held;

static bool
layout_read(void)
{
	if (Layout_held++)
		return false;
	pthread_rwlock_rdlock(&Layout);
	return true;
}

static void
layout_done(bool locked)
{
	Layout_held--;
	if (locked)
		pthread_rwlock_unlock(&Layout);
}

void
shim_layout_atfork_child(void)
{
	pthread_rwlock_t fresh =
		PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
	Layout = fresh;
}

/* flush_resident_locked -- flush_resident's work, under Layout */
static int
flush_resident_locked(struct shim_map *s, uintptr_t lo, uintptr_t hi,
		int flags, size_t *flushed, size_t *skipped)
{
	if (atomic_load_explicit(&s->tracked, memory_order_relaxed))
		return flush_tracked(s, lo, hi, flags, true, flushed, skipped);
	/*
	 * Real DAX has no page cache: mincore's "resident" is "mapped here"
	 * too, but PAGEMAP_SCAN answers it without a page-cache lookup for
	 * every page that has no page table (past the file's end: tcamgr's
	 * 64 MiB map of a 0.5 MiB file).  Kernels before 6.7: mincore.
	 */
	if (atomic_load_explicit(&s->present_only, memory_order_relaxed) ||
			s->cls == SHIM_REAL_DAX)
		return flush_present(s, lo, hi, flags, flushed, skipped);
	return flush_mincore(s, lo, hi, flags, flushed, skipped);
}

/*
 * flush_small -- an msync of at most REPROTECT_MIN (64 KiB) flushes
 * every line of its range without asking the kernel which pages are
 * there: asking (PAGEMAP_SCAN, mincore) costs ~0.9 us here whatever the
 * range, while a clean line's CLWB costs ~0.7 ns (45 ns a page), so the
 * question costs more than the answer saves up to ~20 pages.  Measured
 * here, one line stored in each page and those pages msynced: 1 page
 * 1.17 -> 0.35 us, 16 pages 2.41 -> 1.5 us.
 *
 * What asking guarded against is left to the CPU and to the guard
 * (sigbus.c): a page past the file's end raises SIGBUS at its CLWB, which
 * cuts the run short -- then the range is flushed the asking way, and so
 * is every later small msync of this mapping (a mapping larger than its
 * file: no SIGBUS on every msync).  A page this process never touched
 * is faulted in for reading at its CLWB (~1 us, once; on tmpfs a hole
 * gets its page then); nothing else changes, as no store is made.
 * Without the guard in the kernel (the program replaced ours behind our
 * back) every msync asks.
 */
static bool
flush_small(struct shim_map *s, uintptr_t lo, uintptr_t hi)
{
	if (atomic_load_explicit(&s->ask, memory_order_relaxed))
		return false;
	int r = shim_flush_unasked(s->m.flush_fn, lo, hi - lo);
	if (r > 0) {
		shim_count(ST_MSYNC_UNASKED, 1);
		return true;
	}
	if (r < 0)	/* no guard: nothing flushed */
		return false;
	atomic_store_explicit(&s->ask, true, memory_order_relaxed);
	shim_count(ST_MSYNC_PAST_END, 1);
	shim_log(2, "msync of %p..%p met the file's end: this mapping's small "
		"msyncs ask which pages are there from now on", (void *)lo,
		(void *)hi);
	return false;
}

/*
 * flush_resident -- flush [lo, hi) of s where the pages are resident.
 * Returns 0, or -1 with errno when mincore refused (then the kernel msync
 * of that chunk was asked for instead, and its result is returned).
 */
static int
flush_resident(struct shim_map *s, uintptr_t lo, uintptr_t hi, int flags,
		size_t *flushed, size_t *skipped)
{
	if (s->m.persist_granularity == PMEM2_GRANULARITY_BYTE) {
		*flushed += hi - lo;	/* stores are durable once visible */
		return 0;
	}
	if (s->flush_whole) {	/* every page of a device is there */
		shim_flush_guarded(s->m.flush_fn, lo, hi - lo);
		*flushed += hi - lo;
		return 0;
	}
	if ((flags & MS_KEEP_WRITTEN) && flush_small(s, lo, hi)) {
		*flushed += hi - lo;
		return 0;
	}
	bool locked = layout_read();
	int ret = flush_resident_locked(s, lo, hi, flags, flushed, skipped);
	layout_done(locked);
	return ret;
}


typedef void (*part_fn)(void *ctx, struct shim_map *s, uintptr_t a,
		uintptr_t b);

struct walk_ctx {
	uintptr_t cur, hi;	/* cur: where the pieces given so far end */
	part_fn part;
	void *ctx;
};

/* walk_one -- the gap before entry e, then e's piece */
static int
walk_one(void *ctx, const struct registry_entry *e)
{
	struct walk_ctx *w = ctx;
	uintptr_t a = e->start > w->cur ? e->start : w->cur;
	uintptr_t b = e->end < w->hi ? e->end : w->hi;
	if (a > w->cur)
		w->part(w->ctx, NULL, w->cur, a);
	w->part(w->ctx, shim_map_of(e), a, b);
	w->cur = b;
	return 0;
}

/*
 * walk -- call part(ctx, s, a, b) for the pieces of [lo, hi) in address
 * order: s is the registered shim mapping covering [a, b), or NULL for a
 * gap or a registry entry that is not a shim mapping.
 */
static void
walk(uintptr_t lo, uintptr_t hi, part_fn part, void *ctx)
{
	struct walk_ctx w = { lo, hi, part, ctx };
	(void) shim_each_overlap(lo, hi, walk_one, &w);
	if (w.cur < hi)
		part(ctx, NULL, w.cur, hi);
}

struct file_ctx {
	dev_t dev;
	ino_t ino;
	bool any_dev, any_ino;	/* sync(2), syncfs(2) and exit */
	bool real_only;		/* real-DAX mappings only (before_hole) */
	off_t off;
	size_t len;		/* 0: to the end of the file */
	const struct shim_map *except;
	struct shim_map *last;
	size_t found, *flushed, skipped;
	/*
	 * run: adjacent parts of tracked mappings, flushed by one scan when
	 * the next part does not continue it.  A program that unmaps with a
	 * length shorter than it mapped (tdb, after growing its file) leaves
	 * tails of old mappings of the file right after the new one: one
	 * PAGEMAP_SCAN instead of one per tail on every msync and fsync.
	 */
	struct shim_map *run;	/* the mapping of its first part, or NULL */
	uintptr_t run_lo, run_hi;
	bool run_one;		/* all of it in mapping run */
};

/* flush_run -- flush the pending run of c, if any */
static void
flush_run(struct file_ctx *c)
{
	struct shim_map *s = c->run;
	if (!s)
		return;
	c->run = NULL;
	bool locked = layout_read();
	(void) flush_tracked(s, c->run_lo, c->run_hi, MS_SYNC, c->run_one,
			c->flushed, &c->skipped);
	layout_done(locked);
	c->last = s;
}

/* file_part -- flush the part of a mapping of the file in its range */
static void
file_part(void *ctx, struct shim_map *s, uintptr_t start, uintptr_t end)
{
	struct file_ctx *c = ctx;
	if (!shim_flushable(s) || s == c->except ||
			(c->real_only && s->cls != SHIM_REAL_DAX) ||
			(!c->any_dev && s->dev != c->dev) ||
			(!c->any_ino && s->ino != c->ino))
		return;
	/* the entry's file range [foff, fend) */
	off_t foff = s->base_off + (off_t)(start - s->base);
	off_t fend = foff + (off_t)(end - start);
	off_t a = foff > c->off ? foff : c->off;
	off_t b = c->len && c->off + (off_t)c->len < fend ?
		c->off + (off_t)c->len : fend;
	if (a >= b)
		return;
	/* whole pages (sync_file_range's range is in bytes): the scans
	 * and mincore take page-aligned ranges only, and an unaligned one
	 * found nothing to flush */
	a = (off_t)ALIGN_DOWN((size_t)a, Pagesize);
	b = (off_t)ALIGN_UP((size_t)b, Pagesize);
	uintptr_t lo = start + (uintptr_t)(a - foff);
	uintptr_t hi = lo + (uintptr_t)(b - a);
	c->found++;
	/* tracked mappings are CACHE_LINE ones (take_over) */
	if (!atomic_load_explicit(&s->tracked, memory_order_relaxed)) {
		(void) flush_resident(s, lo, hi, MS_SYNC, c->flushed,
				&c->skipped);
		c->last = s;
		return;
	}
	if (c->run && c->run_hi == lo &&
			c->run->m.flush_fn == s->m.flush_fn) {
		c->run_hi = hi;
		c->run_one = c->run_one && s == c->run;
		return;
	}
	flush_run(c);
	c->run = s;
	c->run_lo = lo;
	c->run_hi = hi;
	c->run_one = true;
}

/*
 * flush_files -- flush what can be dirty in every shim mapping c selects
 * (the file (dev, ino), or every file of dev, or every file; file range
 * [off, off + len), len 0: to the end; except: one already flushed by
 * the caller), under the registry lock; add the bytes to *c->flushed;
 * drain: end with the mappings' drain, else the caller drains.  How many
 * mappings it visited.
 */
static size_t
flush_files(struct file_ctx *c, bool drain)
{
	/*
	 * Under the registry lock, which the munmap/mmap/mremap hooks hold
	 * from their registry change to the end of the kernel call: without
	 * it a concurrent munmap of another mapping retires (and a mmap
	 * reuses) the shim_map read below, and can unmap the range between
	 * mincore and the flush (found by TSan in shim_threads).  Every
	 * entry is visited, however many the process has.
	 */
	registry_lock();
	uint64_t pkru = shim_pkru_open();
	walk(0, UINTPTR_MAX, file_part, c);
	flush_run(c);
	shim_pkru_close(pkru);
	if (drain && c->last)
		c->last->m.drain_fn();
	registry_unlock();
	return c->found;
}

/*
 * flush_counted -- flush_files(c) with the drain, as a hook of its own
 * (shim_in_hook set, errno kept): counter counts the call if it found
 * mappings, msync_bytes_flushed what it flushed.  The mappings found.
 */
static size_t
flush_counted(struct file_ctx *c, enum shim_counter counter)
{
	int saved = errno;
	shim_in_hook = 1;
	size_t found = flush_files(c, true);
	if (found)
		shim_count(counter, 1);
	shim_count(ST_MSYNC_BYTES, *c->flushed);
	shim_in_hook = 0;
	errno = saved;
	return found;
}

size_t
shim_flush_where(bool any_dev, dev_t dev, enum shim_counter counter,
		size_t *flushed)
{
	if (shim_in_hook ||
			atomic_load_explicit(&shim_nmaps, memory_order_relaxed) == 0)
		return 0;
	size_t bytes = 0;
	struct file_ctx c = { .dev = dev, .any_dev = any_dev, .any_ino = true,
		.flushed = &bytes };
	size_t found = flush_counted(&c, counter);
	if (flushed)
		*flushed += bytes;
	return found;
}

/*
 * serve -- make [lo, hi) of the registered s durable: its own pages, then
 * the same file range in the process's other mappings of that file.  Its
 * own are flushed outside the registry lock, so that threads msyncing
 * their own mappings do not wait for each other: a munmap racing with an
 * msync of the same range is the program's own race, as without the shim.
 */
static int
serve(struct shim_map *s, uintptr_t lo, uintptr_t hi, int flags)
{
	size_t flushed = 0, skipped = 0;
	bool keep = hi - lo <= REPROTECT_MIN && !atomic_load_explicit(
			&s->alias, memory_order_relaxed);
	int ret = flush_resident(s, lo, hi, keep ? flags | MS_KEEP_WRITTEN :
			flags, &flushed, &skipped);
	if (atomic_load_explicit(&shim_nmaps, memory_order_relaxed) > 1) {
		struct file_ctx c = { .dev = s->dev, .ino = s->ino,
			.off = s->base_off + (off_t)(lo - s->base),
			.len = hi - lo, .except = s, .flushed = &flushed };
		(void) flush_files(&c, false);	/* msync drains */
	}
	shim_count(ST_MSYNC_BYTES, flushed);
	shim_count(ST_MSYNC_SKIPPED, skipped);
	return ret;
}

/* kernel_part -- the kernel's msync for a part we do not serve */
static void
kernel_part(uintptr_t lo, uintptr_t hi, int flags, int *err)
{
	if (os_msync((void *)lo, hi - lo, flags))
		*err = errno;
}

struct msync_ctx {
	int flags, err;
	bool user, kernel;
	struct shim_map *last;	/* the last mapping served: its drain */
};

/* msync_part -- a registered part served here, anything else by the kernel */
static void
msync_part(void *ctx, struct shim_map *s, uintptr_t a, uintptr_t b)
{
	struct msync_ctx *c = ctx;
	if (shim_flushable(s) &&
			s->m.effective_granularity != PMEM2_GRANULARITY_PAGE) {
		if (serve(s, a, b, c->flags))
			c->err = errno;
		if (c->flags & MS_INVALIDATE)
			kernel_part(a, b, MS_INVALIDATE, &c->err);
		c->user = true;
		c->last = s;
	} else {
		kernel_part(a, b, c->flags, &c->err);
		c->kernel = true;
	}
}

/*
 * shim_msync -- the registered parts served here, the gaps by the kernel
 * (which reports ENOMEM for unmapped gaps, as it would for the whole).
 */
static int
shim_msync(void *addr, size_t len, int flags)
{
	uintptr_t lo = (uintptr_t)addr;
	struct msync_ctx c = { .flags = flags };
	uint64_t pkru = shim_pkru_open();
	walk(lo, lo + ALIGN_UP(len, Pagesize), msync_part, &c);
	shim_pkru_close(pkru);
	/* MS_ASYNC: the flush is started, the drain is not waited for */
	if (c.last && (flags & MS_SYNC))
		c.last->m.drain_fn();
	shim_count(c.user && !c.kernel ? ST_MSYNC_USER : c.user ?
		ST_MSYNC_MIXED : ST_MSYNC_KERNEL, 1);
	if (c.err) {
		errno = c.err;
		return -1;
	}
	return 0;
}

PUBLIC int
msync(void *addr, size_t len, int flags)
{
	if (shim_in_hook || !registry_may_overlap(addr, len))
		return os_msync(addr, len, flags);
	/* anything the kernel would refuse, it refuses itself */
	if ((flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) ||
			((flags & MS_ASYNC) && (flags & MS_SYNC)) ||
			!IS_ALIGNED((uintptr_t)addr, Pagesize) ||
			(uintptr_t)addr + ALIGN_UP(len, Pagesize) <
			(uintptr_t)addr) {
		shim_count(ST_MSYNC_KERNEL, 1);
		return os_msync(addr, len, flags);
	}
	int saved = errno;
	shim_in_hook = 1;
	if (shim_cfg.stats)
		shim_site_msync(len, __builtin_return_address(0));
	int ret = shim_msync(addr, len, flags);
	shim_in_hook = 0;
	if (!ret)
		errno = saved;
	return ret;
}

/*
 * flush_file -- flush every shim mapping of the file st in its range
 * [off, off + len) (len 0: to the end; what can be dirty), then drain;
 * count the call in counter if the file has any.
 */
static void
flush_file(const struct stat *st, off_t off, size_t len,
		enum shim_counter counter)
{
	size_t flushed = 0;
	struct file_ctx c = { .dev = st->st_dev, .ino = st->st_ino,
		.off = off, .len = len, .flushed = &flushed };
	(void) flush_counted(&c, counter);
}

/*
 * mapped_stat -- fd's fstat (by shim_fstat: id, when not NULL, gets the
 * rest), when this process has shim mappings and is not inside a hook:
 * what the descriptor hooks below ask before they flush.  errno is left
 * as it was: the kernel call that follows sets it.
 */
static bool
mapped_stat(int fd, struct stat *st, struct shim_ident *id)
{
	int saved = errno;
	struct shim_ident unused;
	bool ok = atomic_load_explicit(&shim_nmaps, memory_order_relaxed) >
		0 && !shim_in_hook && shim_fstat(fd, st, id ? id : &unused) ==
		0;
	errno = saved;
	return ok;
}

/*
 * sync_file -- fsync/fdatasync of a file with shim mappings: flush them
 * all first (on emulated DAX the kernel knows nothing of those stores).
 * While every shim mapping made so far has BYTE granularity (eADR, or
 * PMEMSHIM_GRANULARITY=BYTE) there is nothing to flush, and no need to
 * know fd's file: a fence orders the non-temporal stores, and the call
 * is not counted (tdbtool at BYTE granularity: 1 200 fdatasync calls,
 * each one statx less).
 */
static void
sync_file(int fd)
{
	if (atomic_load_explicit(&shim_nmaps, memory_order_relaxed) > 0 &&
			!atomic_load_explicit(&shim_flushing_maps,
				memory_order_relaxed)) {
		atomic_thread_fence(memory_order_seq_cst);
		return;
	}
	struct stat st;
	if (mapped_stat(fd, &st, NULL))
		flush_file(&st, 0, 0, ST_FSYNC_FLUSH);
}

PUBLIC int
fsync(int fd)
{
	sync_file(fd);
	return (int)syscall(SYS_fsync, fd);
}

PUBLIC int
fdatasync(int fd)
{
	sync_file(fd);
	return (int)syscall(SYS_fdatasync, fd);
}

/*
 * sync, syncfs, sync_file_range -- the kernel's writeback flushes a DAX
 * file's dirty pages, and never sees those the shim's mappings dirtied
 * (above, "Ranges that leave the shim"): they are flushed first.  sync:
 * every shim mapping; syncfs: those of files on fd's file system;
 * sync_file_range: fd's range, when SYNC_FILE_RANGE_WRITE asks for
 * writing (the shim's flush is synchronous, whatever the WAIT flags).
 */
PUBLIC void
sync(void)
{
	(void) shim_flush_where(true, 0, ST_SYNC_FLUSH, NULL);
	(void) syscall(SYS_sync);
}

PUBLIC int
syncfs(int fd)
{
	struct stat st;
	if (mapped_stat(fd, &st, NULL))
		(void) shim_flush_where(false, st.st_dev, ST_SYNC_FLUSH, NULL);
	return (int)syscall(SYS_syncfs, fd);
}

PUBLIC int
sync_file_range(int fd, off_t off, off_t len, unsigned int flags)
{
	struct stat st;
	if ((flags & SYNC_FILE_RANGE_WRITE) && off >= 0 && len >= 0 &&
			mapped_stat(fd, &st, NULL))
		flush_file(&st, off, (size_t)len, ST_SYNC_FLUSH);
	return (int)syscall(SYS_sync_file_range, fd, off, len, flags);
}

/*
 * Size and allocation changes.  ext4 and xfs "break the layouts" of a real
 * DAX file on every truncate (growth too), and xfs on every fallocate: the
 * kernel unmaps every page of every mapping of the file
 * (dax_layout_busy_page_range).  mincore then reports those pages not
 * resident, and a later msync would skip stores still in the CPU cache
 * (the kernel's own msync finds them by its dirty tags; we have none).  So
 * before such a call the shim mappings of a real-DAX file are flushed
 * (tests/shim/shim_eof.c, run on real DAX by tests/shim/guest/shim_dax.sh).
 * Emulated DAX (tmpfs) keeps its pages mapped and is not flushed here.
 * layout_begin also takes Layout for the kernel call (see there): true
 * when it did, for layout_end.
 */
static bool
layout_begin(int fd)
{
	struct stat st;
	struct shim_ident id;
	if (!mapped_stat(fd, &st, &id) || !S_ISREG(st.st_mode))
		return false;
	int saved = errno;
	shim_in_hook = 1;
	enum shim_class c = shim_classify(fd, &st, &id);
	shim_in_hook = 0;
	if (c == SHIM_REAL_DAX)
		flush_file(&st, 0, 0, ST_LAYOUT_FLUSH);
	/* and no flush in another thread may meet the kernel call (Layout) */
	bool locked = c != SHIM_NOT_DAX && !Layout_held &&
		atomic_load_explicit(&shim_flushing_maps, memory_order_relaxed);
	if (locked)
		pthread_rwlock_wrlock(&Layout);
	errno = saved;
	return locked;
}

/* layout_end -- after the kernel call layout_begin(fd) was for */
static void
layout_end(bool locked)
{
	int saved = errno;
	if (locked)
		pthread_rwlock_unlock(&Layout);
	errno = saved;
}

/* the real-DAX files a range maps (before_hole) */
#define HOLE_FILES 8
struct hole_files {
	size_t n;
	bool many;
	uintptr_t covered;	/* shim pieces cover the range up to here */
	struct { dev_t dev; ino_t ino; } f[HOLE_FILES];
};

static int
hole_file_one(void *ctx, const struct registry_entry *e)
{
	struct hole_files *h = ctx;
	struct shim_map *s = shim_map_of(e);
	if (s && e->start <= h->covered && e->end > h->covered)
		h->covered = e->end;
	if (!s || s->cls != SHIM_REAL_DAX)
		return 0;
	for (size_t i = 0; i < h->n; i++)
		if (h->f[i].dev == s->dev && h->f[i].ino == s->ino)
			return 0;
	if (h->n == HOLE_FILES) {
		h->many = true;
		return 1;
	}
	h->f[h->n].dev = s->dev;
	h->f[h->n++].ino = s->ino;
	return 0;
}

/*
 * before_hole -- madvise(MADV_REMOVE) punches a hole in the files its
 * range maps (fallocate's PUNCH_HOLE): on real DAX the kernel then unmaps
 * every page of every mapping of each file, not only the hole's, and a
 * later flush would miss them (as layout_begin).  Their shim
 * mappings are flushed first, whole.  Every shim mapping is, when the
 * range is not all shim pieces (a mapping the shim did not take, of a
 * file it maps elsewhere: read-only at mmap, say) or holds more than
 * HOLE_FILES files: which file that part maps, only the kernel knows.
 */
static void
before_hole(uintptr_t lo, uintptr_t hi)
{
	struct hole_files h = { .covered = lo };
	(void) shim_each_overlap(lo, hi, hole_file_one, &h);
	if (h.many || h.covered < hi) {
		size_t flushed = 0;
		struct file_ctx c = { .any_dev = true, .any_ino = true,
			.real_only = true, .flushed = &flushed };
		(void) flush_counted(&c, ST_LAYOUT_FLUSH);
		return;
	}
	for (size_t i = 0; i < h.n; i++) {
		struct stat st = { .st_dev = h.f[i].dev,
			.st_ino = h.f[i].ino };
		flush_file(&st, 0, 0, ST_LAYOUT_FLUSH);
	}
}

PUBLIC int
ftruncate(int fd, off_t len)
{
	bool locked = layout_begin(fd);
	int ret = (int)syscall(SYS_ftruncate, fd, len);
	layout_end(locked);
	return ret;
}

PUBLIC int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));

/* truncate -- by path: as ftruncate when this process maps the file */
PUBLIC int
truncate(const char *path, off_t len)
{
	int saved = errno;
	struct stat st;
	if (atomic_load_explicit(&shim_nmaps, memory_order_relaxed) > 0 &&
			!shim_in_hook && stat(path, &st) == 0 &&
			S_ISREG(st.st_mode)) {
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0) {
			bool locked = layout_begin(fd);
			errno = saved;
			int ret = (int)syscall(SYS_truncate, path, len);
			layout_end(locked);
			saved = errno;
			close(fd);
			errno = saved;
			return ret;
		}
	}
	errno = saved;
	return (int)syscall(SYS_truncate, path, len);
}

PUBLIC int truncate64(const char *path, off_t len)
	__attribute__((alias("truncate")));

PUBLIC int
fallocate(int fd, int mode, off_t off, off_t len)
{
	bool locked = layout_begin(fd);
	int ret = (int)syscall(SYS_fallocate, fd, mode, off, len);
	layout_end(locked);
	return ret;
}

PUBLIC int fallocate64(int fd, int mode, off_t off, off_t len)
	__attribute__((alias("fallocate")));

/* posix_fallocate -- libc's (it emulates where fallocate is refused) */
PUBLIC int
posix_fallocate(int fd, off_t off, off_t len)
{
	static void *_Atomic real;
	int (*f)(int, off_t, off_t) = (int (*)(int, off_t, off_t))
		shim_next(&real, "posix_fallocate", "GLIBC_2.2.5");
	if (!f)
		return ENOSYS;
	bool locked = layout_begin(fd);
	int ret = f(fd, off, len);
	layout_end(locked);
	return ret;
}

PUBLIC int posix_fallocate64(int fd, off_t off, off_t len)
	__attribute__((alias("posix_fallocate")));

/*
 * Ranges that leave the shim.  The shim's flush is the only one a store
 * through its mapping ever gets: on tmpfs the kernel's msync, fsync and
 * writeback flush no CPU cache, and on fsdax a write fault in a MAP_SYNC
 * mapping inserts its page clean (fs/dax.c tags the entry dirty only for
 * a fault that is not synchronous), so the kernel's fsync, sync(2) and
 * background writeback never flush it either.  Without the shim they
 * would: a program may store through a mapping, unmap it or exit, and
 * fsync the file later or leave it to sync(1) -- and expect its stores
 * to be durable.  So a shim mapping is flushed, as msync would, before
 * any of it leaves the shim: munmap, mmap(MAP_FIXED) over it, the part
 * mremap cuts off or replaces, mprotect that blocks it (hooks_mmap.c;
 * giving access back serves it again), and every mapping at exec and
 * _exit (hooks_exec.c) and at exit (init.c; shim_flush_at_end).  A
 * piece without read access (shim_flushable) is skipped by every flush:
 * a CLWB there would fault; one with a protection key is flushed with
 * PKRU opened (shim.h).  Not covered: a fatal signal (shim/README.md).
 *
 * madvise(DONTNEED, PAGEOUT) keeps the mapping but drops page-table
 * entries: a later flush misses those pages where "resident" means
 * "mapped" -- real DAX (mincore), tracked mappings (the scan flushes
 * only mapped pages, dirty.c) and those that lost their tracking
 * (shim_dirty_present).  Emulated DAX never tracked keeps the pages in
 * tmpfs, which mincore still reports, and is left to that later flush.
 */
struct gone_ctx {
	bool leaving;
	struct shim_map *last;	/* the last mapping flushed: its drain */
	size_t flushed, skipped;
};

/* gone_part -- flush the part [a, b) of s if it needs it (gone_ctx) */
static void
gone_part(void *ctx, struct shim_map *s, uintptr_t a, uintptr_t b)
{
	struct gone_ctx *c = ctx;
	if (!shim_flushable(s) ||
			s->m.effective_granularity == PMEM2_GRANULARITY_PAGE ||
			(!c->leaving && s->cls != SHIM_REAL_DAX &&
			!atomic_load_explicit(&s->tracked,
				memory_order_relaxed) &&
			!atomic_load_explicit(&s->present_only,
				memory_order_relaxed)))
		return;
	/* a range leaving needs no protection for its next flush */
	(void) flush_resident(s, a, b, c->leaving ? MS_ASYNC : MS_SYNC,
			&c->flushed, &c->skipped);
	c->last = s;
}

bool
shim_flush_gone(uintptr_t lo, uintptr_t hi, bool leaving)
{
	struct gone_ctx c = { .leaving = leaving };
	uint64_t pkru = shim_pkru_open();
	walk(lo, hi, gone_part, &c);
	shim_pkru_close(pkru);
	if (c.last)
		c.last->m.drain_fn();
	shim_count(ST_MSYNC_BYTES, c.flushed);
	shim_count(ST_MSYNC_SKIPPED, c.skipped);
	return c.last != NULL;
}

#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

/*
 * madvise -- MADV_DONTNEED and MADV_PAGEOUT drop page table entries of
 * a shared mapping (the data stays in the file).  Pages so dropped are
 * missed by the next msync of a real-DAX mapping (mincore: not resident)
 * and of a tracked one (not mapped), though stores to them may still be
 * in the CPU cache: the shim-mapped part of the range is flushed first,
 * as msync would (shim_unmap.c).
 */
PUBLIC int
madvise(void *addr, size_t len, int advice)
{
	uintptr_t lo = (uintptr_t)addr, hi = lo + ALIGN_UP(len, Pagesize);
	/* MADV_REMOVE of any range may punch a file the shim maps */
	bool ours = advice == MADV_REMOVE ? atomic_load_explicit(&shim_nmaps,
			memory_order_relaxed) > 0 :
		registry_may_overlap(addr, len);
	if (shim_in_hook || hi < lo || !ours)
		return (int)syscall(SYS_madvise, addr, len, advice);
	switch (advice) {
	case MADV_DONTFORK:
		/* unaligned: the kernel refuses it (EINVAL) */
		if (IS_ALIGNED(lo, Pagesize))
			shim_maps_fork_advice(lo, hi, true);
		break;
	case MADV_DOFORK: {
		int r = (int)syscall(SYS_madvise, addr, len, advice);
		if (r == 0)
			shim_maps_fork_advice(ALIGN_DOWN(lo, Pagesize), hi,
					false);
		return r;
	}
	case MADV_DONTNEED:
	case MADV_DONTNEED_LOCKED:
	case MADV_PAGEOUT:
		if (IS_ALIGNED(lo, Pagesize)) {
			int saved = errno;
			shim_in_hook = 1;
			if (shim_flush_gone(lo, hi, false))
				shim_count(ST_MADVISE_FLUSH, 1);
			shim_in_hook = 0;
			errno = saved;
		}
		break;
	case MADV_REMOVE:
		if (IS_ALIGNED(lo, Pagesize)) {
			int saved = errno;
			shim_in_hook = 1;
			before_hole(lo, hi);
			shim_in_hook = 0;
			errno = saved;
		}
		break;
	}
	return (int)syscall(SYS_madvise, addr, len, advice);
}
