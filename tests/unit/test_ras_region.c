/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_ras_region.c -- region discovery from fake sysfs trees, and what it
 * feeds: persistence domain, NUMA node, unsafe-shutdown count, device id.
 */
#include <criterion/criterion.h>

#include "ras_fake.h"
#include "ut_common.h"

TestSuite(ras_region, .init = fake_setup, .fini = fake_teardown);

static struct pmem2_source Anon = { .type = PMEM2_SOURCE_ANON };

Test(ras_region, find_fsdax_devdax_and_partition)
{
	fake_region0();
	struct region_loc loc;
	struct pmem2_source s = fake_src_fsdax(-1);
	ut_assert_ok(region_find(&s, &loc));
	cr_assert_eq(loc.id, 0);
	cr_assert_str_eq(loc.region, fake_path(R0));
	cr_assert_str_eq(loc.bdev, fake_path(R0 "/namespace0.0/block/pmem0"));
	cr_assert_eq(loc.part_start, 0);

	s = fake_src_devdax(-1);
	ut_assert_ok(region_find(&s, &loc));
	cr_assert_str_eq(loc.ndns, fake_path(R0 "/dax0.1"));

	/* a partition: its start, and badblocks on the whole disk */
	fake_file(R0 "/namespace0.0/block/pmem0/pmem0p1/partition", "1\n");
	fake_file(R0 "/namespace0.0/block/pmem0/pmem0p1/start", "2048\n");
	fake_link("sys/dev/block/259:1", R0 "/namespace0.0/block/pmem0/pmem0p1");
	s = fake_src_fsdax(-1);
	s.value.st_dev = makedev(259, 1);
	ut_assert_ok(region_find(&s, &loc));
	cr_assert_eq(loc.part_start, 2048 * 512);
	cr_assert_str_eq(loc.bdev, fake_path(R0 "/namespace0.0/block/pmem0"));

	fake_file(R0 "/namespace0.0/block/pmem0/pmem0p2/partition", "2\n");
	fake_link("sys/dev/block/259:2", R0 "/namespace0.0/block/pmem0/pmem0p2");
	s.value.st_dev = makedev(259, 2);
	ut_assert_err(region_find(&s, &loc), -ENOENT); /* no "start" */
}

Test(ras_region, find_not_on_pmem)
{
	fake_region0();
	struct region_loc loc;
	ut_assert_err(region_find(&Anon, &loc), PMEM2_E_DAX_REGION_NOT_FOUND);

	struct pmem2_source s = fake_src_fsdax(-1);
	s.value.st_dev = makedev(0, 45);	/* tmpfs: no block device */
	ut_assert_err(region_find(&s, &loc), PMEM2_E_DAX_REGION_NOT_FOUND);
	cr_assert(strstr(pmem2_errormsg(), "0:45"), "%s", pmem2_errormsg());

	fake_file("sys/devices/virtio0/block/vda/dev", "254:0\n");
	fake_link("sys/dev/block/254:0", "sys/devices/virtio0/block/vda");
	s.value.st_dev = makedev(254, 0);	/* a disk */
	ut_assert_err(region_find(&s, &loc), PMEM2_E_DAX_REGION_NOT_FOUND);
	cr_assert(strstr(pmem2_errormsg(), "vda"), "%s", pmem2_errormsg());

	fake_file("sys/devices/hmem/dax1.0/size", "4096\n");
	fake_link("sys/dev/char/252:5", "sys/devices/hmem/dax1.0");
	s = fake_src_devdax(-1);
	s.value.st_rdev = makedev(252, 5);	/* kmem/hmem dax */
	ut_assert_err(region_find(&s, &loc), PMEM2_E_DAX_REGION_NOT_FOUND);
	s.value.st_rdev = makedev(252, 9);	/* no such device */
	ut_assert_err(region_find(&s, &loc), PMEM2_E_DAX_REGION_NOT_FOUND);

	/* a symlink loop is an error reading sysfs, not "not found" */
	fake_link("sys/dev/block/7:7", "sys/dev/block/7:7");
	s = fake_src_fsdax(-1);
	s.value.st_dev = makedev(7, 7);
	ut_assert_err(region_find(&s, &loc), -ELOOP);
}

