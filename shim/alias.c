/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * alias.c -- a second, untracked view of a tracked mapping, for the copies
 * the mover makes.
 *
 * On a tracked (emulated-DAX) mapping every store to a protected page
 * costs a write fault, and the next msync finds the page written and
 * writes its lines back.  For the mover's copies both are waste: its
 * non-temporal stores and closing fence have put the bytes in memory
 * before the copy returns.  So the mover writes through an alias: the
 * same pages of the same file mapped a second time (mremap with old size
 * 0, which the kernel allows for shared mappings), with no userfaultfd.
 * The program's own mapping keeps its protection, a later msync finds
 * nothing to flush for the copy, and only the program's own stores are
 * recorded.  A store of the program to a page the mover also wrote still
 * faults and gets the page flushed: nothing depends on the copy being the
 * last writer.  Measured here: 64 KiB memcpy + msync 3.5 us instead of
 * 20-28 us (README, bench_shim).
 *
 * The alias is made at the ALIAS_AFTER-th mover copy into a tracked
 * mapping and covers that registry entry as it was then.  Whatever changes the entry
 * (munmap, mremap, MAP_FIXED over it, a split) drops it, before the
 * kernel call; the next copy makes a new one.  A copy in flight holds
 * users, and a drop waits for it to end before unmapping: a copy into one
 * part of a mapping must not fault because another part was unmapped.
 *
 * The alias must never let a store succeed where the program's mapping
 * would refuse it.  mprotect or pkey_mprotect over a mapping bans its
 * alias for good (read-only, a guard page, a key), and a mapping whose
 * tracking was dropped (mostly written, or the program's own
 * userfaultfd, which must see every store) does not use it.
 * PMEMSHIM_ALIAS=off turns it off (a program whose SIGBUS/SIGSEGV
 * handler reads si_addr would see the alias's address for a fault inside
 * a copy: past end-of-file after another process truncated the file).
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "os.h"
#include "registry.h"
#include "shim.h"

/*
 * A cap on live aliases: each is one more kernel mapping (VMA), and a
 * program close to vm.max_map_count (65530 by default) must not be
 * pushed over it by us.
 */
#define ALIAS_MAX 4096

/*
 * An alias costs about 3 us to make and unmap, and each page's first
 * store through it a fault (1.3 us here, against 0.5 us for the write
 * fault of a protected page it saves); it gains only when the mover writes
 * the same pages again.  So it is made at the ALIAS_AFTER-th mover copy
 * into a mapping: a program that maps, copies a few blocks and unmaps
 * (tdb remaps its file in every transaction, about 6 copies each) never
 * pays for one.
 */
#define ALIAS_AFTER 16

static _Atomic long Live;		/* aliases mapped now */
static _Atomic bool Ever;		/* an alias was ever made */

/*
 * make -- map an alias of the entry d is in, if that entry is still s as
 * the caller saw it (e).  Registry lock taken with trylock only: a copy
 * can be a signal handler's, interrupting a thread that holds it.
 */
static void
make(struct shim_map *s, const struct registry_entry *e, uintptr_t d)
{
	if (!registry_trylock())
		return;
	struct registry_entry now;
	if (atomic_load(&s->alias) || atomic_load(&s->alias_banned) ||
			!atomic_load(&s->tracked) ||
			!registry_lookup((void *)d, &now) || now.obj != e->obj ||
			now.start != e->start || now.end != e->end)
		goto out;
	if (atomic_load(&Live) >= ALIAS_MAX) {
		atomic_store(&s->alias_banned, true);
		goto out;
	}
	size_t len = e->end - e->start;
	void *p = os_mremap((void *)e->start, 0, len, MREMAP_MAYMOVE, NULL);
	if (p == MAP_FAILED) {
		shim_log(2, "no alias for %p: mremap: %s", (void *)e->start,
			strerror(errno));
		atomic_store(&s->alias_banned, true);
		goto out;
	}
	s->alias_lo = e->start;
	s->alias_hi = e->end;
	atomic_fetch_add(&Live, 1);
	atomic_store(&Ever, true);
	atomic_store_explicit(&s->alias, (uintptr_t)p, memory_order_release);
	shim_count(ST_ALIASES, 1);
	shim_log(3, "alias of %p (%zu bytes) at %p", (void *)e->start, len, p);
out:
	registry_unlock();
}

