/* SPDX-License-Identifier: BSD-3-Clause */
/* test_vm_reservation.c -- reservations: new/delete/extend/shrink, mapping
 * into them, the map_find family, and many threads at once. */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#include "registry.h"
#include "vm_reservation.h"
#include "ut_common.h"

#define PG ((size_t)4096)

static void
map_at(struct pmem2_map **map, struct pmem2_vm_reservation *rsv,
		size_t rsv_off, int fd, size_t len, int expect)
{
	struct pmem2_config *cfg;
	struct pmem2_source *src;
	ut_assert_ok(pmem2_config_new(&cfg));
	ut_assert_ok(pmem2_source_from_fd(&src, fd));
	pmem2_config_set_required_store_granularity(cfg, PMEM2_GRANULARITY_PAGE);
	pmem2_config_set_length(cfg, len);
	pmem2_config_set_vm_reservation(cfg, rsv, rsv_off);
	int ret = pmem2_map_new(map, cfg, src);
	cr_assert_eq(ret, expect, "map_new at %zu len %zu: %d (%s)", rsv_off,
		len, ret, pmem2_errormsg());
	if (ret)
		cr_assert_null(*map);
	pmem2_source_delete(&src);
	pmem2_config_delete(&cfg);
}

/*
 * vma_perms -- the permissions /proc/self/maps shows for addr ("" when the
 * address is not mapped).  A reservation's placeholder reads "---p".
 */
static const char *
vma_perms(void *addr)
{
	static char perms[8];
	perms[0] = '\0';
	FILE *f = fopen("/proc/self/maps", "r");
	cr_assert_not_null(f);
	unsigned long lo, hi;
	char p[8];
	while (fscanf(f, "%lx-%lx %7s%*[^\n]", &lo, &hi, p) == 3) {
		if ((uintptr_t)addr >= lo && (uintptr_t)addr < hi) {
			strcpy(perms, p);
			break;
		}
	}
	fclose(f);
	return perms;
}

Test(rsv, new_errors)
{
	struct pmem2_vm_reservation *rsv = (void *)1;
	ut_assert_err(pmem2_vm_reservation_new(&rsv, (void *)(16 * PG + 1),
			PG), PMEM2_E_ADDRESS_UNALIGNED);
	cr_assert_null(rsv);
	ut_assert_err(pmem2_vm_reservation_new(&rsv, NULL, PG + 1),
		PMEM2_E_LENGTH_UNALIGNED);
	ut_assert_err(pmem2_vm_reservation_new(&rsv, NULL, SIZE_MAX - PG + 1),
		-ENOMEM);
	cr_assert_null(rsv);
	/* an empty reservation exists (as in PMDK) and can be deleted */
	ut_assert_ok(pmem2_vm_reservation_new(&rsv, NULL, 0));
	cr_assert_eq(pmem2_vm_reservation_get_size(rsv), 0);
	ut_assert_ok(pmem2_vm_reservation_extend(rsv, 4 * PG));
	ut_assert_ok(pmem2_vm_reservation_delete(&rsv));
}

/* is_free -- nothing at all is mapped in [addr, addr + len). */
static int
is_free(void *addr, size_t len)
{
	void *p = mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
			MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	munmap(p, len);
	return p == addr;
}

Test(rsv, huge_page_alignment_and_slack)
{
	struct pmem2_vm_reservation *rsv;
	ut_assert_ok(pmem2_vm_reservation_new(&rsv, NULL, 2 * PG));
	cr_assert_eq((uintptr_t)pmem2_vm_reservation_get_address(rsv) %
		(2 << 20), 0);
	/* the placeholder covers the size rounded to 2 MiB plus 2 MiB */
	cr_assert_eq(rsv->reserv_size, 4 << 20);
	cr_assert_geq((uintptr_t)rsv->addr, (uintptr_t)rsv->reserv_addr);
	ut_assert_ok(pmem2_vm_reservation_delete(&rsv));
	ut_assert_ok(pmem2_vm_reservation_new(&rsv, NULL, (size_t)2 << 30));
	cr_assert_eq((uintptr_t)pmem2_vm_reservation_get_address(rsv) %
		(1 << 30), 0);
	void *lo = rsv->reserv_addr;
	size_t len = rsv->reserv_size;
	ut_assert_ok(pmem2_vm_reservation_delete(&rsv));
	/* delete releases the slack too */
	cr_assert(is_free(lo, len));
}

