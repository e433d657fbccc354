/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * faults_lib.c -- linked only into libpmemshim-faults.so, the shim built
 * for the tests that look inside it: the core's fault injection
 * (core_fault_*) for shim_faults, and a watch on the shim's flushes and
 * drains for shim_fuzz.  Never in libpmemshim.so.
 */
#include "pmem2_utils.h"

#define PUBLIC __attribute__((visibility("default")))

/*
 * pmemshim_test_fault -- the countdown-th call of kind fails (-1: off);
 * sticky: that one and every later one, until turned off
 */
PUBLIC void
pmemshim_test_fault(int kind, long countdown, int sticky)
{
	if (sticky)
		core_fault_set_sticky((enum core_fault_kind)kind, countdown);
	else
		core_fault_set((enum core_fault_kind)kind, countdown);
}

/* pmemshim_test_fault_left -- < 0 once the fault fired (or when off) */
PUBLIC long
pmemshim_test_fault_left(int kind)
{
	return core_fault_get((enum core_fault_kind)kind);
}

/* ---- watching the shim's flushes (tests/shim/shim_fuzz.c) ---------- */

#include "registry.h"
#include "shim.h"

/*
 * Set by the first watch, read by every watched flush in any thread:
 * atomic (the watch runs under the registry lock, an msync of a thread's
 * own mapping reads them without it)
 */
static pmem2_flush_fn _Atomic Orig_flush;
static pmem2_drain_fn _Atomic Orig_drain;
static pmem2_memcpy_fn _Atomic Orig_memcpy;
static pmem2_memmove_fn _Atomic Orig_memmove;
static void (*_Atomic On_flush)(const void *, size_t);
static void (*_Atomic On_drain)(void);
static _Thread_local unsigned long Moved;	/* pmemshim_test_moved */

static void
watched_flush(const void *addr, size_t len)
{
	On_flush(addr, len);
	Orig_flush(addr, len);
}

static void
watched_drain(void)
{
	On_drain();
	Orig_drain();
}

static void *
watched_memcpy(void *dest, const void *src, size_t len, unsigned flags)
{
	Moved += len;
	return Orig_memcpy(dest, src, len, flags);
}

static void *
watched_memmove(void *dest, const void *src, size_t len, unsigned flags)
{
	Moved += len;
	return Orig_memmove(dest, src, len, flags);
}

/*
 * pmemshim_test_moved -- the bytes the calling thread's copies sent to
 * the mover of a watched mapping (the counter bytes_moved_by_core is the
 * process's)
 */
PUBLIC unsigned long
pmemshim_test_moved(void)
{
	return Moved;
}

/*
 * pmemshim_test_watch -- every later flush and drain the shim makes
 * through the mapping object that serves addr calls on_flush/on_drain
 * first, and its mover counts the bytes (pmemshim_test_moved); a piece
 * split off it or moved by mremap inherits that.  1: the object is
 * watched, 0: no shim mapping holds addr, -1: its functions differ from
 * the first watched object's (one granularity per run).  One pair of
 * callbacks per process, the first given (they run on the thread that
 * flushes).
 */
PUBLIC int
pmemshim_test_watch(const void *addr, void (*on_flush)(const void *, size_t),
		void (*on_drain)(void))
{
	/*
	 * Under the registry lock, which every flush of another thread's
	 * mappings holds (syncfs, munmap's flush of what leaves): it sees
	 * the object's functions before or after the change, never torn
	 */
	registry_lock();
	struct registry_entry e;
	struct shim_map *s = NULL;
	int ret = registry_lookup(addr, &e) && (s = shim_map_of(&e)) ? 1 : 0;
	if (ret && s->m.flush_fn != watched_flush) {
		if (!Orig_flush) {
			Orig_flush = s->m.flush_fn;
			Orig_drain = s->m.drain_fn;
			Orig_memcpy = s->m.memcpy_fn;
			Orig_memmove = s->m.memmove_fn;
			On_flush = on_flush;
			On_drain = on_drain;
		}
		if (s->m.flush_fn != Orig_flush ||
				s->m.drain_fn != Orig_drain ||
				s->m.memcpy_fn != Orig_memcpy ||
				s->m.memmove_fn != Orig_memmove) {
			ret = -1;
		} else {
			s->m.flush_fn = watched_flush;
			s->m.drain_fn = watched_drain;
			s->m.memcpy_fn = watched_memcpy;
			s->m.memmove_fn = watched_memmove;
		}
	}
	registry_unlock();
	return ret;
}

/* pmemshim_test_registered -- any registry entry (a blocked piece too) */
PUBLIC int
pmemshim_test_registered(const void *addr)
{
	struct registry_entry e;
	return registry_lookup(addr, &e);
}

/*
 * pmemshim_test_registry_check -- the registry's own invariants: entries
 * in address order, none empty, none overlapping, no object in two of
 * them (a lookup by object would find the wrong one).  0 when they hold,
 * else the index of the first entry that breaks one (1-based); -1 with
 * more than 1024 entries.
 */
PUBLIC int
pmemshim_test_registry_check(void)
{
	static _Thread_local struct registry_entry e[1025];
	size_t n = registry_overlaps(0, UINTPTR_MAX, e, 1024);
	if (n > 1024)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (e[i].start >= e[i].end || (i && e[i].start < e[i - 1].end))
			return (int)i + 1;
		for (size_t j = 0; j < i; j++)
			if (e[j].obj == e[i].obj)
				return (int)i + 1;
	}
	return 0;
}
