/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hooks_mmap.c -- mmap, mmap64, munmap, mremap: DAX files through the core,
 * and the registry updated in the same step as every change of the address
 * space over a registered range.
 *
 * Ordering rule: an entry leaves the registry BEFORE the kernel call that
 * could put something else at its address, and comes back (undo) only if
 * that call failed.  A reader racing with us can then see "not registered"
 * for a DAX range (its msync goes to the kernel, its memcpy to libc: slower,
 * still correct) but never "registered" for a range that no longer is DAX.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "map_legacy.h"
#include "region.h"
#include "os.h"
#include "registry.h"
#include "shim.h"

#define PUBLIC __attribute__((visibility("default")))

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4	/* Linux 5.7; shared mappings since 5.13 */
#endif

_Atomic long shim_nmaps;
_Atomic bool shim_flushing_maps;
_Atomic bool shim_pkeys_used;

static struct shim_map *Free_maps;	/* guarded by Alloc_lock */
static pthread_mutex_t Alloc_lock FORK_DATA = PTHREAD_MUTEX_INITIALIZER;

/* map_alloc -- a zeroed shim_map from the free list or shim_alloc. */
static struct shim_map *
map_alloc(void)
{
	pthread_mutex_lock(&Alloc_lock);
	struct shim_map *s = Free_maps;
	if (s)
		Free_maps = s->next_free;
	pthread_mutex_unlock(&Alloc_lock);
	if (!s && (s = shim_alloc(sizeof(*s))))
		atomic_init(&s->alias_users, 0);
	if (s) {
		/* all but alias_users (see shim.h) */
		memset(s, 0, offsetof(struct shim_map, alias_users));
		s->m.shim_data = s;
	}
	return s;
}

static struct shim_map *Stuck_maps;	/* never reused (Alloc_lock) */

/*
 * map_retire -- back to the free list (never to malloc: see shim.h).  One
 * whose alias count is not zero goes to Stuck_maps instead, never to be
 * reused: a copy through its alias never returned (alias.c), and the
 * count would never fall.
 */
static void
map_retire(struct shim_map *s)
{
	pthread_mutex_lock(&Alloc_lock);
	struct shim_map **list = atomic_load(&s->alias_users) ? &Stuck_maps :
		&Free_maps;
	s->next_free = *list;
	*list = s;
	pthread_mutex_unlock(&Alloc_lock);
}

struct fork_advice {
	uintptr_t lo, hi;
	bool dontfork;
	bool whole;	/* no memory to split: mark whole mappings */
};

/* fork_advice_one -- mark (or unmark) one entry the range covers */
static int
fork_advice_one(void *ctx, const struct registry_entry *e)
{
	const struct fork_advice *a = ctx;
	struct shim_map *s = shim_map_of(e);
	if (s && ((a->lo <= e->start && e->end <= a->hi) ||
			(a->dontfork && a->whole)))
		atomic_store(&s->dontfork, a->dontfork);
	return 0;
}

static bool split_range(uintptr_t lo, uintptr_t hi);

/*
 * A range given MADV_DONTFORK is not in a fork's child, but the child's
 * copy of the registry still lists it: a file the child maps there later
 * would have its msync served as a cache flush instead of the kernel's
 * writeback, and lose data.  So the shim mappings are split at the
 * range's ends, the pieces inside it marked, and the child drops marked
 * pieces.  The rest stays the child's to serve: on fsdax it is a
 * MAP_SYNC mapping, whose msync the kernel would not flush.  (Without
 * memory to split, whole mappings are marked: the child then leaves
 * them to the kernel -- on emulated DAX slower but safe.)  MADV_DOFORK
 * unmarks the pieces inside its range, split the same way.  Marked
 * before the kernel call: a fork racing with it must not find an entry
 * over a range its child does not have.
 */
static _Atomic bool Any_dontfork;	/* a mark was ever set: the child
					 * has something to drop */

void
shim_maps_fork_advice(uintptr_t lo, uintptr_t hi, bool dontfork)
{
	struct fork_advice a = { lo, hi, dontfork, false };
	if (dontfork)
		atomic_store(&Any_dontfork, true);
	int saved = errno;
	shim_in_hook = 1;
	registry_lock();
	a.whole = !split_range(lo, hi);
	(void) shim_each_overlap(lo, hi, fork_advice_one, &a);
	registry_unlock();
	shim_in_hook = 0;
	errno = saved;
}

/* drop_dontfork -- in a fork's child: a marked entry goes */
static bool
drop_dontfork(const struct registry_entry *e)
{
	struct shim_map *s = shim_map_of(e);
	if (!s || !atomic_load(&s->dontfork))
		return false;
	shim_alias_drop(s, false);
	atomic_fetch_sub(&shim_nmaps, 1);
	map_retire(s);
	return true;
}