Test(rsv, new_fixed_address_noreplace)
{
	/* a fixed reservation needs its slack free too: leave room after */
	struct pmem2_vm_reservation *b, *a = new_with_room(16 * PG, 16 << 20);
	char *base = pmem2_vm_reservation_get_address(a);
	cr_assert_eq(pmem2_vm_reservation_get_size(a), 16 * PG);
	/* occupied (by a itself) */
	ut_assert_err(pmem2_vm_reservation_new(&b, base + 4 * PG, 4 * PG),
		PMEM2_E_MAPPING_EXISTS);
	ut_assert_ok(pmem2_vm_reservation_delete(&a));
	cr_assert_null(a);
	/* now free: a fixed reservation lands exactly there */
	ut_assert_ok(pmem2_vm_reservation_new(&b, base + 4 * PG, 4 * PG));
	cr_assert_eq(pmem2_vm_reservation_get_address(b), base + 4 * PG);
	ut_assert_ok(pmem2_vm_reservation_delete(&b));
}

Test(rsv, registry_tracks_reservation)
{
	size_t before = registry_count();
	struct pmem2_vm_reservation *rsv = new_with_room(8 * PG, 8 * PG);
	char *base = pmem2_vm_reservation_get_address(rsv);
	struct registry_entry e;
	cr_assert(registry_lookup(base + PG, &e));
	cr_assert_eq(e.obj, rsv);
	cr_assert_eq(e.kind, REGISTRY_RSV);
	ut_assert_ok(pmem2_vm_reservation_extend(rsv, 2 * PG));
	cr_assert(registry_lookup(base + 9 * PG, &e));
	cr_assert_eq(e.end, (uintptr_t)base + 10 * PG);
	ut_assert_ok(pmem2_vm_reservation_shrink(rsv, 0, PG));
	cr_assert_not(registry_lookup(base, &e));
	ut_assert_ok(pmem2_vm_reservation_delete(&rsv));
	cr_assert_not(registry_lookup(base + PG, &e));
	cr_assert_eq(registry_count(), before);
}

