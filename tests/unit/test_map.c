/* SPDX-License-Identifier: BSD-3-Clause */
/* test_map.c -- pmem2_map_new/delete/from_existing, granularity decisions
 * and every error code of pmem2_map_new(3). */
#include <stdint.h>
#include <sys/mman.h>

#include "map.h"
#include "registry.h"
#include "ut_common.h"

#define PG ((size_t)4096)

struct fixture {
	int fd;
	struct pmem2_source *src;
	struct pmem2_config *cfg;
	struct pmem2_map *map;
};

static struct fixture F;

static void
open_file(size_t size, int flags)
{
	F.fd = ut_tmpfile(size, flags);
	ut_assert_ok(pmem2_source_from_fd(&F.src, F.fd));
	ut_assert_ok(pmem2_config_new(&F.cfg));
}

static void
teardown(void)
{
	if (F.map)
		pmem2_map_delete(&F.map);
	pmem2_source_delete(&F.src);
	pmem2_config_delete(&F.cfg);
	if (F.fd > 0)
		close(F.fd);
}

TestSuite(map, .fini = teardown);

Test(map, granularity_not_set)
{
	open_file(PG, O_RDWR);
	ut_assert_err(pmem2_map_new(&F.map, F.cfg, F.src),
		PMEM2_E_GRANULARITY_NOT_SET);
	cr_assert_null(F.map);
}

Test(map, empty_source)
{
	open_file(0, O_RDWR);
	pmem2_config_set_required_store_granularity(F.cfg, PMEM2_GRANULARITY_PAGE);
	ut_assert_err(pmem2_map_new(&F.map, F.cfg, F.src), PMEM2_E_SOURCE_EMPTY);
}

Test(map, offset_and_length_checks)
{
	open_file(4 * PG, O_RDWR);
	pmem2_config_set_required_store_granularity(F.cfg, PMEM2_GRANULARITY_PAGE);
	pmem2_config_set_offset(F.cfg, 100);
	ut_assert_err(pmem2_map_new(&F.map, F.cfg, F.src),
		PMEM2_E_OFFSET_UNALIGNED);
	pmem2_config_set_offset(F.cfg, PG);
	pmem2_config_set_length(F.cfg, 100);
	ut_assert_err(pmem2_map_new(&F.map, F.cfg, F.src),
		PMEM2_E_LENGTH_UNALIGNED);
	pmem2_config_set_length(F.cfg, 4 * PG);
	ut_assert_err(pmem2_map_new(&F.map, F.cfg, F.src), PMEM2_E_MAP_RANGE);
	pmem2_config_set_offset(F.cfg, 8 * PG);
	pmem2_config_set_length(F.cfg, 0);
	ut_assert_err(pmem2_map_new(&F.map, F.cfg, F.src), PMEM2_E_MAP_RANGE);
	pmem2_config_set_offset(F.cfg, PG);
	pmem2_config_set_length(F.cfg, 2 * PG);
	ut_assert_ok(pmem2_map_new(&F.map, F.cfg, F.src));
	cr_assert_eq(pmem2_map_get_size(F.map), 2 * PG);
	cr_assert_str_empty(pmem2_errormsg());
}

Test(map, whole_file_and_offset_to_end)
{
	open_file(4 * PG, O_RDWR);
	pmem2_config_set_required_store_granularity(F.cfg, PMEM2_GRANULARITY_PAGE);
	pmem2_config_set_offset(F.cfg, PG);
	ut_assert_ok(pmem2_map_new(&F.map, F.cfg, F.src));
	cr_assert_eq(pmem2_map_get_size(F.map), 3 * PG);
	/* the mapping starts at file offset PG */
	cr_assert(pwrite(F.fd, "xyz", 3, PG) == 3);
	cr_assert_eq(memcmp(pmem2_map_get_address(F.map), "xyz", 3), 0);
}

Test(map, tmpfs_is_page_granularity)
{
	unsetenv("PMEM2_FORCE_GRANULARITY");
	open_file(PG, O_RDWR);
	pmem2_config_set_required_store_granularity(F.cfg,
		PMEM2_GRANULARITY_CACHE_LINE);
	size_t before = registry_count();
	ut_assert_err(pmem2_map_new(&F.map, F.cfg, F.src),
		PMEM2_E_GRANULARITY_NOT_SUPPORTED);
	cr_assert(strstr(pmem2_errormsg(), "PMEM2_FORCE_GRANULARITY"),
		"the message says what to do: %s", pmem2_errormsg());
	cr_assert_eq(registry_count(), before, "nothing left registered");
	pmem2_config_set_required_store_granularity(F.cfg,
		PMEM2_GRANULARITY_BYTE);
	ut_assert_err(pmem2_map_new(&F.map, F.cfg, F.src),
		PMEM2_E_GRANULARITY_NOT_SUPPORTED);
	pmem2_config_set_required_store_granularity(F.cfg,
		PMEM2_GRANULARITY_PAGE);
	ut_assert_ok(pmem2_map_new(&F.map, F.cfg, F.src));
	cr_assert_eq(pmem2_map_get_store_granularity(F.map),
		PMEM2_GRANULARITY_PAGE);
	cr_assert_not(F.map->map_sync, "tmpfs refuses MAP_SYNC");
}