void
shim_maps_atfork(int phase)
{
	shim_mutex_atfork(&Alloc_lock, phase);
	if (phase == 2 && shim_alias_atfork_child())
		for (struct shim_map *s = Free_maps; s; s = s->next_free)
			atomic_store(&s->alias_users, 0);
	if (phase == 2 && atomic_load(&Any_dontfork)) {
		/* one thread left; the registry's own child handler may not
		 * have run yet.  Without any MADV_DONTFORK a fork walks
		 * nothing. */
		registry_atfork_child();
		(void) registry_child_drop(drop_dontfork);
	}
}

struct shim_map *
shim_map_of(const struct registry_entry *e)
{
	if (e->kind != REGISTRY_MAP)
		return NULL;
	struct pmem2_map *m = e->obj;
	return m->shim_data;
}

typedef size_t (*overlaps_fn)(uintptr_t, uintptr_t, struct registry_entry *,
	size_t);

/* each_overlap -- fn for each entry overlapping [lo, hi) that find lists */
static int
each_overlap(overlaps_fn find, uintptr_t lo, uintptr_t hi,
		int (*fn)(void *ctx, const struct registry_entry *e), void *ctx)
{
	struct registry_entry ents[16];
	uintptr_t cursor = lo;
	while (cursor < hi) {
		size_t n = find(cursor, hi, ents, 16);
		size_t k = n < 16 ? n : 16;
		for (size_t i = 0; i < k; i++) {
			int ret = fn(ctx, &ents[i]);
			if (ret)
				return ret;
		}
		if (n <= 16)
			break;
		cursor = ents[15].end;
	}
	return 0;
}

int
shim_each_overlap(uintptr_t lo, uintptr_t hi,
		int (*fn)(void *ctx, const struct registry_entry *e), void *ctx)
{
	return each_overlap(registry_overlaps, lo, hi, fn, ctx);
}

/*
 * same_file_as -- t maps what s maps: the file, the address-to-offset
 * pair, the class and the MADV_DONTFORK mark (a piece split off s or s
 * moved by mremap; the caller adjusts what differs)
 */
static void
same_file_as(struct shim_map *t, const struct shim_map *s)
{
	t->dev = s->dev;
	t->ino = s->ino;
	t->base = s->base;
	t->base_off = s->base_off;
	t->cls = s->cls;
	t->flush_whole = s->flush_whole;
	t->dontfork = s->dontfork;
	t->blocked = s->blocked;
	/* a tracked mapping moved by mremap is not tracked any more */
	t->present_only = s->present_only || s->tracked;
}

/* ---- trimming with an undo log ------------------------------------ */

/*
 * The registry is pinned while a hook trims it (registry_pin): undo puts
 * the pinned copy back, which needs no memory, so it cannot fail when
 * memory has run out -- a real-DAX piece left out of the registry would
 * be a MAP_SYNC mapping whose msync the kernel serves without flushing.
 * The log keeps the shim_map objects: those taken out (freed on commit,
 * counted again on undo), the pieces split off (freed on undo), and the
 * pieces split off and taken out again by the same hook (freed either
 * way: the pinned copy never had them), in lists linked through
 * next_free, so it has no size limit.  An object is on one list at a
 * time: a piece both added and removed used to be on two, and the lists,
 * sharing next_free, ran into each other -- an undo then freed a mapping
 * still registered, and the next mapping made got the same object (a
 * mremap with MREMAP_FIXED onto its own range, which the kernel refuses;
 * found by shim_fuzz).
 */
struct undo {
	struct shim_map *removed, *added, *dropped;
};

static void
push(struct shim_map **list, struct shim_map *s)
{
	s->next_free = *list;
	*list = s;
}

/* unlink_from -- take s off list; false if it is not on it */
static bool
unlink_from(struct shim_map **list, struct shim_map *s)
{
	for (; *list; list = &(*list)->next_free)
		if (*list == s) {
			*list = s->next_free;
			return true;
		}
	return false;
}

/* retire_all -- free every object on list (registry lock held) */
static void
retire_all(struct shim_map **list)
{
	while (*list) {
		struct shim_map *s = *list;
		*list = s->next_free;
		map_retire(s);
	}
}

/*
 * piece -- s's registered [a, end) becomes [a, lo) and t (fresh from
 * map_alloc) [hi, end): the same file, tracking and protection, in one
 * registry step.  0, or -ENOMEM with t retired and s unchanged.  Registry
 * lock held, undo begun (t goes on its list).
 */
static int
piece(struct shim_map *t, struct shim_map *s, uintptr_t lo, uintptr_t hi,
		uintptr_t end, struct undo *u)
{
	same_file_as(t, s);
	t->tracked = s->tracked;
	t->protected_end = s->protected_end;
	if (map_legacy_split(&t->m, &s->m, lo, hi, end, t)) {
		map_retire(t);
		return -ENOMEM;
	}
	atomic_fetch_add(&shim_nmaps, 1);
	push(&u->added, t);
	return 0;
}

/* undo_begin -- before the first change (registry lock held) */
static void
undo_begin(struct undo *u)
{
	u->removed = u->added = u->dropped = NULL;
	registry_pin();
}

