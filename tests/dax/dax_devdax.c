/* SPDX-License-Identifier: BSD-3-Clause */
/* dax_devdax.c -- pmem2 on device DAX: size, alignment, reservations, data. */

#include <sys/mman.h>

#include <libpmem2.h>

#include "dax_util.h"

static enum pmem2_granularity Expected;
static size_t Align;

/* new_cfg -- config with the required granularity set */
static struct pmem2_config *
new_cfg(void)
{
	struct pmem2_config *cfg;
	if (pmem2_config_new(&cfg))
		dax_die("pmem2_config_new: %s", pmem2_errormsg());
	if (pmem2_config_set_required_store_granularity(cfg,
			PMEM2_GRANULARITY_PAGE))
		dax_die("set_required_store_granularity: %s",
			pmem2_errormsg());
	return cfg;
}

/* map_range -- map [off, off + len) of SRC, optionally into RSV at RSV_OFF */
static int
map_range(struct pmem2_source *src, size_t off, size_t len,
	struct pmem2_vm_reservation *rsv, size_t rsv_off,
	struct pmem2_map **map)
{
	struct pmem2_config *cfg = new_cfg();
	if (pmem2_config_set_offset(cfg, off))
		dax_die("pmem2_config_set_offset: %s", pmem2_errormsg());
	if (pmem2_config_set_length(cfg, len))
		dax_die("pmem2_config_set_length: %s", pmem2_errormsg());
	if (rsv && pmem2_config_set_vm_reservation(cfg, rsv, rsv_off))
		dax_die("pmem2_config_set_vm_reservation: %s",
			pmem2_errormsg());
	int ret = pmem2_map_new(map, cfg, src);
	pmem2_config_delete(&cfg);
	return ret;
}

/*
 * aligned_free_address -- a currently unused address aligned to ALIGN with
 * SIZE bytes free behind it.  The probe is ALIGN larger than needed at the
 * top: the next small mmap (e.g. inside the library) lands at the top of the
 * freed hole, and must not overlap the range we ask for.
 */
