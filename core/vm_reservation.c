/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vm_reservation.c -- pmem2_vm_reservation: a range of address space held by
 * an inaccessible placeholder, into which mappings are placed at offsets.
 */
#include <stdlib.h>

#include "map.h"
#include "os.h"
#include "registry.h"
#include "rsv_tree.h"
#include "vm_reservation.h"

/*
 * The getters take the read lock: another thread may extend or shrink the
 * reservation meanwhile (both rewrite addr and size under the write lock),
 * and an unsynchronised read of them is a data race (found by TSan,
 * tests/reliability/stress.c).
 */
PMEM2_API void *
pmem2_vm_reservation_get_address(struct pmem2_vm_reservation *rsv)
{
	pthread_rwlock_rdlock(&rsv->lock);
	void *addr = rsv->addr;
	pthread_rwlock_unlock(&rsv->lock);
	return addr;
}

PMEM2_API size_t
pmem2_vm_reservation_get_size(struct pmem2_vm_reservation *rsv)
{
	pthread_rwlock_rdlock(&rsv->lock);
	size_t size = rsv->size;
	pthread_rwlock_unlock(&rsv->lock);
	return size;
}

/*
 * reserve_placeholder -- map the placeholder; with addr, exactly there or
 * not at all (MAP_FIXED_NOREPLACE semantics, also on kernels that treat
 * the flag as a hint).
 */
static int
reserve_placeholder(void *addr, size_t size, void **out)
{
	void *p = os_placeholder(addr, size, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		if (e == EEXIST) {
			ERR("the range %p..%p is already (partly) mapped",
				addr, (char *)addr + size);
			return PMEM2_E_MAPPING_EXISTS;
		}
		ERR_ERRNO(e, "cannot reserve %zu bytes of address space", size);
		return -e;
	}
	if (addr && p != addr) {
		os_munmap(p, size);
		ERR("the range %p..%p is already (partly) mapped", addr,
			(char *)addr + size);
		return PMEM2_E_MAPPING_EXISTS;
	}
	*out = p;
	return 0;
}

#define MiB ((size_t)1 << 20)
#define GiB ((size_t)1 << 30)

/* rsv_align -- huge-page alignment for a reservation of this size. */
static size_t
rsv_align(size_t size)
{
	size_t align = size >= 2 * GiB ? GiB : 2 * MiB;
	return align > Pagesize ? align : Pagesize;
}

/*
 * registry_set -- make the registry's entry for rsv cover [start, start +
 * size): insert, resize or remove as the sizes require.
 */
static int
registry_set(struct pmem2_vm_reservation *rsv, uintptr_t start, size_t size)
{
	if (!rsv->size)
		return size ? registry_insert(start, start + size, rsv,
				REGISTRY_RSV, NULL) : 0;
	if (!size)
		return registry_remove(rsv);
	return registry_resize(rsv, start, start + size);
}

PMEM2_API int
pmem2_vm_reservation_new(struct pmem2_vm_reservation **rsv_ptr,
		void *addr, size_t size)
{
	core_init();
	errormsg_clear();
	*rsv_ptr = NULL;

	if (addr && !IS_ALIGNED((uintptr_t)addr, Pagesize)) {
		ERR("reservation address %p is not a multiple of the page size "
			"%zu", addr, Pagesize);
		return PMEM2_E_ADDRESS_UNALIGNED;
	}
	if (!IS_ALIGNED(size, Pagesize)) {
		ERR("reservation size %zu is not a multiple of the page size %zu",
			size, Pagesize);
		return PMEM2_E_LENGTH_UNALIGNED;
	}
	size_t align = rsv_align(size);
	size_t rsize = ALIGN_UP(size, align) + align;
	if (rsize < size) {
		ERR_ERRNO(ENOMEM, "a reservation of %zu bytes cannot exist",
			size);
		return -ENOMEM;
	}
	int ret;
	struct pmem2_vm_reservation *rsv = pmem2_zalloc(sizeof(*rsv), &ret);
	if (!rsv)
		return ret;
	void *base;
	ret = reserve_placeholder(addr, rsize, &base);
	if (ret)
		goto err_free;
	rsv->addr = addr ? addr : (void *)ALIGN_UP((uintptr_t)base, align);
	rsv->reserv_addr = base;
	rsv->reserv_size = rsize;
	rsv->align = align;
	/* rsv->size is still 0: this inserts (an empty one registers nothing) */
	ret = registry_set(rsv, (uintptr_t)rsv->addr, size);
	if (ret == -EEXIST) {
		/* a stale pmem2_map_from_existing() registration covers
		 * memory the kernel just gave us */
		ERR("the range %p..%p is registered with libpmem2 already",
			rsv->addr, (char *)rsv->addr + size);
		ret = PMEM2_E_MAPPING_EXISTS;
	}
	if (ret)
		goto err_unmap;	/* or -ENOMEM with its message */
	rsv->size = size;
	pthread_rwlock_init(&rsv->lock, NULL);
	/* the index counts pages from the start: extend only ever grows the
	 * end and shrink only moves the start up */
	rsv_tree_init(&rsv->tree, (uintptr_t)rsv->addr,
		(unsigned)__builtin_ctzl(Pagesize));
	*rsv_ptr = rsv;
	return 0;

err_unmap:
	os_munmap(base, rsize);
err_free:
	free(rsv);
	return ret;
}

