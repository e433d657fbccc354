/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * registry.h -- the process-wide index of live mappings and reservations
 * (the "reservation tracker").
 *
 * Entries never overlap.  A reservation is one entry; the mappings inside it
 * live in the reservation's own ordered index (vm_reservation.h).  Standalone
 * mappings (pmem2_map_new without a reservation, pmem2_map_from_existing, the
 * shim's mappings) are entries of their own.
 *
 * Readers are lock-free: the entries form an immutable sorted array published
 * through an atomic pointer, plus global [lo, hi) bounds that reject almost
 * every address with one comparison pair.  Writers are serialised by a mutex
 * and publish a new array; an old array is freed only once no reader can
 * still hold it.
 */
#ifndef PMEM2_REGISTRY_H
#define PMEM2_REGISTRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pmem2_utils.h"

enum registry_kind {
	REGISTRY_MAP = 1,	/* obj is a struct pmem2_map * */
	REGISTRY_RSV = 2,	/* obj is a struct pmem2_vm_reservation * */
};

struct registry_entry {
	uintptr_t start;	/* [start, end) */
	uintptr_t end;
	void *obj;
	enum registry_kind kind;
};

/* Global bounds of all entries; lo >= hi when empty.  Both in one cache
 * line: every memcpy in a shimmed process reads them. */
struct registry_bounds {
	_Atomic uintptr_t lo;
	_Atomic uintptr_t hi;
} __attribute__((aligned(64)));
extern struct registry_bounds registry_bounds;

/*
 * registry_may_contain -- the hot-path filter: false means addr is in no
 * entry.  Two relaxed loads from one line and one unsigned compare
 * (a - lo < hi - lo), so one branch.  Empty (lo = UINTPTR_MAX, hi = 0), it
 * passes only addr == UINTPTR_MAX, which the lookup behind it rejects; a
 * pair read while a writer publishes (lo > hi) passes more, never less.
 */
static inline bool
registry_may_contain(const void *addr)
{
	uintptr_t lo = atomic_load_explicit(&registry_bounds.lo,
		memory_order_relaxed);
	uintptr_t hi = atomic_load_explicit(&registry_bounds.hi,
		memory_order_relaxed);
	return (uintptr_t)addr - lo < hi - lo;
}

/* registry_may_overlap -- the same filter for a range [addr, addr+len). */
static inline bool
registry_may_overlap(const void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	return len && a < atomic_load_explicit(&registry_bounds.hi,
			memory_order_relaxed) &&
		a + len > atomic_load_explicit(&registry_bounds.lo,
			memory_order_relaxed);
}

/*
 * registry_insert -- add [start, end) for obj.  -EEXIST if it overlaps an
 * entry (out, when not NULL, gets the first one), -ENOMEM.
 */
int registry_insert(uintptr_t start, uintptr_t end, void *obj,
	enum registry_kind kind, struct registry_entry *out);

/*
 * registry_reserve -- set memory aside so that the next change that adds
 * at most extra entries cannot fail for memory: 0 or -ENOMEM.  The
 * caller holds registry_lock across both, so that no other change takes
 * the memory first (the shim's hooks: reserve, kernel call, register the
 * result -- a mapping made and then left unregistered for want of memory
 * would be lost to the shim).
 */
int registry_reserve(size_t extra);

/*
 * registry_split -- obj's entry [a, b), with a < lo <= hi < b, becomes
 * [a, lo) for obj and [hi, b) for tail_obj (same kind), in one step: a
 * lock-free reader sees the old entry or both new ones, never a gap
 * over [hi, b).  -ENOENT, -EINVAL, -ENOMEM; unchanged on error.
 */
int registry_split(const void *obj, uintptr_t lo, uintptr_t hi,
	void *tail_obj);

/* registry_remove -- drop obj's entry; -ENOENT if it has none. */
int registry_remove(const void *obj);

/*
 * registry_resize -- give obj's entry new bounds (reservation extend and
 * shrink, the shim's partial munmap and mremap).  -EEXIST if the new bounds
 * overlap another entry, -ENOENT, -ENOMEM; the entry is unchanged on error.
 */
int registry_resize(const void *obj, uintptr_t start, uintptr_t end);

/* registry_lookup -- copy the entry holding addr into *out; false if none. */
bool registry_lookup(const void *addr, struct registry_entry *out);

/*
 * registry_overlaps -- copy up to max entries overlapping [start, end), in
 * address order, into out; returns how many it copied, or max + 1 when more
 * overlap (without counting them: a caller walking a range in batches would
 * otherwise pay for the whole rest of it on every batch).
 */
size_t registry_overlaps(uintptr_t start, uintptr_t end,
	struct registry_entry *out, size_t max);

/*
 * registry_pin -- keep the registry as it is now (registry_lock held, until
 * registry_unpin): registry_unpin(true) puts it back exactly, whatever
 * changed in between, with no allocation -- so the undo of a change that
 * failed half-way cannot fail too (the shim's hooks, when memory runs
 * out); registry_unpin(false) keeps the changes.  One pin at a time.
 * registry_pinned_overlaps -- registry_overlaps on the pinned copy.
 */
void registry_pin(void);
void registry_unpin(bool restore);
size_t registry_pinned_overlaps(uintptr_t start, uintptr_t end,
	struct registry_entry *out, size_t max);

/* registry_count -- number of entries (tests, statistics). */
size_t registry_count(void);

/*
 * registry_lock/registry_unlock -- hold off writers, for callers that must
 * look up and act in one step (the shim's munmap of a registered range).
 * Writers in the same thread may nest inside (the lock is recursive).
 */
void registry_lock(void);
void registry_unlock(void);
/* registry_trylock -- registry_lock if free (or ours), else false */
bool registry_trylock(void);
/*
 * registry_atfork_child -- make the registry usable in a fork's child (its
 * own pthread_atfork handler; idempotent, so a handler that must change
 * the registry in the child calls it first, whatever the handlers' order).
 */
void registry_atfork_child(void);

/*
 * registry_child_drop -- in a fork's child, after registry_atfork_child:
 * out with every entry drop() says so (it may free the entry's object),
 * edited in place -- the child has one thread and no reader, so nothing
 * is allocated and nothing can fail.  Returns how many went.
 */
size_t registry_child_drop(bool (*drop)(const struct registry_entry *e));

#endif /* PMEM2_REGISTRY_H */
