/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * registry.c -- the process-wide index of live mappings and reservations.
 *
 * Readers: increment Readers, load Current, search, decrement.  No lock, no
 * allocation, safe in signal-free hot paths (the shim's memcpy hook).
 * Writers: take Lock, build a new sorted array, publish it with one atomic
 * store, retire the old one.  Retired arrays are freed by a later writer
 * that sees Readers == 0 after its own publish: every reader that could
 * still hold a retired array incremented Readers before loading Current
 * (both seq_cst), so seeing zero after the store proves none is left.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

struct reg_array {
	struct reg_array *next_retired;
	size_t n;
	size_t cap;		/* room for entries (the spare has more) */
	struct registry_entry e[];
};

struct registry_bounds registry_bounds = { UINTPTR_MAX, 0 };

static struct reg_array Empty;
static struct reg_array *_Atomic Current = &Empty;
static _Atomic long Readers FORK_DATA;
static struct reg_array *Retired;	/* guarded by Lock */
static pthread_mutex_t Lock FORK_DATA =
	PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static struct reg_array *Spare;		/* registry_reserve's; Lock */
static struct reg_array *Pinned;	/* registry_pin's; Lock */

static struct reg_array *
reader_enter(void)
{
	atomic_fetch_add(&Readers, 1);
	return atomic_load(&Current);
}

static void
reader_exit(void)
{
	atomic_fetch_sub_explicit(&Readers, 1, memory_order_release);
}

/*
 * first_after -- index of the first entry whose start (by_end: end) is >
 * addr.  Entries do not overlap, so ends are sorted like starts; with
 * by_end false, the entry that may hold addr is the one before the result.
 */
static size_t
first_after(const struct reg_array *a, uintptr_t addr, bool by_end)
{
	size_t lo = 0, hi = a->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uintptr_t key = by_end ? a->e[mid].end : a->e[mid].start;
		if (key <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool
registry_lookup(const void *addr, struct registry_entry *out)
{
	uintptr_t a = (uintptr_t)addr;
	bool found = false;
	struct reg_array *arr = reader_enter();
	size_t i = first_after(arr, a, false);
	if (i > 0 && a < arr->e[i - 1].end) {
		*out = arr->e[i - 1];
		found = true;
	}
	reader_exit();
	return found;
}

/* overlaps_in -- registry_overlaps on one array */
static size_t
overlaps_in(const struct reg_array *arr, uintptr_t start, uintptr_t end,
		struct registry_entry *out, size_t max)
{
	size_t count = 0;
	for (size_t i = first_after(arr, start, true);
			i < arr->n && arr->e[i].start < end; i++) {
		if (count == max) {
			count++;	/* "more": not how many more */
			break;
		}
		out[count++] = arr->e[i];
	}
	return count;
}

size_t
registry_overlaps(uintptr_t start, uintptr_t end, struct registry_entry *out,
		size_t max)
{
	struct reg_array *arr = reader_enter();
	size_t count = overlaps_in(arr, start, end, out, max);
	reader_exit();
	return count;
}

size_t
registry_count(void)
{
	struct reg_array *arr = reader_enter();
	size_t n = arr->n;
	reader_exit();
	return n;
}

void
registry_lock(void)
{
	pthread_mutex_lock(&Lock);
}

bool
registry_trylock(void)
{
	return pthread_mutex_trylock(&Lock) == 0;
}

void
registry_unlock(void)
{
	pthread_mutex_unlock(&Lock);
}

/* retire -- old is no longer current: free it once no reader can hold it */
static void
retire(struct reg_array *old)
{
	old->next_retired = Retired;
	Retired = old;
}

/* set_bounds -- registry_bounds for the entries of a (empty: none) */
static void
set_bounds(const struct reg_array *a)
{
	atomic_store(&registry_bounds.lo, a->n ? a->e[0].start : UINTPTR_MAX);
	atomic_store(&registry_bounds.hi, a->n ? a->e[a->n - 1].end : 0);
}

/*
 * publish -- make next the current array (Lock held), update the bounds and
 * free what no reader can hold any more.
 */
static void
publish(struct reg_array *next)
{
	struct reg_array *old = atomic_load(&Current);
	/* bounds before the array: a reader that passes the new bounds but
	 * still sees the old array only misses an entry whose mapping has
	 * not been handed out yet (insert) or is being taken away (remove);
	 * an empty registry's bounds after it */
	if (next->n)
		set_bounds(next);
	atomic_store(&Current, next);
	if (!next->n)
		set_bounds(next);
	if (old != &Empty && old != Pinned)
		retire(old);
	if (atomic_load(&Readers) == 0) {
		while (Retired) {
			struct reg_array *r = Retired;
			Retired = r->next_retired;
			free(r);
		}
	}
}

/* new_array -- room for cap entries, or NULL with *err = -ENOMEM */
static struct reg_array *
new_array(size_t cap, int *err)
{
	struct reg_array *a = pmem2_malloc(sizeof(*a) +
			cap * sizeof(a->e[0]), err);
	if (a)
		a->cap = cap;
	return a;
}

/* alloc_array -- an array for n entries: the spare when it fits */
static struct reg_array *
alloc_array(size_t n, int *err)
{
	struct reg_array *a = Spare;
	if (a && a->cap >= n)
		Spare = NULL;
	else
		a = new_array(n, err);
	if (a) {
		a->n = n;
		a->next_retired = NULL;
		*err = 0;
	}
	return a;
}

int
registry_reserve(size_t extra)
{
	pthread_mutex_lock(&Lock);
	size_t n = atomic_load(&Current)->n + extra;
	int ret = 0;
	if (!Spare || Spare->cap < n) {
		struct reg_array *a = new_array(n, &ret);
		if (a) {
			free(Spare);
			Spare = a;
		}
	}
	pthread_mutex_unlock(&Lock);
	return ret;
}

/* find_obj -- index of obj's entry or n (Lock held). */
static size_t
find_obj(const struct reg_array *a, const void *obj)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->e[i].obj == obj)
			return i;
	return a->n;
}

/*
 * insert_into -- copy cur without entry skip (skip == cur->n: none) and with
 * e added in order; -EEXIST if e overlaps a kept entry.
 */
static int
insert_into(const struct reg_array *cur, size_t skip,
		const struct registry_entry *e, struct registry_entry *clash,
		struct reg_array **out)
{
	size_t pos = first_after(cur, e->start, true);
	for (size_t i = pos; i < cur->n && cur->e[i].start < e->end; i++) {
		if (i == skip)
			continue;
		if (clash)
			*clash = cur->e[i];
		return -EEXIST;
	}
	int err;
	size_t n = cur->n + 1 - (skip < cur->n);
	struct reg_array *next = alloc_array(n, &err);
	if (!next)
		return err;
	size_t j = 0;
	bool placed = false;
	for (size_t i = 0; i < cur->n; i++) {
		if (i == skip)
			continue;
		if (!placed && cur->e[i].start >= e->start) {
			next->e[j++] = *e;
			placed = true;
		}
		next->e[j++] = cur->e[i];
	}
	if (!placed)
		next->e[j++] = *e;
	*out = next;
	return 0;
}

int
registry_insert(uintptr_t start, uintptr_t end, void *obj,
		enum registry_kind kind, struct registry_entry *out)
{
	if (end <= start)
		return -EINVAL;
	struct registry_entry e = { start, end, obj, kind };
	struct reg_array *next;
	pthread_mutex_lock(&Lock);
	struct reg_array *cur = atomic_load(&Current);
	int ret = insert_into(cur, cur->n, &e, out, &next);
	if (!ret)
		publish(next);
	pthread_mutex_unlock(&Lock);
	return ret;
}

/*
 * lock_obj -- take the lock and find obj's entry: its index in *cur (the
 * current array), or -ENOENT.  The lock is held on return either way.
 */
static int
lock_obj(const void *obj, struct reg_array **cur, size_t *i)
{
	pthread_mutex_lock(&Lock);
	*cur = atomic_load(&Current);
	*i = find_obj(*cur, obj);
	return *i < (*cur)->n ? 0 : -ENOENT;
}

int
registry_resize(const void *obj, uintptr_t start, uintptr_t end)
{
	if (end <= start)
		return -EINVAL;
	struct reg_array *cur, *next;
	size_t i;
	int ret = lock_obj(obj, &cur, &i);
	if (!ret) {
		struct registry_entry e = cur->e[i];
		e.start = start;
		e.end = end;
		ret = insert_into(cur, i, &e, NULL, &next);
	}
	if (!ret)
		publish(next);
	pthread_mutex_unlock(&Lock);
	return ret;
}

int
registry_split(const void *obj, uintptr_t lo, uintptr_t hi, void *tail_obj)
{
	struct reg_array *cur, *next = NULL;
	size_t i;
	int ret = lock_obj(obj, &cur, &i);
	if (!ret && !(cur->e[i].start < lo && lo <= hi && hi < cur->e[i].end))
		ret = -EINVAL;
	if (!ret)
		next = alloc_array(cur->n + 1, &ret);
	if (next) {
		struct registry_entry e = cur->e[i];
		memcpy(next->e, cur->e, i * sizeof(e));
		next->e[i] = e;
		next->e[i].end = lo;
		next->e[i + 1] = e;
		next->e[i + 1].start = hi;
		next->e[i + 1].obj = tail_obj;
		memcpy(next->e + i + 2, cur->e + i + 1,
			(cur->n - i - 1) * sizeof(e));
		publish(next);
	}
	pthread_mutex_unlock(&Lock);
	return ret;
}

int
registry_remove(const void *obj)
{
	struct reg_array *cur, *next = &Empty;
	size_t i;
	int ret = lock_obj(obj, &cur, &i);
	if (!ret && cur->n > 1) {
		next = alloc_array(cur->n - 1, &ret);
		if (next) {
			memcpy(next->e, cur->e, i * sizeof(cur->e[0]));
			memcpy(next->e + i, cur->e + i + 1,
				(cur->n - i - 1) * sizeof(cur->e[0]));
		}
	}
	if (!ret)
		publish(next);
	pthread_mutex_unlock(&Lock);
	return ret;
}

void
registry_pin(void)
{
	pthread_mutex_lock(&Lock);
	Pinned = atomic_load(&Current);
	pthread_mutex_unlock(&Lock);
}

size_t
registry_pinned_overlaps(uintptr_t start, uintptr_t end,
		struct registry_entry *out, size_t max)
{
	pthread_mutex_lock(&Lock);
	size_t n = Pinned ? overlaps_in(Pinned, start, end, out, max) : 0;
	pthread_mutex_unlock(&Lock);
	return n;
}

void
registry_unpin(bool restore)
{
	pthread_mutex_lock(&Lock);
	struct reg_array *p = Pinned, *cur = atomic_load(&Current);
	Pinned = NULL;
	if (p && p != cur) {
		if (restore)
			publish(p);	/* retires cur */
		else if (p != &Empty)
			retire(p);
	}
	pthread_mutex_unlock(&Lock);
}

/*
 * fork handling: no writer may be half-way through when the child is made;
 * in the child only the forking thread exists, so no reader is active.
 */
static void
atfork_prepare(void)
{
	pthread_mutex_lock(&Lock);
}

static void
atfork_parent(void)
{
	pthread_mutex_unlock(&Lock);
}

void
registry_atfork_child(void)
{
	atomic_store(&Readers, 0);
	/* not unlock: the recursive mutex's owner is the parent's TID, which
	 * the child's thread no longer has, so unlock would fail (EPERM) and
	 * leave it locked forever; the child has one thread, re-create it */
	pthread_mutex_t fresh = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
	Lock = fresh;
}

size_t
registry_child_drop(bool (*drop)(const struct registry_entry *e))
{
	struct reg_array *a = atomic_load(&Current);
	size_t j = 0;
	for (size_t i = 0; i < a->n; i++)
		if (!drop(&a->e[i]))
			a->e[j++] = a->e[i];
	size_t dropped = a->n - j;
	if (dropped) {
		a->n = j;
		set_bounds(a);
	}
	return dropped;
}

__attribute__((constructor)) static void
registry_ctor(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, registry_atfork_child);
}