PMEM2_API int
pmem2_vm_reservation_delete(struct pmem2_vm_reservation **rsv_ptr)
{
	errormsg_clear();
	struct pmem2_vm_reservation *rsv = *rsv_ptr;

	pthread_rwlock_wrlock(&rsv->lock);
	if (rsv->nmaps) {
		pthread_rwlock_unlock(&rsv->lock);
		ERR("the reservation still holds %zu mapping(s); delete them "
			"first", rsv->nmaps);
		return PMEM2_E_VM_RESERVATION_NOT_EMPTY;
	}
	/* out of the registry before the range is released, so no lookup
	 * can attribute a future mapping at this address to us */
	if (rsv->size) {
		int ret = registry_remove(rsv);
		if (ret) {	/* -ENOMEM: nothing changed */
			pthread_rwlock_unlock(&rsv->lock);
			return ret;
		}
	}
	/* the whole placeholder, slack included (PMDK leaks the slack) */
	if (os_munmap(rsv->reserv_addr, rsv->reserv_size)) {
		int e = errno;
		if (rsv->size)
			registry_insert((uintptr_t)rsv->addr,
				(uintptr_t)rsv->addr + rsv->size, rsv,
				REGISTRY_RSV, NULL);
		pthread_rwlock_unlock(&rsv->lock);
		ERR_ERRNO(e, "munmap of the reservation failed");
		return -e;
	}
	pthread_rwlock_unlock(&rsv->lock);
	pthread_rwlock_destroy(&rsv->lock);
	rsv_tree_destroy(&rsv->tree);
	free(rsv);
	*rsv_ptr = NULL;
	return 0;
}

PMEM2_API int
pmem2_vm_reservation_extend(struct pmem2_vm_reservation *rsv, size_t size)
{
	errormsg_clear();
	if (!IS_ALIGNED(size, Pagesize)) {
		ERR("extension size %zu is not a multiple of the page size %zu",
			size, Pagesize);
		return PMEM2_E_LENGTH_UNALIGNED;
	}
	pthread_rwlock_wrlock(&rsv->lock);
	int ret = 0;
	uintptr_t start = (uintptr_t)rsv->addr;
	size_t nsize = rsv->size + size;
	uintptr_t want_end = ALIGN_UP(start + nsize, rsv->align);
	uintptr_t have_end = (uintptr_t)rsv->reserv_addr + rsv->reserv_size;
	/* the new end, and its round-up to the alignment, must not wrap
	 * (a round-up can wrap back to exactly start) */
	if (nsize < size || start + nsize < start ||
			want_end < start + nsize) {
		ERR("extending by %zu bytes overflows the address space", size);
		ret = PMEM2_E_LENGTH_OUT_OF_RANGE;
		goto out;
	}
	/* beyond the slack: the next range must be free */
	void *p = NULL;
	if (want_end > have_end) {
		ret = reserve_placeholder((void *)have_end, want_end - have_end,
				&p);
		if (ret)
			goto out;
	}
	ret = registry_set(rsv, start, nsize);
	if (ret) {
		if (p)
			os_munmap(p, want_end - have_end);
		if (ret == -EEXIST) {
			ERR("the range %p..%p is registered with libpmem2 "
				"already", (void *)(start + rsv->size),
				(void *)(start + nsize));
			ret = PMEM2_E_MAPPING_EXISTS;
		}
		goto out;	/* or -ENOMEM with its message */
	}
	if (p)
		rsv->reserv_size += want_end - have_end;
	rsv->size = nsize;
out:
	pthread_rwlock_unlock(&rsv->lock);
	return ret;
}

/*
 * first_overlap -- the earliest mapping intersecting [a, b) (lock held).
 * An empty range [a, a) asks for the mapping holding a, as in PMDK.
 */