static void *
aligned_free_address(size_t size, size_t align)
{
	size_t probe = size + 2 * align;
	char *p = mmap(NULL, probe, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		-1, 0);
	if (p == MAP_FAILED)
		dax_die("mmap probe");
	munmap(p, probe);
	return (void *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
}

static void
check_reservation(struct pmem2_source *src)
{
	size_t rsv_size = 3 * Align;
	void *want = NULL;
	struct pmem2_vm_reservation *rsv;
	int ret = PMEM2_E_MAPPING_EXISTS;
	/* another thread/library may take the address: retry a few times */
	for (int i = 0; i < 3 && ret == PMEM2_E_MAPPING_EXISTS; i++) {
		want = aligned_free_address(rsv_size, Align);
		ret = pmem2_vm_reservation_new(&rsv, want, rsv_size);
	}
	CHECK(ret == 0, "pmem2_vm_reservation_new at %p, %zu bytes (%d: %s)",
		want, rsv_size, ret, ret ? pmem2_errormsg() : "ok");
	if (ret)
		return;
	char *base = pmem2_vm_reservation_get_address(rsv);
	CHECK(base == want && pmem2_vm_reservation_get_size(rsv) == rsv_size,
		"reservation address %p size %zu", (void *)base,
		pmem2_vm_reservation_get_size(rsv));

	struct pmem2_map *map = NULL;
	ret = map_range(src, 0, Align, rsv, Align, &map);
	CHECK(ret == 0, "map_new into the reservation at offset %zu (%d: %s)",
		Align, ret, ret ? pmem2_errormsg() : "ok");
	if (ret == 0) {
		char *addr = pmem2_map_get_address(map);
		CHECK(addr == base + Align, "mapped at reservation + %zu (%p)",
			Align, (void *)addr);
		memset(addr, 0x5a, 4096);
		pmem2_get_persist_fn(map)(addr, 4096);
		CHECK(addr[4095] == 0x5a, "store through the reserved mapping");
		CHECK(pmem2_map_delete(&map) == 0, "delete reserved mapping");
	}
	CHECK(pmem2_vm_reservation_delete(&rsv) == 0,
		"pmem2_vm_reservation_delete");
}

static void
check_persist_remap(struct pmem2_source *src)
{
	/* second alignment unit of the device; pattern unique to this run */
	size_t off = Align, len = Align;
	unsigned seed = (unsigned)getpid() * 2654435761u;
	struct pmem2_map *map = NULL;
	int ret = map_range(src, off, len, NULL, 0, &map);
	CHECK(ret == 0, "map_new offset %zu length %zu (%d)", off, len, ret);
	if (ret)
		return;
	CHECK(pmem2_map_get_store_granularity(map) == Expected,
		"store granularity %d == expected %d",
		pmem2_map_get_store_granularity(map), Expected);
	unsigned char *a = pmem2_map_get_address(map);
	size_t n = 1u << 16;
	for (size_t i = 0; i < n; i++)
		a[len - n + i] = (unsigned char)((seed + i * 7) >> 3);
	pmem2_get_memcpy_fn(map)(a, "devdax remap", 13, 0);
	pmem2_get_persist_fn(map)(a + len - n, n);
	CHECK(pmem2_map_delete(&map) == 0, "pmem2_map_delete");

	ret = map_range(src, off, len, NULL, 0, &map);
	CHECK(ret == 0, "remap (%d)", ret);
	if (ret)
		return;
	a = pmem2_map_get_address(map);
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += a[len - n + i] != (unsigned char)((seed + i * 7) >> 3);
	CHECK(bad == 0 && memcmp(a, "devdax remap", 13) == 0,
		"data read back after remap (%zu bytes differ)", bad);
	pmem2_map_delete(&map);
}

int
main(void)
{
	const char *dev = dax_env("DAX_DEV");
	if (!dax_env("DAX_EXT4_DIR") && !dev)
		dax_skip("not inside the DAX guest (no DAX_* variables)");
	CHECK(dev != NULL, "DAX_DEV is set");
	if (!dev)
		return dax_result();

	char domain[64];
	Expected = dax_all_regions_cpu_cache(domain, sizeof(domain)) == 1 ?
		PMEM2_GRANULARITY_BYTE : PMEM2_GRANULARITY_CACHE_LINE;

	int fd = open(dev, O_RDWR);
	if (fd < 0)
		dax_die("open %s", dev);
	uint64_t sys_size, sys_align;
	if (dax_devdax_attr(fd, "size", &sys_size) ||
			dax_devdax_attr(fd, "align", &sys_align))
		dax_die("%s: cannot read size/align from sysfs", dev);
	printf("%s: sysfs size %llu align %llu\n", dev,
		(unsigned long long)sys_size, (unsigned long long)sys_align);

	struct pmem2_source *src;
	if (pmem2_source_from_fd(&src, fd))
		dax_die("pmem2_source_from_fd: %s", pmem2_errormsg());
	size_t size = 0, align = 0;
	CHECK(pmem2_source_size(src, &size) == 0 && size == sys_size,
		"pmem2_source_size %zu == sysfs size", size);
	CHECK(pmem2_source_alignment(src, &align) == 0 && align == sys_align,
		"pmem2_source_alignment %zu == sysfs align", align);
	Align = (size_t)sys_align;
	CHECK(Align > 4096 && size >= 4 * Align,
		"device is large enough for the test (align > page size)");
	if (dax_failures)
		return dax_result();

	struct pmem2_map *map = NULL;
	int ret = map_range(src, 0, Align, NULL, 0, &map);
	CHECK(ret == 0, "map_new with length == alignment (%d: %s)", ret,
		ret ? pmem2_errormsg() : "ok");
	if (ret == 0) {
		CHECK(pmem2_map_get_size(map) == Align, "map size %zu",
			pmem2_map_get_size(map));
		CHECK(((uintptr_t)pmem2_map_get_address(map) & (Align - 1)) == 0,
			"map address %p aligned", pmem2_map_get_address(map));
		CHECK(pmem2_map_get_store_granularity(map) == Expected,
			"store granularity %d == expected %d (first region domain \"%s\")",
			pmem2_map_get_store_granularity(map), Expected, domain);
		pmem2_map_delete(&map);
	}

	ret = map_range(src, 0, Align + 4096, NULL, 0, &map);
	CHECK(ret == PMEM2_E_LENGTH_UNALIGNED,
		"map_new with length alignment + 4096 -> LENGTH_UNALIGNED (%d)",
		ret);
	if (ret == 0)
		pmem2_map_delete(&map);
	ret = map_range(src, 4096, Align, NULL, 0, &map);
	CHECK(ret == PMEM2_E_OFFSET_UNALIGNED,
		"map_new with offset 4096 -> OFFSET_UNALIGNED (%d)", ret);
	if (ret == 0)
		pmem2_map_delete(&map);

	check_reservation(src);
	check_persist_remap(src);

	pmem2_source_delete(&src);
	close(fd);
	return dax_result();
}