/* undo_apply -- put the registry back as it was (registry lock held). */
static void
undo_apply(struct undo *u)
{
	registry_unpin(true);
	for (struct shim_map *s = u->removed; s; s = s->next_free)
		atomic_fetch_add(&shim_nmaps, 1);
	for (struct shim_map *t = u->added; t; t = t->next_free)
		atomic_fetch_sub(&shim_nmaps, 1);
	retire_all(&u->added);
	retire_all(&u->dropped);
	u->removed = NULL;
}

/* still_mapped_one -- the part of a pinned entry inside c's range */
static int
still_mapped_one(void *ctx, const struct registry_entry *e)
{
	const uintptr_t *r = ctx;
	uintptr_t a = e->start > r[0] ? e->start : r[0];
	uintptr_t b = e->end < r[1] ? e->end : r[1];
	return shim_map_of(e) && a < b &&
		os_msync((void *)a, b - a, MS_ASYNC) != 0;
}

/*
 * undo_still_mapped -- is every shim piece that [lo, hi) covered before
 * the change still mapped?  A failed kernel call installs nothing, so a
 * piece still mapped is the old mapping.  msync(MS_ASYNC) fails with
 * ENOMEM over any unmapped page and does nothing else.
 */
static bool
undo_still_mapped(uintptr_t lo, uintptr_t hi)
{
	uintptr_t r[2] = { lo, hi };
	return each_overlap(registry_pinned_overlaps, lo, hi,
		still_mapped_one, r) == 0;
}

/* undo_commit -- keep the changes: free what was taken out. */
static void
undo_commit(struct undo *u)
{
	registry_unpin(false);
	retire_all(&u->removed);
	retire_all(&u->dropped);
	u->added = NULL;
}

struct trim_ctx {
	uintptr_t lo, hi;
	struct undo *u;
};

/* trim_one -- take [lo, hi) out of one entry; -ENOMEM on failure */
static int
trim_one(void *ctx, const struct registry_entry *e)
{
	struct trim_ctx *c = ctx;
	uintptr_t lo = c->lo, hi = c->hi;
	struct undo *u = c->u;
	struct shim_map *s = shim_map_of(e);
	if (!s)
		return 0;	/* pmem2 API objects: theirs */
	uintptr_t a = e->start, b = e->end;
	int ret = 0;
	/* the alias covers the entry as it is: it goes before the kernel
	 * call, and a copy made after it uses a new one (alias.c) */
	shim_alias_drop(s, false);
	if (lo <= a && b <= hi) {
		ret = registry_remove(&s->m);
		if (!ret) {
			atomic_fetch_sub(&shim_nmaps, 1);
			push(unlink_from(&u->added, s) ? &u->dropped :
				&u->removed, s);
		}
	} else if (lo <= a) {
		ret = registry_resize(&s->m, hi, b);
	} else if (b <= hi) {
		ret = registry_resize(&s->m, a, lo);
	} else {
		struct shim_map *t = map_alloc();
		if (!t || piece(t, s, lo, hi, b, u))
			return -ENOMEM;
	}
	return ret ? -ENOMEM : 0;
}

/*
 * leave -- flush what the shim mappings of [lo, hi) may hold before that
 * range leaves the shim, in a kernel call that unmaps it, replaces it, or
 * takes read access away: the kernel's writeback never flushes a store
 * made through a shim mapping (hooks_msync.c, "Ranges that leave the
 * shim").  Registry lock held.
 */
static void
leave(uintptr_t lo, uintptr_t hi)
{
	if (shim_flush_gone(lo, hi, true))
		shim_count(ST_UNMAP_FLUSH, 1);
}

/*
 * trim -- take [lo, hi) out of every shim mapping in the registry: whole
 * entries removed, heads and tails cut, a middle split in two.  Registry
 * lock held.  0, or -ENOMEM with everything undone.
 */
static int
trim(uintptr_t lo, uintptr_t hi, struct undo *u)
{
	struct trim_ctx c = { lo, hi, u };
	if (shim_each_overlap(lo, hi, trim_one, &c) == 0)
		return 0;
	undo_apply(u);
	return -ENOMEM;
}

/*
 * drop_if_gone -- after a failed call, the shim pieces of [lo, hi) leave
 * the registry if the kernel unmapped them before it failed: a mremap
 * with MREMAP_FIXED unmaps its destination first, and before Linux 6.17
 * then refused an old range made of several mappings (EFAULT) -- the
 * undo put the destination's pieces back, over nothing, and a file
 * mapped there later would have had its msync served as a cache flush
 * (found by shim_fuzz in the 6.12 guest).  The kernel unmaps all of it
 * or none, so one piece gone means all.  Registry lock held.
 */
