/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_faults.c -- every allocation, mmap and munmap the core makes for a
 * public call fails in turn (ut_faults.h): the call reports -ENOMEM and
 * leaves the heap, the fds, the registry, the reservation and the address
 * space exactly as they were.  Covered: sources (fd, anon), config_new,
 * map_new standalone and into a reservation, map_delete of both,
 * from_existing, vm_reservation_new (anywhere and at an address), extend,
 * shrink (of the end and of whole 2 MiB units), delete; and the shim's
 * map_legacy_new, whose registry insert failing is absorbed by design
 * (the mapping stays, unregistered, its msync goes to the kernel).  The
 * RAS calls are in test_ras_badblocks.c and test_ras_region.c.
 */
#include <stdint.h>

#include <sys/mman.h>
#include <sys/stat.h>

#include "config.h"
#include "map_legacy.h"
#include "ut_faults.h"

#define PG ((size_t)4096)
#define MB2 ((size_t)2 << 20)

struct ctx {
	int fd;
	struct pmem2_source *src;
	struct pmem2_config *cfg;
	int fd4;		/* 4 MiB: a standalone mapping aligned to 2 MiB */
	struct pmem2_source *src4;
	struct pmem2_config *cfg4;
	struct pmem2_vm_reservation *rsv;
	void *hint;	/* a free 2 MiB-aligned address (hint_setup) */
};

static int
src_fd(void *v, void **out)
{
	struct ctx *c = v;
	return pmem2_source_from_fd((struct pmem2_source **)out, c->fd);
}

static int
src_anon(void *v, void **out)
{
	(void) v;
	return pmem2_source_from_anon((struct pmem2_source **)out, 64 * PG);
}

static void
src_delete(void *v, void *obj)
{
	(void) v;
	struct pmem2_source *s = obj;
	ut_assert_ok(pmem2_source_delete(&s));
}

static int
cfg_new(void *v, void **out)
{
	(void) v;
	return pmem2_config_new((struct pmem2_config **)out);
}

static void
cfg_delete(void *v, void *obj)
{
	(void) v;
	struct pmem2_config *cfg = obj;
	ut_assert_ok(pmem2_config_delete(&cfg));
}

static int
map_standalone(void *v, void **out)
{
	struct ctx *c = v;
	return pmem2_map_new((struct pmem2_map **)out, c->cfg, c->src);
}

static int
map_in_rsv(void *v, void **out)
{
	struct ctx *c = v;
	/* set directly: a setter would clear the error message */
	c->cfg->reserv = c->rsv;
	c->cfg->reserv_offset = 4 * PG;
	int ret = pmem2_map_new((struct pmem2_map **)out, c->cfg, c->src);
	c->cfg->reserv = NULL;
	return ret;
}

static int
map_big(void *v, void **out)
{
	struct ctx *c = v;
	return pmem2_map_new((struct pmem2_map **)out, c->cfg4, c->src4);
}

static int
map_del(void *v, void **obj)
{
	(void) v;
	return pmem2_map_delete((struct pmem2_map **)obj);
}

static void
map_undo(void *v, void *obj)
{
	(void) v;
	struct pmem2_map *m = obj;
	ut_assert_ok(pmem2_map_delete(&m));
}

static int
from_existing(void *v, void **out)
{
	struct ctx *c = v;
	return pmem2_map_from_existing((struct pmem2_map **)out, c->src,
			(void *)0x7000000, PG, PMEM2_GRANULARITY_PAGE);
}

static int
rsv_new(void *v, void **out)
{
	(void) v;
	return pmem2_vm_reservation_new((struct pmem2_vm_reservation **)out,
			NULL, 64 * PG);
}

/* hint_setup -- find a free, 2 MiB-aligned 6 MiB range just before use */
static int
hint_setup(void *v, void **obj)
{
	struct ctx *c = v;
	(void) obj;
	struct pmem2_vm_reservation *h;
	int ret = pmem2_vm_reservation_new(&h, NULL, 4 * MB2);
	if (ret)
		return ret;
	c->hint = (void *)(((uintptr_t)pmem2_vm_reservation_get_address(h) +
		MB2 - 1) & ~(MB2 - 1));
	return pmem2_vm_reservation_delete(&h);
}

static int
rsv_new_at(void *v, void **out)
{
	struct ctx *c = v;
	return pmem2_vm_reservation_new((struct pmem2_vm_reservation **)out,
			c->hint, 3 * MB2);
}