Test(map, forced_granularity)
{
	const char *vals[] = { "CACHE_LINE", "cache_line", "CacheLine",
		"BYTE", "page" };
	enum pmem2_granularity want[] = { PMEM2_GRANULARITY_CACHE_LINE,
		PMEM2_GRANULARITY_CACHE_LINE, PMEM2_GRANULARITY_CACHE_LINE,
		PMEM2_GRANULARITY_BYTE, PMEM2_GRANULARITY_PAGE };
	open_file(PG, O_RDWR);
	pmem2_config_set_required_store_granularity(F.cfg,
		PMEM2_GRANULARITY_PAGE);
	for (int i = 0; i < 5; i++) {
		setenv("PMEM2_FORCE_GRANULARITY", vals[i], 1);
		ut_assert_ok(pmem2_map_new(&F.map, F.cfg, F.src));
		cr_assert_eq(pmem2_map_get_store_granularity(F.map), want[i],
			"%s", vals[i]);
		ut_assert_ok(pmem2_map_delete(&F.map));
	}
	/* garbage is ignored: detection decides (PAGE on tmpfs) */
	setenv("PMEM2_FORCE_GRANULARITY", "CACHE_LINES", 1);
	cr_assert_eq(map_force_granularity(), PMEM2_GRANULARITY_INVALID);
	ut_assert_ok(pmem2_map_new(&F.map, F.cfg, F.src));
	cr_assert_eq(pmem2_map_get_store_granularity(F.map),
		PMEM2_GRANULARITY_PAGE);
}

Test(map, shared_writes_reach_the_file)
{
	setenv("PMEM2_FORCE_GRANULARITY", "CACHE_LINE", 1);
	open_file(2 * PG, O_RDWR);
	pmem2_config_set_required_store_granularity(F.cfg,
		PMEM2_GRANULARITY_CACHE_LINE);
	ut_assert_ok(pmem2_map_new(&F.map, F.cfg, F.src));
	char *p = pmem2_map_get_address(F.map);
	pmem2_memcpy_fn cpy = pmem2_get_memcpy_fn(F.map);
	cpy(p + 100, "persistent", 10, 0);
	pmem2_get_persist_fn(F.map)(p + 100, 10);
	ut_assert_ok(pmem2_map_delete(&F.map));
	char buf[10];
	cr_assert(pread(F.fd, buf, 10, 100) == 10);
	cr_assert_eq(memcmp(buf, "persistent", 10), 0);
}

Test(map, private_mapping_leaves_file_alone)
{
	unsetenv("PMEM2_FORCE_GRANULARITY");
	open_file(PG, O_RDWR);
	pmem2_config_set_required_store_granularity(F.cfg,
		PMEM2_GRANULARITY_BYTE);
	pmem2_config_set_sharing(F.cfg, PMEM2_PRIVATE);
	ut_assert_ok(pmem2_map_new(&F.map, F.cfg, F.src));
	cr_assert_eq(pmem2_map_get_store_granularity(F.map),
		PMEM2_GRANULARITY_BYTE);
	memset(pmem2_map_get_address(F.map), 'x', PG);
	char c;
	cr_assert(pread(F.fd, &c, 1, 0) == 1);
	cr_assert_eq(c, 0);
}

Test(map, anonymous_is_byte)
{
	struct pmem2_source *src;
	ut_assert_ok(pmem2_source_from_anon(&src, 3 * PG + 5));
	ut_assert_ok(pmem2_config_new(&F.cfg));
	pmem2_config_set_required_store_granularity(F.cfg,
		PMEM2_GRANULARITY_BYTE);
	ut_assert_ok(pmem2_map_new(&F.map, F.cfg, src));
	cr_assert_eq(pmem2_map_get_size(F.map), 3 * PG + 5);
	cr_assert_eq(pmem2_map_get_store_granularity(F.map),
		PMEM2_GRANULARITY_BYTE);
	memset(pmem2_map_get_address(F.map), 1, 3 * PG + 5);
	pmem2_source_delete(&src);
}