Test(rsv, map_into_and_delete_restores_placeholder)
{
	int fd = ut_tmpfile(8 * PG, O_RDWR);
	struct pmem2_vm_reservation *rsv;
	ut_assert_ok(pmem2_vm_reservation_new(&rsv, NULL, 16 * PG));
	char *base = pmem2_vm_reservation_get_address(rsv);
	struct pmem2_map *m1, *m2, *m3, *found;
	map_at(&m1, rsv, 2 * PG, fd, 4 * PG, 0);
	cr_assert_eq(pmem2_map_get_address(m1), base + 2 * PG);
	cr_assert_eq(pmem2_map_get_size(m1), 4 * PG);
	memset(base + 2 * PG, 0xab, 4 * PG); /* writable */
	cr_assert_str_eq(vma_perms(base + 2 * PG), "rw-s");
	cr_assert_str_eq(vma_perms(base + PG), "---p");
	/* overlap on either side, and exact */
	map_at(&m2, rsv, 0, fd, 3 * PG, PMEM2_E_MAPPING_EXISTS);
	map_at(&m2, rsv, 5 * PG, fd, 2 * PG, PMEM2_E_MAPPING_EXISTS);
	map_at(&m2, rsv, 2 * PG, fd, 4 * PG, PMEM2_E_MAPPING_EXISTS);
	/* past the end, unaligned offset */
	map_at(&m2, rsv, 14 * PG, fd, 4 * PG, PMEM2_E_LENGTH_OUT_OF_RANGE);
	map_at(&m2, rsv, 17 * PG, fd, PG, PMEM2_E_LENGTH_OUT_OF_RANGE);
	map_at(&m2, rsv, PG + 1, fd, PG, PMEM2_E_OFFSET_UNALIGNED);
	/* adjacent is fine */
	map_at(&m2, rsv, 6 * PG, fd, 2 * PG, 0);
	map_at(&m3, rsv, 0, fd, 2 * PG, 0);

	ut_assert_err(pmem2_vm_reservation_delete(&rsv),
		PMEM2_E_VM_RESERVATION_NOT_EMPTY);
	cr_assert_not_null(rsv);

	ut_assert_ok(pmem2_vm_reservation_map_find(rsv, 0, 16 * PG, &found));
	cr_assert_eq(found, m3);
	ut_assert_ok(pmem2_vm_reservation_map_find(rsv, 3 * PG, PG, &found));
	cr_assert_eq(found, m1);
	ut_assert_ok(pmem2_vm_reservation_map_find(rsv, 5 * PG, 4 * PG,
			&found));
	cr_assert_eq(found, m1);
	ut_assert_err(pmem2_vm_reservation_map_find(rsv, 8 * PG, 8 * PG,
			&found), PMEM2_E_MAPPING_NOT_FOUND);
	cr_assert_null(found);

	ut_assert_ok(pmem2_vm_reservation_map_find_first(rsv, &found));
	cr_assert_eq(found, m3);
	ut_assert_ok(pmem2_vm_reservation_map_find_last(rsv, &found));
	cr_assert_eq(found, m2);
	ut_assert_ok(pmem2_vm_reservation_map_find_next(rsv, m3, &found));
	cr_assert_eq(found, m1);
	ut_assert_ok(pmem2_vm_reservation_map_find_prev(rsv, m2, &found));
	cr_assert_eq(found, m1);
	ut_assert_err(pmem2_vm_reservation_map_find_next(rsv, m2, &found),
		PMEM2_E_MAPPING_NOT_FOUND);
	ut_assert_err(pmem2_vm_reservation_map_find_prev(rsv, m3, &found),
		PMEM2_E_MAPPING_NOT_FOUND);

	/* shrinking a range holding a mapping fails, the reservation stays */
	ut_assert_err(pmem2_vm_reservation_shrink(rsv, 0, PG),
		PMEM2_E_VM_RESERVATION_NOT_EMPTY);
	cr_assert_eq(pmem2_vm_reservation_get_size(rsv), 16 * PG);

	ut_assert_ok(pmem2_map_delete(&m1));
	cr_assert_null(m1);
	cr_assert_str_eq(vma_perms(base + 3 * PG), "---p");
	map_at(&m1, rsv, 2 * PG, fd, 4 * PG, 0); /* the spot is reusable */
	ut_assert_ok(pmem2_map_delete(&m1));
	ut_assert_ok(pmem2_map_delete(&m2));
	ut_assert_ok(pmem2_map_delete(&m3));
	ut_assert_err(pmem2_vm_reservation_map_find_first(rsv, &found),
		PMEM2_E_MAPPING_NOT_FOUND);
	ut_assert_err(pmem2_vm_reservation_map_find_last(rsv, &found),
		PMEM2_E_MAPPING_NOT_FOUND);
	ut_assert_ok(pmem2_vm_reservation_delete(&rsv));
	close(fd);
}

Test(rsv, map_find_empty_range_semantics)
{
	int fd = ut_tmpfile(4 * PG, O_RDWR);
	struct pmem2_vm_reservation *rsv;
	ut_assert_ok(pmem2_vm_reservation_new(&rsv, NULL, 8 * PG));
	struct pmem2_map *m, *found;
	map_at(&m, rsv, 2 * PG, fd, 2 * PG, 0);
	/* a zero-length probe asks for the mapping holding that byte */
	ut_assert_ok(pmem2_vm_reservation_map_find(rsv, 3 * PG, 0, &found));
	ut_assert_ok(pmem2_vm_reservation_map_find(rsv, 2 * PG, 0, &found));
	cr_assert_eq(found, m);
	ut_assert_err(pmem2_vm_reservation_map_find(rsv, 4 * PG, 0, &found),
		PMEM2_E_MAPPING_NOT_FOUND);
	ut_assert_err(pmem2_vm_reservation_map_find(rsv, PG, 0, &found),
		PMEM2_E_MAPPING_NOT_FOUND);
	ut_assert_err(pmem2_vm_reservation_map_find(rsv, 4 * PG, PG, &found),
		PMEM2_E_MAPPING_NOT_FOUND);
	ut_assert_ok(pmem2_vm_reservation_map_find(rsv, PG, PG + 1, &found));
	pmem2_map_delete(&m);
	pmem2_vm_reservation_delete(&rsv);
	close(fd);
}