static void
drop_if_gone(uintptr_t lo, uintptr_t hi)
{
	uintptr_t r[2] = { lo, hi };
	if (each_overlap(registry_overlaps, lo, hi, still_mapped_one, r) == 0)
		return;
	struct undo u;
	undo_begin(&u);
	if (trim(lo, hi, &u)) {
		undo_apply(&u);
		shim_log(1, "mremap failed, and no memory to take its "
			"unmapped destination %p out of the registry",
			(void *)lo);
	} else {
		undo_commit(&u);
	}
}

/* ---- hooks --------------------------------------------------------- */

static bool
is_takeover_candidate(int prot, int flags, int fd)
{
	int type = flags & MAP_TYPE;
	return !(flags & MAP_ANONYMOUS) && fd >= 0 && (prot & PROT_WRITE) &&
		(type == MAP_SHARED || type == MAP_SHARED_VALIDATE);
}

/*
 * pud_pages -- may this device DAX mapping hold 1 GiB pages (an alignment
 * above 2 MiB)?  Then no page-table walk may tell what to flush: Linux's
 * walkers (mincore, PAGEMAP_SCAN, /proc/self/pagemap) cannot report a
 * 1 GiB entry whole, so walk_pud_range splits it, which for DAX means
 * zapping it, and the walk goes on to call the whole GiB absent.  A flush
 * that trusted it would skip every page holding a store (seen in the DAX
 * guest: 0 bytes of a written GiB flushed).  Unknown alignment: assume so.
 */
static bool
pud_pages(const struct stat *st, const struct pmem2_source *src)
{
	size_t align;
	return S_ISCHR(st->st_mode) &&
		(region_devdax_alignment(src, &align) || align > (2u << 20));
}

/* take_over -- map a DAX file through the core (registry lock held). */
static void *
take_over(void *addr, size_t len, int prot, int flags, int fd, off_t off,
		const struct stat *st, enum shim_class cls)
{
	/*
	 * Without memory for the shim's own records the mapping is the
	 * program's own, unchanged (no MAP_SYNC, the kernel's msync): slower,
	 * as durable.  The registry's room is set aside before the mapping
	 * is made, so that registering it afterwards cannot fail for memory.
	 */
	struct shim_map *s = map_alloc();
	if (s && registry_reserve(1)) {
		map_retire(s);
		s = NULL;
	}
	if (!s)
		return os_mmap(addr, len, prot, flags, fd, off);
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->base_off = off;
	s->cls = cls;
	int ret = map_legacy_new(&s->m, addr, len, prot, flags, fd, off, st,
			cls == SHIM_REAL_DAX ? MAP_LEGACY_REAL :
			MAP_LEGACY_EMULATED, shim_cfg.emu_gran,
			&shim_real_gran);
	if (ret < 0) {
		map_retire(s);
		errno = -ret;
		return MAP_FAILED;
	}
	s->base = (uintptr_t)s->m.addr;
	s->flush_whole = pud_pages(st, &s->m.source);
	void *p = s->m.addr;
	if (ret == 1) {
		map_retire(s);
		shim_count(ST_MAPS_NOT_REG, 1);
	} else {
		/*
		 * Emulated DAX only: see dirty.c.  Nothing was stored through
		 * the mapping yet, so protecting it loses nothing.  At most
		 * the pages inside the file are protected (shim_dirty_track
		 * says how much it did): protection puts a marker in every
		 * page-table entry of the range, which munmap clears again,
		 * and programs map far past their file's end (tcamgr: 64 MiB
		 * for a 0.5 MiB file, in each of its 121 processes, where
		 * this was a third of its time).  A page left unprotected is
		 * seen written the first time it is mapped, even by a load:
		 * flushed once, never missed.
		 */
		size_t map_len = ALIGN_UP(len, Pagesize);
		size_t protect = st->st_size > off ? ALIGN_UP((size_t)
			(st->st_size - off), Pagesize) : 0;
		if (protect > map_len)
			protect = map_len;
		if (cls == SHIM_EMULATED_DAX && s->m.persist_granularity ==
				PMEM2_GRANULARITY_CACHE_LINE &&
				shim_dirty_track(p, map_len, &protect)) {
			s->tracked = true;
			s->protected_end = (uintptr_t)p + protect;
			shim_count(ST_MAPS_TRACKED, 1);
		}
		if (s->m.persist_granularity != PMEM2_GRANULARITY_BYTE &&
				!atomic_load_explicit(&shim_flushing_maps,
					memory_order_relaxed))
			atomic_store(&shim_flushing_maps, true);
		atomic_fetch_add(&shim_nmaps, 1);
		shim_count(ST_MAPS_TAKEN, 1);
		if (cls == SHIM_REAL_DAX)
			shim_count(ST_MAPS_REAL, 1);
	}
	shim_log(3, "mmap(%p, %zu, fd %d, off %lld) = %p: %s%s", addr, len,
		fd, (long long)off, p, ret ? "left to the kernel (no MAP_SYNC)" :
		map_granularity_name(s->m.effective_granularity),
		ret || s->m.persist_granularity ==
		s->m.effective_granularity ? "" : s->m.persist_granularity ==
		PMEM2_GRANULARITY_BYTE ? ", not flushed (PMEM_NO_FLUSH=1)" :
		", flushed all the same (PMEM_NO_FLUSH=0)");
	return p;
}