Test(map, protection)
{
	open_file(PG, O_RDONLY);
	pmem2_config_set_required_store_granularity(F.cfg,
		PMEM2_GRANULARITY_PAGE);
	/* default READ|WRITE on a read-only descriptor */
	ut_assert_err(pmem2_map_new(&F.map, F.cfg, F.src), PMEM2_E_NO_ACCESS);
	pmem2_config_set_protection(F.cfg, PMEM2_PROT_READ);
	ut_assert_ok(pmem2_map_new(&F.map, F.cfg, F.src));
	volatile char c = *(char *)pmem2_map_get_address(F.map);
	(void) c;
	ut_assert_ok(pmem2_map_delete(&F.map));
	pmem2_config_set_protection(F.cfg, PMEM2_PROT_NONE);
	ut_assert_ok(pmem2_map_new(&F.map, F.cfg, F.src));
}

Test(map, large_mapping_is_huge_page_aligned)
{
	open_file(4 << 20, O_RDWR);
	pmem2_config_set_required_store_granularity(F.cfg,
		PMEM2_GRANULARITY_PAGE);
	ut_assert_ok(pmem2_map_new(&F.map, F.cfg, F.src));
	cr_assert_eq((uintptr_t)pmem2_map_get_address(F.map) % (2 << 20), 0);
}

Test(map, registry_and_from_existing)
{
	open_file(4 * PG, O_RDWR);
	pmem2_config_set_required_store_granularity(F.cfg,
		PMEM2_GRANULARITY_PAGE);
	ut_assert_ok(pmem2_map_new(&F.map, F.cfg, F.src));
	char *p = pmem2_map_get_address(F.map);
	struct registry_entry e;
	cr_assert(registry_lookup(p + PG, &e));
	cr_assert_eq(e.obj, F.map);
	cr_assert(registry_may_contain(p));

	/* describing a range the library already knows fails */
	struct pmem2_map *m2 = NULL;
	ut_assert_err(pmem2_map_from_existing(&m2, F.src, p + PG, PG,
			PMEM2_GRANULARITY_PAGE), PMEM2_E_MAP_EXISTS);
	ut_assert_ok(pmem2_map_delete(&F.map));
	cr_assert_not(registry_lookup(p + PG, &e), "no stale entry");

	/* a mapping made by the caller */
	char *own = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			F.fd, 0);
	cr_assert_neq(own, MAP_FAILED);
	ut_assert_ok(pmem2_map_from_existing(&m2, F.src, own, 4 * PG,
			PMEM2_GRANULARITY_PAGE));
	cr_assert_eq(pmem2_map_get_address(m2), own);
	cr_assert_eq(pmem2_map_get_size(m2), 4 * PG);
	struct pmem2_map *m3 = NULL;
	ut_assert_err(pmem2_map_from_existing(&m3, F.src, own + PG, PG,
			PMEM2_GRANULARITY_PAGE), PMEM2_E_MAP_EXISTS);
	ut_assert_err(pmem2_map_from_existing(&m3, F.src, own, PG,
			(enum pmem2_granularity)9),
		PMEM2_E_GRANULARITY_NOT_SUPPORTED);
	pmem2_get_memset_fn(m2)(own, 'q', PG, 0);
	ut_assert_ok(pmem2_map_delete(&m2));
	cr_assert_null(m2);
	/* delete did not unmap the caller's mapping */
	cr_assert_eq(own[PG - 1], 'q');
	cr_assert(munmap(own, 4 * PG) == 0);
}

Test(map, delete_twice_is_not_found)
{
	int fd = ut_tmpfile(PG, O_RDWR);
	struct pmem2_source *src;
	ut_assert_ok(pmem2_source_from_fd(&src, fd));
	char *own = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	struct pmem2_map *m, *copy;
	ut_assert_ok(pmem2_map_from_existing(&m, src, own, PG,
			PMEM2_GRANULARITY_PAGE));
	/* a second handle to the same object, deleted after the first */
	copy = malloc(sizeof(*m));
	memcpy(copy, m, sizeof(*m));
	ut_assert_ok(pmem2_map_delete(&m));
	ut_assert_err(pmem2_map_delete(&copy), PMEM2_E_MAPPING_NOT_FOUND);
	cr_assert_not_null(copy, "left unmodified on failure");
	free(copy);
	munmap(own, PG);
	pmem2_source_delete(&src);
	close(fd);
}