Test(ras_region, auto_flush_per_region_and_global)
{
	fake_region0();
	struct pmem2_source s = fake_src_fsdax(-1);
	cr_assert_eq(region_auto_flush(&s), 0);	/* memory_controller */
	fake_file(R0 "/persistence_domain", "cpu_cache\n");
	cr_assert_eq(region_auto_flush(&s), 1);
	unlink(fake_path(R0 "/persistence_domain"));
	cr_assert_eq(region_auto_flush(&s), 0);	/* absent: unknown */

	/* not found: PMDK's rule over all regions, no message left */
	errormsg_clear();
	cr_assert_eq(region_auto_flush(&Anon), 0);
	fake_file(R0 "/persistence_domain", "cpu_cache\n");
	cr_assert_eq(region_auto_flush(&Anon), 1);
	fake_file("sys/devices/ndbus0/region1/persistence_domain",
		"memory_controller\n");
	fake_link("sys/bus/nd/devices/region1", "sys/devices/ndbus0/region1");
	cr_assert_eq(region_auto_flush(&Anon), 0);
	s.value.st_dev = makedev(0, 45);
	cr_assert_eq(region_auto_flush(&s), 0);
	cr_assert_str_eq(pmem2_errormsg(), "");
	cr_assert_eq(region_auto_flush(NULL), 0);
}

Test(ras_region, auto_flush_no_regions)
{
	cr_assert_eq(region_auto_flush(&Anon), 0);	/* no nd bus at all */
	fake_mkdirs(fake_path("sys/bus/nd/devices"));
	cr_assert_eq(region_auto_flush(&Anon), 0);	/* bus, no region */
}

Test(ras_region, numa_node)
{
	fake_region0();
	struct pmem2_source s = fake_src_fsdax(-1);
	int node = 77;
	ut_assert_ok(pmem2_source_numa_node(&s, &node));
	cr_assert_eq(node, 1);
	s = fake_src_devdax(-1);
	node = 77;
	ut_assert_ok(pmem2_source_numa_node(&s, &node));
	cr_assert_eq(node, 1);
	unlink(fake_path(R0 "/numa_node"));
	ut_assert_ok(pmem2_source_numa_node(&s, &node));
	cr_assert_eq(node, -1);
	fake_file(R0 "/numa_node", "two\n");
	node = 77;
	ut_assert_err(pmem2_source_numa_node(&s, &node),
		PMEM2_E_INVALID_DEV_FORMAT);
	cr_assert_eq(node, 77);
	fake_file(R0 "/numa_node", "");
	ut_assert_err(pmem2_source_numa_node(&s, &node),
		PMEM2_E_INVALID_DEV_FORMAT);
	unlink(fake_path(R0 "/numa_node"));
	cr_assert(mkdir(fake_path(R0 "/numa_node"), 0755) == 0);
	ut_assert_err(pmem2_source_numa_node(&s, &node), -EISDIR);

	ut_assert_err(pmem2_source_numa_node(&Anon, &node), PMEM2_E_NOSUPP);
	s.value.st_rdev = makedev(252, 9);
	ut_assert_err(pmem2_source_numa_node(&s, &node),
		PMEM2_E_DAX_REGION_NOT_FOUND);
	cr_assert_eq(node, 77);
}

Test(ras_region, usc_sums_dimms)
{
	fake_region0();
	struct pmem2_source s = fake_src_fsdax(-1);
	uint64_t usc = 99;
	ut_assert_ok(pmem2_source_device_usc(&s, &usc));
	cr_assert_eq(usc, 7);
	/* without "mappings" the mappingN files are walked until one is
	 * missing */
	unlink(fake_path(R0 "/mappings"));
	usc = 99;
	ut_assert_ok(pmem2_source_device_usc(&s, &usc));
	cr_assert_eq(usc, 7);
}

Test(ras_region, usc_errors)
{
	fake_region0();
	struct pmem2_source s = fake_src_devdax(-1);
	uint64_t usc = 99;
	ut_assert_err(pmem2_source_device_usc(&Anon, &usc), PMEM2_E_NOSUPP);
	cr_assert_eq(usc, 99);

	fake_file("sys/devices/ndbus0/nmem1/nfit/dirty_shutdown", "x\n");
	ut_assert_err(pmem2_source_device_usc(&s, &usc),
		PMEM2_E_INVALID_DEV_FORMAT);
	cr_assert_eq(usc, 0);	/* zeroed first, as PMDK 1.12 */
	unlink(fake_path("sys/devices/ndbus0/nmem1/nfit/dirty_shutdown"));
	ut_assert_err(pmem2_source_device_usc(&s, &usc), PMEM2_E_NOSUPP);
	cr_assert(strstr(pmem2_errormsg(), "nmem1"), "%s", pmem2_errormsg());

	fake_file(R0 "/mapping1", "garbage\n");
	ut_assert_err(pmem2_source_device_usc(&s, &usc),
		PMEM2_E_INVALID_DEV_FORMAT);
	unlink(fake_path(R0 "/mapping1"));
	ut_assert_err(pmem2_source_device_usc(&s, &usc), -ENOENT);
	fake_file(R0 "/mappings", "many\n");
	ut_assert_err(pmem2_source_device_usc(&s, &usc),
		PMEM2_E_INVALID_DEV_FORMAT);
	unlink(fake_path(R0 "/mappings"));
	cr_assert(mkdir(fake_path(R0 "/mappings"), 0755) == 0);
	ut_assert_err(pmem2_source_device_usc(&s, &usc), -EISDIR);

	/* no DIMMs at all (memmap= / e820 pmem) */
	rmdir(fake_path(R0 "/mappings"));
	unlink(fake_path(R0 "/mapping0"));
	ut_assert_err(pmem2_source_device_usc(&s, &usc), PMEM2_E_NOSUPP);
	cr_assert(strstr(pmem2_errormsg(), "no DIMMs"), "%s",
		pmem2_errormsg());

	s.value.st_rdev = makedev(252, 9);
	usc = 99;
	ut_assert_err(pmem2_source_device_usc(&s, &usc), PMEM2_E_NOSUPP);
	cr_assert_eq(usc, 0);
}