Test(rsv, extend)
{
	/* free address space after it, so only our blocker can be in the way */
	struct pmem2_vm_reservation *rsv = new_with_room(4 * PG, 16 << 20);
	char *base = pmem2_vm_reservation_get_address(rsv);
	ut_assert_err(pmem2_vm_reservation_extend(rsv, PG - 1),
		PMEM2_E_LENGTH_UNALIGNED);
	ut_assert_ok(pmem2_vm_reservation_extend(rsv, 0));
	/* inside the slack: always possible */
	ut_assert_ok(pmem2_vm_reservation_extend(rsv, 4 * PG));
	cr_assert_eq(pmem2_vm_reservation_get_size(rsv), 8 * PG);
	cr_assert_eq(pmem2_vm_reservation_get_address(rsv), base);
	/* something right after the placeholder blocks growing past it */
	char *end = (char *)rsv->reserv_addr + rsv->reserv_size;
	size_t room = (size_t)(end - base) - 8 * PG;
	void *blocker = mmap(end, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
			MAP_FIXED_NOREPLACE, -1, 0);
	cr_assert_eq(blocker, end, "the page after the slack is taken");
	ut_assert_err(pmem2_vm_reservation_extend(rsv, room + PG),
		PMEM2_E_MAPPING_EXISTS);
	cr_assert_eq(pmem2_vm_reservation_get_size(rsv), 8 * PG);
	struct registry_entry e;
	cr_assert_not(registry_lookup(base + 8 * PG, &e),
		"a failed extend leaves the registry alone");
	munmap(blocker, PG);
	/* with the blocker gone the same extension works and maps there */
	ut_assert_ok(pmem2_vm_reservation_extend(rsv, room + PG));
	cr_assert(registry_lookup(end, &e));
	cr_assert_eq(e.obj, rsv);
	int fd = ut_tmpfile(2 * PG, O_RDWR);
	struct pmem2_map *m;
	map_at(&m, rsv, 8 * PG + room - PG, fd, 2 * PG, 0);
	cr_assert_eq(pmem2_map_get_address(m), end - PG);
	pmem2_map_delete(&m);
	pmem2_vm_reservation_delete(&rsv);
	close(fd);
}