static struct pmem2_map *
first_overlap(struct pmem2_vm_reservation *rsv, uintptr_t a, uintptr_t b)
{
	struct rsv_node n;
	if (rsv_tree_floor(&rsv->tree, a, &n) && n.end > a)
		return n.start < b || a == b ? n.map : NULL;
	return rsv_tree_above(&rsv->tree, a, &n) && n.start < b ? n.map : NULL;
}

PMEM2_API int
pmem2_vm_reservation_shrink(struct pmem2_vm_reservation *rsv, size_t offset,
		size_t size)
{
	errormsg_clear();
	if (!IS_ALIGNED(offset, Pagesize)) {
		ERR("shrink offset %zu is not a multiple of the page size %zu",
			offset, Pagesize);
		return PMEM2_E_OFFSET_UNALIGNED;
	}
	if (!IS_ALIGNED(size, Pagesize)) {
		ERR("shrink size %zu is not a multiple of the page size %zu",
			size, Pagesize);
		return PMEM2_E_LENGTH_UNALIGNED;
	}
	pthread_rwlock_wrlock(&rsv->lock);
	int ret = 0;
	if (offset >= rsv->size) {
		ERR("shrink offset %zu is outside the reservation (size %zu)",
			offset, rsv->size);
		ret = PMEM2_E_OFFSET_OUT_OF_RANGE;
	} else if (size == 0 || size > rsv->size - offset) {
		ERR("shrink range (offset %zu, size %zu) is empty or runs past "
			"the reservation's end (size %zu)", offset, size,
			rsv->size);
		ret = PMEM2_E_LENGTH_OUT_OF_RANGE;
	} else if (offset != 0 && offset + size != rsv->size) {
		ERR("a reservation can only shrink from its start or its end, "
			"not the middle");
		ret = PMEM2_E_NOSUPP;
	} else if (offset == 0 && size == rsv->size) {
		ERR("shrinking the whole reservation is not supported; use "
			"pmem2_vm_reservation_delete()");
		ret = PMEM2_E_NOSUPP;
	}
	if (ret)
		goto out;

	uintptr_t a = (uintptr_t)rsv->addr + offset;
	if (first_overlap(rsv, a, a + size)) {
		ERR("the range to release (offset %zu, size %zu) holds a "
			"mapping", offset, size);
		ret = PMEM2_E_VM_RESERVATION_NOT_EMPTY;
		goto out;
	}
	uintptr_t nstart = (uintptr_t)rsv->addr + (offset ? 0 : size);
	size_t nsize = rsv->size - size;
	ret = registry_set(rsv, nstart, nsize);
	if (ret)
		goto out;
	/*
	 * Release only whole alignment units outside the new aligned range;
	 * the rest stays as slack so the alignment (and cheap extensions)
	 * survive.
	 */
	uintptr_t keep_lo = ALIGN_DOWN(nstart, rsv->align);
	uintptr_t keep_hi = ALIGN_UP(nstart + nsize, rsv->align);
	uintptr_t lo = (uintptr_t)rsv->reserv_addr;
	uintptr_t hi = lo + rsv->reserv_size;
	uintptr_t rel = 0;
	size_t rel_len = 0;
	if (keep_lo > lo) {
		rel = lo;
		rel_len = keep_lo - lo;
	} else if (keep_hi < hi) {
		rel = keep_hi;
		rel_len = hi - keep_hi;
	}
	if (rel_len && os_munmap((void *)rel, rel_len)) {
		int e = errno;
		registry_set(rsv, (uintptr_t)rsv->addr, rsv->size);
		ERR_ERRNO(e, "munmap of the released range failed");
		ret = -e;
		goto out;
	}
	if (rel_len) {
		rsv->reserv_addr = (void *)(keep_lo > lo ? keep_lo : lo);
		rsv->reserv_size -= rel_len;
	}
	rsv->addr = (void *)nstart;
	rsv->size = nsize;
out:
	pthread_rwlock_unlock(&rsv->lock);
	return ret;
}

PMEM2_API int
pmem2_vm_reservation_map_find(struct pmem2_vm_reservation *rsv,
		size_t reserv_offset, size_t len, struct pmem2_map **map)
{
	errormsg_clear();
	pthread_rwlock_rdlock(&rsv->lock);
	uintptr_t a = (uintptr_t)rsv->addr + reserv_offset;
	*map = first_overlap(rsv, a, a + len);
	pthread_rwlock_unlock(&rsv->lock);
	if (!*map) {
		ERR("no mapping in the reservation at offset %zu, length %zu",
			reserv_offset, len);
		return PMEM2_E_MAPPING_NOT_FOUND;
	}
	return 0;
}

/*
 * find_by -- the shared body of the prev/next/first/last queries: pick
 * chooses the node under the read lock.
 */