PUBLIC void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	bool replace = (flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE);
	bool over = replace && registry_may_overlap(addr, len);
	if (shim_in_hook || (!over && !is_takeover_candidate(prot, flags, fd)))
		return os_mmap(addr, len, prot, flags, fd, off);
	int saved = errno;
	shim_init();
	enum shim_class cls = SHIM_NOT_DAX;
	struct stat st;
	struct shim_ident id;
	shim_in_hook = 1;
	if (shim_cfg.enabled && len && IS_ALIGNED((uintptr_t)off, Pagesize) &&
			is_takeover_candidate(prot, flags, fd) &&
			shim_fstat(fd, &st, &id) == 0 &&
			(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)))
		cls = shim_classify(fd, &st, &id);
	if (!over && cls == SHIM_NOT_DAX) {
		shim_in_hook = 0;
		errno = saved;
		return os_mmap(addr, len, prot, flags, fd, off);
	}
	struct undo u;
	void *p;
	registry_lock();
	undo_begin(&u);
	if (over) {
		shim_count(ST_UNMAPS, 1);
		leave((uintptr_t)addr, (uintptr_t)addr + ALIGN_UP(len, Pagesize));
		if (trim((uintptr_t)addr, (uintptr_t)addr +
				ALIGN_UP(len, Pagesize), &u)) {
			registry_unlock();
			shim_in_hook = 0;
			errno = ENOMEM;
			return MAP_FAILED;
		}
	}
	errno = saved;
	if (cls != SHIM_NOT_DAX)
		p = take_over(addr, len, prot, flags, fd, off, &st, cls);
	else
		p = os_mmap(addr, len, prot, flags, fd, off);
	int e = errno;
	/*
	 * A failed MAP_FIXED usually left the old mappings alone (a bad fd,
	 * offset or access mode is refused before anything changes): they
	 * are the shim's again.  On fsdax they are MAP_SYNC mappings, and
	 * the kernel's msync would never flush their stores.  But a failure
	 * late in the kernel call may have unmapped them already: an entry
	 * back in the registry over nothing, or over a later mapping of
	 * another file, would turn that file's msync into a cache flush.
	 * So only when every trimmed piece is still mapped.
	 */
	if (p == MAP_FAILED && over && undo_still_mapped((uintptr_t)addr,
			(uintptr_t)addr + ALIGN_UP(len, Pagesize)))
		undo_apply(&u);
	else
		undo_commit(&u);
	registry_unlock();
	shim_in_hook = 0;
	errno = e;
	return p;
}

PUBLIC void *
mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
	__attribute__((alias("mmap")));

/* a kernel call that unmaps a range: munmap, or mremap shrinking */
struct unmap_call {
	void *addr;
	size_t len, new_len;
	int flags;
	void *result;	/* mremap's */
};

static int
call_munmap(struct unmap_call *k)
{
	return os_munmap(k->addr, k->len);
}

static int
call_shrink(struct unmap_call *k)
{
	k->result = os_mremap(k->addr, k->len, k->new_len, k->flags, NULL);
	return k->result == MAP_FAILED ? -1 : 0;
}

/*
 * unmap_range -- [lo, hi) leaves the registry (flushed first), then the
 * kernel call that unmaps it, with the registry lock held; if it fails,
 * the registry is put back.  0, or -1 with errno (the call's, or ENOMEM
 * when the registry could not be cut).
 */
static int
unmap_range(uintptr_t lo, uintptr_t hi, int (*call)(struct unmap_call *),
		struct unmap_call *k)
{
	shim_count(ST_UNMAPS, 1);
	int saved = errno;
	struct undo u;
	shim_in_hook = 1;
	registry_lock();
	undo_begin(&u);
	leave(lo, hi);
	if (trim(lo, hi, &u)) {
		registry_unlock();
		shim_in_hook = 0;
		errno = ENOMEM;
		return -1;
	}
	int ret = call(k);
	int e = errno;
	if (ret)
		undo_apply(&u);
	else
		undo_commit(&u);
	registry_unlock();
	shim_in_hook = 0;
	errno = ret ? e : saved;
	return ret;
}

/* munmap -- unmap_range; libc's errno contract */
PUBLIC int
munmap(void *addr, size_t len)
{
	if (shim_in_hook || !registry_may_overlap(addr, len) ||
			!IS_ALIGNED((uintptr_t)addr, Pagesize))
		return os_munmap(addr, len);
	struct unmap_call k = { .addr = addr, .len = len };
	uintptr_t lo = (uintptr_t)addr;
	return unmap_range(lo, lo + ALIGN_UP(len, Pagesize), call_munmap, &k);
}