/* in -- [p, p + n) lies within [lo, hi) */
static inline bool
in(uintptr_t p, size_t n, uintptr_t lo, uintptr_t hi)
{
	return p >= lo && p <= hi && n <= hi - p;
}

bool
shim_alias_enter(struct shim_map *s, const struct registry_entry *e,
		void **d, const void **src, size_t n)
{
	if (!shim_cfg.alias || !atomic_load_explicit(&s->tracked,
			memory_order_relaxed) ||
			atomic_load_explicit(&s->alias_banned,
			memory_order_relaxed))
		return false;
	uintptr_t dst = (uintptr_t)*d, from = (uintptr_t)*src;
	for (int tries = 0; tries < 2; tries++) {
		/* users before alias, as the drop stores alias before it
		 * reads users (both sequentially consistent): either the drop
		 * sees us, or we see the alias gone */
		atomic_fetch_add(&s->alias_users, 1);
		uintptr_t a = atomic_load(&s->alias);
		if (a) {
			uintptr_t lo = s->alias_lo, hi = s->alias_hi;
			/* a source inside the same mapping moves with the
			 * destination (memmove's overlap is decided by
			 * addresses); one straddling the alias cannot */
			bool src_in = in(from, n, lo, hi);
			if (in(dst, n, lo, hi) && (src_in ||
					from + n <= lo || from >= hi)) {
				*d = (void *)(a + (dst - lo));
				if (src_in)
					*src = (const void *)(a + (from - lo));
				return true;
			}
			atomic_fetch_sub(&s->alias_users, 1);
			return false;
		}
		atomic_fetch_sub(&s->alias_users, 1);
		if (tries > 0 || atomic_fetch_add_explicit(&s->copies, 1,
				memory_order_relaxed) + 1 < ALIAS_AFTER)
			return false;
		make(s, e, dst);
	}
	return false;
}

void
shim_alias_leave(struct shim_map *s)
{
	atomic_fetch_sub_explicit(&s->alias_users, 1, memory_order_release);
}

/*
 * quiet -- wait for the copies through s's alias to end: true when they
 * did.  A copy left by siglongjmp from a fault inside it (SIGBUS past
 * the end of a file another process shrank) never ends; a real one of
 * 16 GiB takes about a second here.  So after QUIET_NS the wait gives
 * up rather than hang the program's munmap for ever.
 */
#define QUIET_NS 2000000000LL

static bool
quiet(struct shim_map *s)
{
	if (!atomic_load(&s->alias_users))
		return true;
	struct timespec t0, t, nap = { 0, 100000 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; atomic_load(&s->alias_users); i++) {
		if (i < 1000) {
			sched_yield();
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000000000LL + t.tv_nsec -
				t0.tv_nsec > QUIET_NS)
			return false;
		nanosleep(&nap, NULL);
	}
	return true;
}

void
shim_alias_drop(struct shim_map *s, bool ban)
{
	if (ban)
		atomic_store(&s->alias_banned, true);
	uintptr_t a = atomic_exchange(&s->alias, 0);
	if (!a)
		return;
	/* a copy that saw the alias finishes before it goes */
	if (!quiet(s)) {
		/* a copy that never returned: the alias stays mapped, unused
		 * (the pages are the file's, nothing is lost), and the
		 * mapping makes no other */
		atomic_store(&s->alias_banned, true);
		shim_count(ST_ALIASES_LEFT, 1);
		shim_log(1, "alias %p of %p left mapped: a copy through it "
			"never returned (siglongjmp out of a fault?)",
			(void *)a, (void *)s->alias_lo);
		return;
	}
	os_munmap((void *)a, s->alias_hi - s->alias_lo);
	atomic_fetch_sub(&Live, 1);
}

/* fork_reset -- in a fork's child: no copy is in flight any more */
static int
fork_reset(void *ctx, const struct registry_entry *e)
{
	(void) ctx;
	struct shim_map *s = shim_map_of(e);
	if (s)
		atomic_store(&s->alias_users, 0);
	return 0;
}

bool
shim_alias_atfork_child(void)
{
	/* a thread of the parent may have been inside a copy: its count
	 * would keep a drop in the child waiting for ever.  Without an
	 * alias ever made, a fork walks nothing. */
	if (!atomic_load(&Ever))
		return false;
	registry_atfork_child();
	(void) shim_each_overlap(0, UINTPTR_MAX, fork_reset, NULL);
	return true;
}