static int
rsv_del(void *v, void **obj)
{
	(void) v;
	return pmem2_vm_reservation_delete(
		(struct pmem2_vm_reservation **)obj);
}

static void
rsv_undo(void *v, void *obj)
{
	(void) v;
	struct pmem2_vm_reservation *r = obj;
	ut_assert_ok(pmem2_vm_reservation_delete(&r));
}

static int
rsv_extend(void *v, void **out)
{
	struct ctx *c = v;
	(void) out;
	return pmem2_vm_reservation_extend(c->rsv, 4 * PG);
}

static void
rsv_extend_undo(void *v, void *obj)
{
	struct ctx *c = v;
	(void) obj;
	ut_assert_ok(pmem2_vm_reservation_shrink(c->rsv,
		pmem2_vm_reservation_get_size(c->rsv) - 4 * PG, 4 * PG));
}

static int
rsv_shrink(void *v, void **out)
{
	struct ctx *c = v;
	(void) out;
	return pmem2_vm_reservation_shrink(c->rsv,
		pmem2_vm_reservation_get_size(c->rsv) - 4 * PG, 4 * PG);
}

static void
rsv_shrink_undo(void *v, void *obj)
{
	struct ctx *c = v;
	(void) obj;
	ut_assert_ok(pmem2_vm_reservation_extend(c->rsv, 4 * PG));
}

/* a 6 MiB reservation at the hint, shrunk by its first 2 MiB unit */
static int
big_setup(void *v, void **obj)
{
	struct ctx *c = v;
	int ret = hint_setup(v, obj);
	if (ret)
		return ret;
	return pmem2_vm_reservation_new((struct pmem2_vm_reservation **)obj,
			c->hint, 3 * MB2);
}

static int
big_shrink_front(void *v, void **obj)
{
	(void) v;
	return pmem2_vm_reservation_shrink(*obj, 0, MB2);
}

static int
big_shrink_back(void *v, void **obj)
{
	(void) v;
	return pmem2_vm_reservation_shrink(*obj, 2 * MB2, MB2);
}

static int
map_setup(void *v, void **obj)
{
	return map_standalone(v, obj);
}

static int
map_rsv_setup(void *v, void **obj)
{
	return map_in_rsv(v, obj);
}

static int
rsv_setup(void *v, void **obj)
{
	return rsv_new(v, obj);
}

/* the shim's mmap of a DAX file (emulated): 0 registered, 1 not */
static int
legacy_new(void *v, void **out)
{
	struct ctx *c = v;
	struct stat st;
	cr_assert_eq(fstat(c->fd, &st), 0);
	struct pmem2_map *m = calloc(1, sizeof(*m));
	cr_assert_not_null(m);
	int ret = map_legacy_new(m, NULL, 4 * PG, PROT_READ | PROT_WRITE,
			MAP_SHARED, c->fd, 0, &st, MAP_LEGACY_EMULATED,
			PMEM2_GRANULARITY_CACHE_LINE, NULL);
	if (ret < 0) {
		free(m);
		return ret;
	}
	cr_assert(ret == 0 || ret == 1);
	*out = m;
	return 0;
}

static void
legacy_undo(void *v, void *obj)
{
	(void) v;
	struct pmem2_map *m = obj;
	registry_remove(m);	/* -ENOENT when it was not registered */
	cr_assert_eq(munmap(m->addr, m->reserved_length), 0);
	free(m);
}

static const struct ut_fault_op Ops[] = {
	{ "source_from_fd", NULL, src_fd, NULL, src_delete },
	{ "source_from_anon", NULL, src_anon, NULL, src_delete },
	{ "config_new", NULL, cfg_new, NULL, cfg_delete },
	{ "map_new", NULL, map_standalone, NULL, map_undo },
	{ "map_new(rsv)", NULL, map_in_rsv, NULL, map_undo },
	{ "map_new(4 MiB)", NULL, map_big, NULL, map_undo },
	{ "map_delete", map_setup, map_del, map_undo, NULL },
	{ "map_delete(rsv)", map_rsv_setup, map_del, map_undo, NULL },
	{ "from_existing", NULL, from_existing, NULL, map_undo },
	{ "rsv_new", NULL, rsv_new, NULL, rsv_undo },
	{ "rsv_new(addr)", hint_setup, rsv_new_at, NULL, rsv_undo },
	{ "rsv_delete", rsv_setup, rsv_del, rsv_undo, NULL },
	{ "rsv_extend", NULL, rsv_extend, NULL, rsv_extend_undo },
	{ "rsv_shrink", NULL, rsv_shrink, NULL, rsv_shrink_undo },
	{ "map_legacy_new", NULL, legacy_new, NULL, legacy_undo },
	{ "rsv_shrink(front 2M)", big_setup, big_shrink_front, rsv_undo,
		rsv_undo },
	{ "rsv_shrink(back 2M)", big_setup, big_shrink_back, rsv_undo,
		rsv_undo },
};