/*
 * The shim pieces of a range mremap moves, each with its own state
 * (blocked by mprotect, MADV_DONTFORK): Linux 6.17 and later move a
 * range made of several kernel mappings, and each piece must come back
 * as it was, at the same offset in the result -- and what was no shim
 * mapping must stay out.  (Cloned whole from the piece at the old
 * address, a PROT_NONE piece came back served, and flushed: SIGSEGV.)
 */
#define MOVED_MAX 8
struct moved {
	size_t n;
	bool too_many;
	struct moved_piece {
		uintptr_t a, b;		/* its part of the old range */
		struct shim_map from;	/* its state, copied */
		struct shim_map *t;	/* its record in the result */
	} p[MOVED_MAX];
};

/* moved_one -- note one shim piece the old range overlaps */
static int
moved_one(void *ctx, const struct registry_entry *e)
{
	struct moved *mv = ctx;
	struct shim_map *s = shim_map_of(e);
	if (!s)
		return 0;
	if (mv->n == MOVED_MAX) {
		mv->too_many = true;
		return 1;
	}
	struct moved_piece *q = &mv->p[mv->n++];
	q->a = e->start;
	q->b = e->end;
	/* field by field: other threads may be changing its atomic flags;
	 * and trim may retire s */
	same_file_as(&q->from, s);
	q->from.m = s->m;
	q->t = NULL;
	return 0;
}

/* moved_retire -- the records set aside for the result, unused */
static void
moved_retire(struct moved *mv)
{
	for (size_t i = 0; i < mv->n; i++)
		if (mv->p[i].t)
			map_retire(mv->p[i].t);
}

/*
 * moved_register -- the pieces of the old range [old, old + ol) at the
 * result [p, p + len): each piece at its offset, the one that ends the
 * range stretched or cut to the result's end (registry lock held;
 * records and room set aside before the call).  A duplicate (dup: the
 * old range stays) is all the piece at old.
 */
static void
moved_register(struct moved *mv, uintptr_t old, size_t ol, uintptr_t p,
		size_t len, bool dup)
{
	size_t nl = ALIGN_UP(len, Pagesize);
	for (size_t i = 0; i < mv->n; i++) {
		struct moved_piece *q = &mv->p[i];
		uintptr_t a = q->a < old ? old : q->a;
		uintptr_t b = q->b > old + ol || dup ? old + ol : q->b;
		uintptr_t na = p + (a - old);
		uintptr_t nb = b == old + ol ? p + nl : p + (b - old);
		if (nb > p + nl)
			nb = p + nl;
		struct shim_map *t = q->t;
		if (na >= nb) {
			map_retire(t);
			continue;
		}
		same_file_as(t, &q->from);
		t->base = na;
		t->base_off = q->from.base_off + (off_t)(a - q->from.base);
		if (map_legacy_clone(&t->m, &q->from.m, (void *)na,
				nb == p + nl ? len - (na - p) : nb - na, t)) {
			/* only a pmem2 API object over the new range can
			 * refuse it now (memory was set aside) */
			shim_log(1, "mremap: %p not registered", (void *)na);
			map_retire(t);
		} else {
			atomic_fetch_add(&shim_nmaps, 1);
		}
	}
}

/*
 * mremap -- the old range leaves the registry (it moves or grows), the
 * result comes back as new mappings of the same files at the same
 * offsets (struct moved).
 * A shrink in place is a munmap of the tail: the kernel makes it over
 * any number of mappings (a move or a growth needs the old range inside
 * one), and the pages that stay keep what they are -- blocked by
 * mprotect, tracked, or not the shim's at all.  (Taken for one mapping,
 * all of it cloned from the first, a PROT_NONE piece came back served
 * and flushed: SIGSEGV.  Found by shim_fuzz.)
 */
