/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_faults.c -- every allocation and every mmap the core makes for a
 * call fails in turn: the call reports an error and leaves the registry,
 * the reservation and the address space exactly as they were.
 */
#include <stdint.h>

#include "config.h"
#include "pmem2_utils.h"
#include "registry.h"
#include "ut_common.h"
#include "vm_reservation.h"

#define PG ((size_t)4096)

/* vma_count -- lines in /proc/self/maps: any leaked placeholder shows. */
static int
vma_count(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0, c;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

struct ctx {
	int fd;
	struct pmem2_source *src;
	struct pmem2_config *cfg;
	struct pmem2_vm_reservation *rsv;
};

typedef int (*op_fn)(struct ctx *c, void **out);

static int
op_map_standalone(struct ctx *c, void **out)
{
	return pmem2_map_new((struct pmem2_map **)out, c->cfg, c->src);
}

static int
op_map_in_rsv(struct ctx *c, void **out)
{
	/* set directly: a setter would clear the error message */
	c->cfg->reserv = c->rsv;
	c->cfg->reserv_offset = 4 * PG;
	int ret = pmem2_map_new((struct pmem2_map **)out, c->cfg, c->src);
	c->cfg->reserv = NULL;
	return ret;
}

static int
op_rsv_new(struct ctx *c, void **out)
{
	(void) c;
	return pmem2_vm_reservation_new((struct pmem2_vm_reservation **)out,
			NULL, 64 * PG);
}

static int
op_rsv_extend(struct ctx *c, void **out)
{
	*out = NULL;
	return pmem2_vm_reservation_extend(c->rsv, 4 * PG);
}

static int
op_from_existing(struct ctx *c, void **out)
{
	return pmem2_map_from_existing((struct pmem2_map **)out, c->src,
			(void *)0x7000000, PG, PMEM2_GRANULARITY_PAGE);
}

static void
undo(int which, struct ctx *c, void *obj)
{
	if (which == 2) {
		struct pmem2_vm_reservation *r = obj;
		pmem2_vm_reservation_delete(&r);
	} else if (which == 3) {
		pmem2_vm_reservation_shrink(c->rsv,
			pmem2_vm_reservation_get_size(c->rsv) - 4 * PG, 4 * PG);
	} else {
		struct pmem2_map *m = obj;
		pmem2_map_delete(&m);
	}
}

Test(faults, each_site_fails_cleanly)
{
	op_fn ops[] = { op_map_standalone, op_map_in_rsv, op_rsv_new,
		op_rsv_extend, op_from_existing };
	const char *names[] = { "map_new", "map_new(rsv)", "rsv_new",
		"rsv_extend", "from_existing" };
	struct ctx c;
	c.fd = ut_tmpfile(8 * PG, O_RDWR);
	ut_assert_ok(pmem2_source_from_fd(&c.src, c.fd));
	ut_assert_ok(pmem2_config_new(&c.cfg));
	pmem2_config_set_required_store_granularity(c.cfg,
		PMEM2_GRANULARITY_PAGE);
	pmem2_config_set_length(c.cfg, 4 * PG);
	c.rsv = new_with_room(16 * PG, 16 * PG);

	int total_sites = 0;
	for (size_t op = 0; op < sizeof(ops) / sizeof(ops[0]); op++) {
		for (int kind = CORE_FAULT_ALLOC; kind <= CORE_FAULT_MMAP;
				kind++) {
			for (long n = 0; ; n++) {
				size_t regs = registry_count();
				int vmas = vma_count();
				size_t rsize = pmem2_vm_reservation_get_size(c.rsv);
				size_t nmaps = c.rsv->nmaps;
				void *obj = (void *)1;
				core_fault_set(kind, n);
				int ret = ops[op](&c, &obj);
				int fired = core_fault_hit(kind) == 0 &&
					ret != 0;
				core_fault_set(kind, -1);
				if (ret == 0) {
					undo((int)op, &c, obj);
					break;
				}
				cr_assert(fired, "%s failed (%d) without an "
					"injected fault", names[op], ret);
				total_sites++;
				cr_assert_neq(pmem2_errormsg()[0], 0,
					"%s kind %d site %ld: no message",
					names[op], kind, n);
				cr_assert_eq(registry_count(), regs,
					"%s kind %d site %ld: registry changed",
					names[op], kind, n);
				cr_assert_eq(vma_count(), vmas,
					"%s kind %d site %ld: address space "
					"leaked", names[op], kind, n);
				cr_assert_eq(pmem2_vm_reservation_get_size(c.rsv),
					rsize);
				cr_assert_eq(c.rsv->nmaps, nmaps);
			}
		}
	}
	cr_assert_geq(total_sites, 8, "only %d fault sites reached",
		total_sites);
	cr_log_info("%d fault sites injected", total_sites);

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
}