Test(faults, each_site_fails_cleanly)
{
	struct ctx c;
	c.fd = ut_tmpfile(8 * PG, O_RDWR);
	ut_assert_ok(pmem2_source_from_fd(&c.src, c.fd));
	ut_assert_ok(pmem2_config_new(&c.cfg));
	pmem2_config_set_required_store_granularity(c.cfg,
		PMEM2_GRANULARITY_PAGE);
	pmem2_config_set_length(c.cfg, 4 * PG);
	c.rsv = new_with_room(16 * PG, 16 * PG);
	c.fd4 = ut_tmpfile(2 * MB2, O_RDWR);
	ut_assert_ok(pmem2_source_from_fd(&c.src4, c.fd4));
	ut_assert_ok(pmem2_config_new(&c.cfg4));
	pmem2_config_set_required_store_granularity(c.cfg4,
		PMEM2_GRANULARITY_PAGE);

	int total_sites = 0, absorbed = 0;
	for (size_t i = 0; i < sizeof(Ops) / sizeof(Ops[0]); i++) {
		int n = ut_fault_sites(&Ops[i], &c, c.rsv, &absorbed);
		cr_log_info("%s: %d fault sites", Ops[i].name, n);
		total_sites += n;
	}
	cr_assert_eq(absorbed, 1, "only map_legacy_new's registry insert may "
		"be absorbed, %d were", absorbed);
	cr_assert_geq(total_sites, 20, "only %d fault sites reached",
		total_sites);
	cr_log_info("FAULT SITES: %d injected failures reported cleanly, "
		"%d absorbed", total_sites, absorbed);

	/* munmap failing in delete: the mapping stays whole and registered */
	struct pmem2_map *m;
	ut_assert_ok(pmem2_map_new(&m, c.cfg, c.src));
	char *addr = pmem2_map_get_address(m);
	core_fault_set(CORE_FAULT_MUNMAP, 0);
	int ret = pmem2_map_delete(&m);
	core_fault_set(CORE_FAULT_MUNMAP, -1);
	cr_assert_lt(ret, 0);
	cr_assert_not_null(m);
	struct registry_entry e;
	cr_assert(registry_lookup(addr, &e));
	cr_assert_eq(e.obj, m);
	addr[0] = 1; /* still mapped */
	ut_assert_ok(pmem2_map_delete(&m));

	/* a shrink that gives a whole 2 MiB unit back calls munmap */
	struct pmem2_vm_reservation *big;
	ut_assert_ok(pmem2_vm_reservation_new(&big, NULL, 6 << 20));
	void *baddr = pmem2_vm_reservation_get_address(big);
	core_fault_set(CORE_FAULT_MUNMAP, 0);
	ret = pmem2_vm_reservation_shrink(big, 0, 2 << 20);
	core_fault_set(CORE_FAULT_MUNMAP, -1);
	cr_assert_lt(ret, 0);
	cr_assert_eq(pmem2_vm_reservation_get_size(big), 6 << 20);
	cr_assert_eq(pmem2_vm_reservation_get_address(big), baddr);
	cr_assert(registry_lookup(baddr, &e));
	cr_assert_eq(e.end - e.start, 6 << 20);
	ut_assert_ok(pmem2_vm_reservation_delete(&big));
	void *raddr = pmem2_vm_reservation_get_address(c.rsv);

	core_fault_set(CORE_FAULT_MUNMAP, 0);
	ret = pmem2_vm_reservation_delete(&c.rsv);
	core_fault_set(CORE_FAULT_MUNMAP, -1);
	cr_assert_lt(ret, 0);
	cr_assert_not_null(c.rsv);
	cr_assert(registry_lookup(raddr, &e));

	ut_assert_ok(pmem2_vm_reservation_delete(&c.rsv));
	pmem2_config_delete(&c.cfg);
	pmem2_source_delete(&c.src);
	close(c.fd);
	pmem2_config_delete(&c.cfg4);
	pmem2_source_delete(&c.src4);
	close(c.fd4);
}