PUBLIC void *
mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	bool src_dax = registry_may_overlap(old, old_len ? old_len : 1);
	bool dst_dax = (flags & MREMAP_FIXED) &&
		registry_may_overlap(new_addr, new_len);
	if (shim_in_hook || (!src_dax && !dst_dax) ||
			!IS_ALIGNED((uintptr_t)old, Pagesize))
		return os_mremap(old, old_len, new_len, flags, new_addr);
	size_t nl = ALIGN_UP(new_len, Pagesize);
	size_t ol = ALIGN_UP(old_len, Pagesize);
	uintptr_t o = (uintptr_t)old, d = (uintptr_t)new_addr;
	if (!(flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) && nl && nl <= ol &&
			o + ol > o) {
		struct unmap_call k = { .addr = old, .len = old_len,
			.new_len = new_len, .flags = flags };
		return unmap_range(o + nl, o + ol, call_shrink, &k) ?
			MAP_FAILED : k.result;
	}
	int saved = errno;
	struct undo u;
	shim_in_hook = 1;
	/*
	 * The result is never tracked (present_only below): the tracking of
	 * the old range ends first.  Linux 6.17 and later move a range that
	 * spans several kernel mappings (a PROT_NONE page in it, say), but
	 * not where a userfaultfd is registered: with the shim's
	 * registration left on, such a move failed with EFAULT where it
	 * succeeds without the shim (found by shim_fuzz).  A duplicate
	 * (old_len 0) leaves the old range as it is.
	 */
	if (src_dax && old_len)
		shim_dirty_release(o, o + ol, "mremap moves it");
	registry_lock();
	undo_begin(&u);
	shim_count(ST_UNMAPS, 1);
	/* the pieces that move (a duplicate, old_len 0: the one at old) */
	struct moved mv = { 0 };
	if (src_dax)
		(void) shim_each_overlap(o, o + (old_len ? ol : Pagesize),
			moved_one, &mv);
	/* what the call replaces or cuts off leaves the shim */
	if (dst_dax)
		leave(d, d + nl);
	if (nl < ol)
		leave(o + nl, o + ol);
	int ret = 0;
	if (dst_dax)
		ret = trim(d, d + nl, &u);
	/* MREMAP_DONTUNMAP leaves the old range mapped, with no pages: it
	 * stays the shim's, or stores there would never be flushed (a
	 * MAP_SYNC mapping: the kernel's msync would not) */
	if (!ret && old_len && !(flags & MREMAP_DONTUNMAP))
		ret = trim(o, o + ol, &u);
	/*
	 * The result's records and their room in the registry, before the
	 * kernel call: after it, the moved mappings must be registered.  On
	 * fsdax they are still MAP_SYNC mappings, whose stores the kernel's
	 * msync would never flush, and with no fd they cannot be mapped
	 * again without MAP_SYNC.  No memory (or more than MOVED_MAX pieces
	 * in one move): ENOMEM, nothing changed.
	 */
	if (mv.too_many)
		ret = -ENOMEM;
	for (size_t i = 0; i < mv.n && !ret; i++)
		if (!(mv.p[i].t = map_alloc()))
			ret = -ENOMEM;
	if (!ret && mv.n && registry_reserve(mv.n))
		ret = -ENOMEM;
	if (ret) {
		moved_retire(&mv);
		undo_apply(&u);
		registry_unlock();
		shim_in_hook = 0;
		errno = ENOMEM;
		return MAP_FAILED;
	}
	void *p = os_mremap(old, old_len, new_len, flags, new_addr);
	int err = errno;
	if (p == MAP_FAILED) {
		undo_apply(&u);
		moved_retire(&mv);
		if (dst_dax)
			drop_if_gone(d, d + nl);
	} else {
		undo_commit(&u);
		/* the marks (MADV_DONTFORK, blocked) move with the kernel's
		 * mappings too */
		moved_register(&mv, o, old_len ? ol : nl, (uintptr_t)p,
				new_len, !old_len);
	}
	registry_unlock();
	shim_in_hook = 0;
	errno = p == MAP_FAILED ? err : saved;
	return p;
}

/* call_protect -- args: prot, pkey (-1: plain mprotect) */
static int
call_protect(void *addr, size_t len, const int *args)
{
	return (int)(args[1] == -1 ?
		syscall(SYS_mprotect, addr, len, args[0]) :
		syscall(SYS_pkey_mprotect, addr, len, args[0], args[1]));
}

/*
 * ban_alias_one -- no more mover alias for one entry (alias.c); *ctx set
 * if it is a blocked piece
 */
static int
ban_alias_one(void *ctx, const struct registry_entry *e)
{
	struct shim_map *s = shim_map_of(e);
	if (s) {
		shim_alias_drop(s, true);
		if (!shim_served(s))
			*(bool *)ctx = true;
	}
	return 0;
}

/*
 * split_at -- make x the start of a registry entry if a shim mapping
 * covers it (registry lock held, u begun): 0, or -ENOMEM (undo puts the
 * registry back).
 */
static int
split_at(uintptr_t x, struct undo *u)
{
	struct registry_entry e;
	struct shim_map *s;
	if (!registry_lookup((void *)x, &e) || e.start == x ||
			!(s = shim_map_of(&e)))
		return 0;
	struct shim_map *t = map_alloc();
	if (!t)
		return -ENOMEM;
	shim_alias_drop(s, false);
	return piece(t, s, x, x, e.end, u);
}

/*
 * split_range -- make lo and hi ends of registry entries where shim
 * mappings cover them (registry lock held): false when there was no
 * memory, with nothing changed.
 */
static bool
split_range(uintptr_t lo, uintptr_t hi)
{
	struct undo u;
	undo_begin(&u);
	if (split_at(lo, &u) || split_at(hi, &u)) {
		undo_apply(&u);
		return false;
	}
	undo_commit(&u);
	return true;
}

struct block_ctx {
	unsigned set, clear;	/* SHIM_BLOCK_* */
	bool dropped, restored;
};