static int
find_by(struct pmem2_vm_reservation *rsv, struct pmem2_map **out,
		int (*pick)(const struct rsv_tree *, uintptr_t, struct rsv_node *),
		uintptr_t key, const char *what)
{
	errormsg_clear();
	pthread_rwlock_rdlock(&rsv->lock);
	struct rsv_node n;
	*out = pick(&rsv->tree, key, &n) ? n.map : NULL;
	pthread_rwlock_unlock(&rsv->lock);
	if (!*out) {
		ERR("no %s mapping in the reservation", what);
		return PMEM2_E_MAPPING_NOT_FOUND;
	}
	return 0;
}

static int
pick_first(const struct rsv_tree *t, uintptr_t key, struct rsv_node *out)
{
	(void) key;
	return rsv_tree_first(t, out);
}

static int
pick_last(const struct rsv_tree *t, uintptr_t key, struct rsv_node *out)
{
	(void) key;
	return rsv_tree_last(t, out);
}

PMEM2_API int
pmem2_vm_reservation_map_find_prev(struct pmem2_vm_reservation *rsv,
		struct pmem2_map *map, struct pmem2_map **prev_map)
{
	return find_by(rsv, prev_map, rsv_tree_below, (uintptr_t)map->addr,
			"previous");
}

PMEM2_API int
pmem2_vm_reservation_map_find_next(struct pmem2_vm_reservation *rsv,
		struct pmem2_map *map, struct pmem2_map **next_map)
{
	return find_by(rsv, next_map, rsv_tree_above, (uintptr_t)map->addr,
			"next");
}

PMEM2_API int
pmem2_vm_reservation_map_find_first(struct pmem2_vm_reservation *rsv,
		struct pmem2_map **map)
{
	return find_by(rsv, map, pick_first, 0, "first");
}

PMEM2_API int
pmem2_vm_reservation_map_find_last(struct pmem2_vm_reservation *rsv,
		struct pmem2_map **map)
{
	return find_by(rsv, map, pick_last, 0, "last");
}

int
rsv_acquire_range(struct pmem2_vm_reservation *rsv, size_t offset, size_t len)
{
	pthread_rwlock_wrlock(&rsv->lock);
	if (offset > rsv->size || len > rsv->size - offset) {
		ERR("the mapping (length %zu at reservation offset %zu) does "
			"not fit in the reservation (size %zu)", len, offset,
			rsv->size);
		pthread_rwlock_unlock(&rsv->lock);
		return PMEM2_E_LENGTH_OUT_OF_RANGE;
	}
	uintptr_t a = (uintptr_t)rsv->addr + offset;
	struct pmem2_map *m = first_overlap(rsv, a, a + len);
	if (m) {
		ERR("the reservation range at offset %zu, length %zu is "
			"(partly) occupied by another mapping", offset, len);
		pthread_rwlock_unlock(&rsv->lock);
		return PMEM2_E_MAPPING_EXISTS;
	}
	int ret = rsv_tree_reserve(&rsv->tree);
	if (ret)
		pthread_rwlock_unlock(&rsv->lock);
	return ret;
}

void
rsv_insert_release(struct pmem2_vm_reservation *rsv, struct pmem2_map *map)
{
	rsv_tree_insert(&rsv->tree, map, (uintptr_t)map->addr,
		(uintptr_t)map->addr + map->content_length);
	rsv->nmaps++;
	pthread_rwlock_unlock(&rsv->lock);
}

void
rsv_lock(struct pmem2_vm_reservation *rsv)
{
	pthread_rwlock_wrlock(&rsv->lock);
}

void
rsv_release(struct pmem2_vm_reservation *rsv)
{
	pthread_rwlock_unlock(&rsv->lock);
}

int
rsv_remove_locked(struct pmem2_vm_reservation *rsv, struct pmem2_map *map)
{
	if (rsv_tree_remove(&rsv->tree, map, (uintptr_t)map->addr)) {
		ERR("the mapping %p is not in the reservation", map->addr);
		return PMEM2_E_MAPPING_NOT_FOUND;
	}
	rsv->nmaps--;
	return 0;
}

struct pmem2_map *
rsv_map_at(struct pmem2_vm_reservation *rsv, const void *addr)
{
	pthread_rwlock_rdlock(&rsv->lock);
	struct rsv_node n;
	struct pmem2_map *m = rsv_tree_floor(&rsv->tree, (uintptr_t)addr, &n) &&
		(uintptr_t)addr < n.end ? n.map : NULL;
	pthread_rwlock_unlock(&rsv->lock);
	return m;
}