Test(rsv, shrink_errors_and_success)
{
	struct pmem2_vm_reservation *rsv;
	ut_assert_ok(pmem2_vm_reservation_new(&rsv, NULL, 8 * PG));
	char *base = pmem2_vm_reservation_get_address(rsv);
	ut_assert_err(pmem2_vm_reservation_shrink(rsv, 1, PG),
		PMEM2_E_OFFSET_UNALIGNED);
	ut_assert_err(pmem2_vm_reservation_shrink(rsv, 0, PG + 1),
		PMEM2_E_LENGTH_UNALIGNED);
	ut_assert_err(pmem2_vm_reservation_shrink(rsv, 8 * PG, PG),
		PMEM2_E_OFFSET_OUT_OF_RANGE);
	ut_assert_err(pmem2_vm_reservation_shrink(rsv, 0, 0),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	ut_assert_err(pmem2_vm_reservation_shrink(rsv, 4 * PG, 8 * PG),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	ut_assert_err(pmem2_vm_reservation_shrink(rsv, 2 * PG, 2 * PG),
		PMEM2_E_NOSUPP);
	ut_assert_err(pmem2_vm_reservation_shrink(rsv, 0, 8 * PG),
		PMEM2_E_NOSUPP);
	cr_assert_eq(pmem2_vm_reservation_get_size(rsv), 8 * PG);
	/* from the start: the address moves up */
	struct registry_entry e;
	ut_assert_ok(pmem2_vm_reservation_shrink(rsv, 0, 2 * PG));
	cr_assert_eq(pmem2_vm_reservation_get_address(rsv), base + 2 * PG);
	cr_assert_eq(pmem2_vm_reservation_get_size(rsv), 6 * PG);
	cr_assert_not(registry_lookup(base, &e));
	/* from the end */
	ut_assert_ok(pmem2_vm_reservation_shrink(rsv, 4 * PG, 2 * PG));
	cr_assert_eq(pmem2_vm_reservation_get_size(rsv), 4 * PG);
	cr_assert_not(registry_lookup(base + 6 * PG, &e));
	pmem2_vm_reservation_delete(&rsv);

	/* whole 2 MiB units outside what is left are given back */
	size_t MB2 = 2 << 20;
	ut_assert_ok(pmem2_vm_reservation_new(&rsv, NULL, 3 * MB2));
	base = pmem2_vm_reservation_get_address(rsv);
	ut_assert_ok(pmem2_vm_reservation_shrink(rsv, 0, MB2));
	cr_assert(is_free(base, MB2), "the first 2 MiB were released");
	ut_assert_ok(pmem2_vm_reservation_shrink(rsv, MB2, MB2));
	cr_assert(is_free(base + 2 * MB2, MB2), "so were the last 2 MiB");
	cr_assert_not(is_free(base + MB2, MB2));
	pmem2_vm_reservation_delete(&rsv);
}

#define NTHREADS 8
#define PER_THREAD 64

static struct pmem2_vm_reservation *Shared;
static int Shared_fd;

/*
 * worker -- each thread owns its own slots of the shared reservation and
 * maps, checks, finds and deletes there over and over.
 */
static void *
worker(void *arg)
{
	size_t id = (size_t)arg;
	for (int round = 0; round < 20; round++) {
		struct pmem2_map *maps[PER_THREAD];
		for (size_t i = 0; i < PER_THREAD; i++) {
			size_t off = (id * PER_THREAD + i) * PG;
			map_at(&maps[i], Shared, off, Shared_fd, PG, 0);
			struct pmem2_map *f;
			ut_assert_ok(pmem2_vm_reservation_map_find(Shared, off,
					PG, &f));
			cr_assert_eq(f, maps[i]);
		}
		for (size_t i = 0; i < PER_THREAD; i++)
			ut_assert_ok(pmem2_map_delete(&maps[i]));
	}
	return NULL;
}

Test(rsv, many_threads_one_reservation)
{
	Shared_fd = ut_tmpfile(PG, O_RDWR);
	ut_assert_ok(pmem2_vm_reservation_new(&Shared, NULL,
			NTHREADS * PER_THREAD * PG));
	pthread_t t[NTHREADS];
	for (size_t i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (size_t i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	struct pmem2_map *f;
	ut_assert_err(pmem2_vm_reservation_map_find_first(Shared, &f),
		PMEM2_E_MAPPING_NOT_FOUND);
	ut_assert_ok(pmem2_vm_reservation_delete(&Shared));
	close(Shared_fd);
}

Test(rsv, thousand_mappings_in_order)
{
	enum { N = 1000 };
	int fd = ut_tmpfile(PG, O_RDWR);
	struct pmem2_vm_reservation *rsv;
	ut_assert_ok(pmem2_vm_reservation_new(&rsv, NULL, 2 * N * PG));
	static struct pmem2_map *maps[N];
	/* insert in a scrambled order; the index must still be ordered */
	for (size_t k = 0; k < N; k++) {
		size_t i = (k * 7919) % N;
		map_at(&maps[i], rsv, 2 * i * PG, fd, PG, 0);
	}
	struct pmem2_map *m;
	ut_assert_ok(pmem2_vm_reservation_map_find_first(rsv, &m));
	for (size_t i = 0; i < N; i++) {
		cr_assert_eq(m, maps[i]);
		int ret = pmem2_vm_reservation_map_find_next(rsv, m, &m);
		cr_assert_eq(ret, i + 1 < N ? 0 : PMEM2_E_MAPPING_NOT_FOUND);
	}
	for (size_t i = 0; i < N; i += 2)
		ut_assert_ok(pmem2_map_delete(&maps[i]));
	ut_assert_ok(pmem2_vm_reservation_map_find_last(rsv, &m));
	cr_assert_eq(m, maps[N - 1]);
	for (size_t i = 1; i < N; i += 2) {
		struct pmem2_map *f;
		ut_assert_ok(pmem2_vm_reservation_map_find(rsv,
				(2 * i - 1) * PG, 2 * PG, &f));
		cr_assert_eq(f, maps[i]);
		ut_assert_ok(pmem2_map_delete(&maps[i]));
	}
	ut_assert_ok(pmem2_vm_reservation_delete(&rsv));
	close(fd);
}