/* mark_one -- set, then clear, c's marks on a piece inside the range */
static int
mark_one(void *ctx, const struct registry_entry *e)
{
	struct block_ctx *c = ctx;
	struct shim_map *s = shim_map_of(e);
	if (!s)
		return 0;
	unsigned old = atomic_load(&s->blocked);
	unsigned now = (old | c->set) & ~c->clear;
	atomic_store(&s->blocked, (unsigned char)now);
	/* counted: msync leaving the shim, or coming back */
	old &= SHIM_BLOCK_PROT;
	now &= SHIM_BLOCK_PROT;
	c->dropped |= !old && now;
	c->restored |= old && !now;
	return 0;
}

/*
 * protect -- mprotect and pkey_mprotect.  The shim flushes a mapping's
 * pages with CLWB from user space, and CLWB needs the access a load
 * needs: on a page the program made inaccessible it raises SIGSEGV where
 * the kernel's msync would succeed.  On x86 that is a page with neither
 * read nor write access (a writable page is readable).  Such a range is
 * flushed first (what was stored so far) and its pieces are marked
 * blocked (shim.h): its msync goes to the kernel and copies into it to
 * libc.  The pieces stay in the registry, so that giving access back
 * serves them again: on fsdax the kernel's msync would not flush a store
 * to them, since a MAP_SYNC mapping's write faults leave the page clean
 * (hooks_msync.c).  A protection key other than the default marks the
 * pieces too, but only copies leave the shim (the mover's alias has the
 * default key): flushes open PKRU for themselves (shim_pkru_open), since
 * the key's rights change with WRPKRU, without a system call.  The marks
 * change after the kernel call, under the registry lock (which every
 * flush of another mapping takes; a flush of the same range racing with
 * the call is the program's own race, as a load there would be).  If the
 * call fails, access is taken away anyway unless the kernel refused it as
 * a whole (EINVAL): other failures can come after some of the range was
 * already changed; access is given back only on success.
 */
static int
protect(void *addr, size_t len, int prot, int pkey)
{
	int args[2] = { prot, pkey };
	uintptr_t lo = (uintptr_t)addr, hi = lo + ALIGN_UP(len, Pagesize);
	bool access = prot & (PROT_READ | PROT_WRITE);
	struct block_ctx c = {
		.set = (access ? 0 : SHIM_BLOCK_PROT) |
			(pkey > 0 ? SHIM_BLOCK_PKEY : 0),
		.clear = (access ? SHIM_BLOCK_PROT : 0) |
			(pkey == 0 ? SHIM_BLOCK_PKEY : 0),
	};
	if (shim_in_hook || !IS_ALIGNED(lo, Pagesize) || hi <= lo ||
			!registry_may_overlap(addr, len))
		return call_protect(addr, len, args);
	int saved = errno;
	shim_in_hook = 1;
	registry_lock();
	/* any change of protection: the mover's alias would keep write
	 * access the program may be taking away (alias.c) */
	bool blocked = false;
	(void) shim_each_overlap(lo, hi, ban_alias_one, &blocked);
	if (!c.set && !blocked) {
		/* access kept, and nothing to give back */
		registry_unlock();
		shim_in_hook = 0;
		errno = saved;
		return call_protect(addr, len, args);
	}
	if (c.set & SHIM_BLOCK_PROT)
		leave(lo, hi);
	if (!split_range(lo, hi)) {
		registry_unlock();
		shim_in_hook = 0;
		errno = ENOMEM;
		return -1;
	}
	int ret = call_protect(addr, len, args);
	int e = errno;
	if (ret)
		c.clear = 0;
	/* a key set: PKRU exists (RDPKRU would raise SIGILL otherwise) */
	if (!ret && (c.set & SHIM_BLOCK_PKEY))
		atomic_store_explicit(&shim_pkeys_used, true,
				memory_order_release);
	if (!ret || e != EINVAL)
		(void) shim_each_overlap(lo, hi, mark_one, &c);
	registry_unlock();
	shim_in_hook = 0;
	if (c.dropped)
		shim_count(ST_PROTECT_DROPS, 1);
	if (c.restored)
		shim_count(ST_PROTECT_RESTORES, 1);
	errno = ret ? e : saved;
	return ret;
}

PUBLIC int
mprotect(void *addr, size_t len, int prot)
{
	return protect(addr, len, prot, -1);
}

PUBLIC int
pkey_mprotect(void *addr, size_t len, int prot, int pkey)
{
	return protect(addr, len, prot, pkey);
}

/*
 * pmemshim_mapping_granularity -- introspection (PMEMSHIM_1.0): the
 * pmem2_granularity the shim serves addr with (its flushes: PMEM_NO_FLUSH
 * applied to the mapping's store granularity), or -1 when addr is not in a
 * mapping the shim took over (its msync then goes to the kernel).
 */
PUBLIC int
pmemshim_mapping_granularity(const void *addr)
{
	struct registry_entry e;
	struct shim_map *s;
	if (!registry_lookup(addr, &e) ||
			!shim_flushable(s = shim_map_of(&e)))
		return -1;
	return (int)s->m.persist_granularity;
}