Test(ras_region, device_id)
{
	fake_region0();
	struct pmem2_source s = fake_src_fsdax(-1);
	const char *want = "8089-a2-1837-000000008089-a2-1837-00000001";
	size_t len = 0;
	ut_assert_ok(pmem2_source_device_id(&s, NULL, &len));
	cr_assert_eq(len, strlen(want) + 1);

	char buf[128];
	memset(buf, 'x', sizeof(buf));
	size_t l = len;
	ut_assert_ok(pmem2_source_device_id(&s, buf, &l));
	cr_assert_str_eq(buf, want);
	cr_assert_eq(l, len);

	memset(buf, 'x', sizeof(buf));
	l = len - 1;
	ut_assert_err(pmem2_source_device_id(&s, buf, &l),
		PMEM2_E_BUFFER_TOO_SMALL);
	cr_assert_eq(buf[0], 'x');	/* untouched on failure */
	cr_assert_eq(l, len - 1);

	unlink(fake_path("sys/devices/ndbus0/nmem1/nfit/id"));
	l = 1234;
	ut_assert_err(pmem2_source_device_id(&s, NULL, &l), PMEM2_E_NOSUPP);
	cr_assert_eq(l, 1234);
	cr_assert(mkdir(fake_path("sys/devices/ndbus0/nmem1/nfit/id"), 0755)
		== 0);
	ut_assert_err(pmem2_source_device_id(&s, NULL, &l), -EISDIR);

	unlink(fake_path(R0 "/mapping0"));
	unlink(fake_path(R0 "/mapping1"));
	unlink(fake_path(R0 "/mappings"));
	ut_assert_err(pmem2_source_device_id(&s, NULL, &l), PMEM2_E_NOSUPP);

	ut_assert_err(pmem2_source_device_id(&Anon, NULL, &l), PMEM2_E_NOSUPP);
	s.value.st_dev = makedev(0, 45);
	ut_assert_err(pmem2_source_device_id(&s, NULL, &l), PMEM2_E_NOSUPP);
	cr_assert(strstr(pmem2_errormsg(), "not on persistent memory"), "%s",
		pmem2_errormsg());
}

Test(ras_region, device_id_alloc_failure)
{
	fake_region0();
	struct pmem2_source s = fake_src_fsdax(-1);
	char buf[128];
	size_t l = sizeof(buf);
	core_fault_set(CORE_FAULT_ALLOC, 0);
	int ret = pmem2_source_device_id(&s, buf, &l);
	core_fault_set(CORE_FAULT_ALLOC, -1);
	cr_assert_eq(ret, -ENOMEM);
}

Test(ras_region, devdax_size_alignment)
{
	fake_region0();
	struct pmem2_source s = fake_src_devdax(-1);
	cr_assert_eq(region_is_devdax(makedev(252, 0)), 1);
	cr_assert_eq(region_is_devdax(makedev(252, 9)), 0);
	size_t v;
	ut_assert_ok(region_devdax_size(&s, &v));
	cr_assert_eq(v, 268435456);
	ut_assert_err(region_devdax_alignment(&s, &v), -ENOENT);
	fake_file(R0 "/dax0.1/dax0.0/device/align", "2097152\n");
	ut_assert_ok(region_devdax_alignment(&s, &v));
	cr_assert_eq(v, 2097152);
	fake_file(R0 "/dax0.1/dax0.0/device/align", "3000\n");
	ut_assert_err(region_devdax_alignment(&s, &v),
		PMEM2_E_INVALID_ALIGNMENT_VALUE);
	fake_file(R0 "/dax0.1/dax0.0/device/align", "big\n");
	ut_assert_err(region_devdax_alignment(&s, &v),
		PMEM2_E_INVALID_ALIGNMENT_FORMAT);
}
