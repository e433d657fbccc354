/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_ras_badblocks.c -- bad block contexts from fake sysfs trees: fsdax
 * files mapped through their real extents (FIEMAP on a file of this
 * machine's disk), partitions, device DAX namespaces clipped from region
 * lists, unsupported vs failed, and clearing.
 */
#include <criterion/criterion.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#include "extent.h"
#include "ras_fake.h"
#include "ut_common.h"
#include "ut_faults.h"

TestSuite(ras_badblocks, .init = fake_setup, .fini = fake_teardown);

static struct pmem2_source Anon = { .type = PMEM2_SOURCE_ANON };

/* disk_file -- a 64 KiB file with real blocks, on a file system that has
 * FIEMAP (not tmpfs): the build's own directory or TMPDIR. */
static int
disk_file(void)
{
	char path[PATH_MAX];
	const char *dir = getenv("RAS_DISK_DIR");
	snprintf(path, sizeof(path), "%s/ras-bb-XXXXXX", dir ? dir : ".");
	int fd = mkstemp(path);
	cr_assert(fd >= 0, "mkstemp %s", path);
	unlink(path);
	char buf[65536];
	memset(buf, 'a', sizeof(buf));
	cr_assert(write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf));
	cr_assert(fsync(fd) == 0);
	return fd;
}

static size_t
collect(struct pmem2_badblock_context *c, struct pmem2_badblock *out,
	size_t max)
{
	size_t n = 0;
	struct pmem2_badblock bb;
	int ret;
	while ((ret = pmem2_badblock_next(c, &bb)) == 0) {
		cr_assert(n < max);
		out[n++] = bb;
	}
	cr_assert_eq(ret, PMEM2_E_NO_BAD_BLOCK_FOUND);
	cr_assert_neq(pmem2_errormsg()[0], '\0');
	return n;
}

Test(ras_badblocks, fsdax_through_extents)
{
	fake_region0();
	int fd = disk_file();
	struct extents *x;
	int r = extents_get(fd, &x);
	if (r == -EOPNOTSUPP)
		cr_skip_test("no FIEMAP on this file system (RAS_DISK_DIR)");
	cr_assert_eq(r, 0, "%s", pmem2_errormsg());
	cr_assert(x->count >= 1);
	/* poison: 1 sector at byte 4096+512 of the file, and 2 sectors
	 * straddling nothing (far before the file) */
	unsigned long long phys = x->ext[0].physical + 4096 + 512;
	cr_assert(x->ext[0].length >= 8192, "first extent too short");
	char list[128];
	snprintf(list, sizeof(list), "%llu 1\n%llu 2\n", phys / 512,
		x->ext[0].physical > 8192 ? 0ULL : (1ULL << 40) / 512);
	fake_file(R0 "/namespace0.0/block/pmem0/badblocks", list);
	uint64_t blk = x->blksize;
	free(x);

	struct pmem2_source s = fake_src_fsdax(fd);
	struct pmem2_badblock_context *c;
	ut_assert_ok(pmem2_badblock_context_new(&c, &s));
	struct pmem2_badblock bbs[8];
	size_t n = collect(c, bbs, 8);
	cr_assert_eq(n, 1);
	/* the block that holds file byte 4608, whole */
	cr_assert_eq(bbs[0].offset, ALIGN_DOWN(4096 + 512, blk));
	cr_assert_eq(bbs[0].length, blk);
	pmem2_badblock_context_delete(&c);
	cr_assert_null(c);

	/* the same through a partition that starts 1 MiB into the disk:
	 * the list is relative to the disk, FIEMAP to the partition */
	snprintf(list, sizeof(list), "%llu 1\n", (phys + (1 << 20)) / 512);
	fake_file(R0 "/namespace0.0/block/pmem0/badblocks", list);
	fake_file(R0 "/namespace0.0/block/pmem0/pmem0p1/partition", "1\n");
	fake_file(R0 "/namespace0.0/block/pmem0/pmem0p1/start", "2048\n");
	fake_link("sys/dev/block/259:1", R0 "/namespace0.0/block/pmem0/pmem0p1");
	s.value.st_dev = makedev(259, 1);
	ut_assert_ok(pmem2_badblock_context_new(&c, &s));
	n = collect(c, bbs, 8);
	cr_assert_eq(n, 1);
	cr_assert_eq(bbs[0].offset, ALIGN_DOWN(4096 + 512, blk));
	pmem2_badblock_context_delete(&c);
	close(fd);
}

Test(ras_badblocks, fsdax_empty_list_needs_no_extents)
{
	fake_region0();
	int fd = ut_tmpfile(65536, O_RDWR);	/* tmpfs: FIEMAP would fail */
	struct pmem2_source s = fake_src_fsdax(fd);
	struct pmem2_badblock_context *c;
	ut_assert_ok(pmem2_badblock_context_new(&c, &s));
	struct pmem2_badblock bb = { 1, 1 };
	ut_assert_err(pmem2_badblock_next(c, &bb), PMEM2_E_NO_BAD_BLOCK_FOUND);
	cr_assert_eq(bb.offset, 0);
	cr_assert_eq(bb.length, 0);
	pmem2_badblock_context_delete(&c);

	/* a list, but the file's extents cannot be read: an error */
	fake_file(R0 "/namespace0.0/block/pmem0/badblocks", "8 8\n");
	c = (void *)1;
	ut_assert_err(pmem2_badblock_context_new(&c, &s), -EOPNOTSUPP);
	cr_assert_null(c);
	close(fd);
}

Test(ras_badblocks, unsupported_is_not_failed)
{
	fake_region0();
	struct pmem2_source s = fake_src_fsdax(-1);
	struct pmem2_badblock_context *c;
	unlink(fake_path(R0 "/namespace0.0/block/pmem0/badblocks"));
	ut_assert_err(pmem2_badblock_context_new(&c, &s), PMEM2_E_NOSUPP);
	cr_assert(mkdir(fake_path(R0 "/namespace0.0/block/pmem0/badblocks"),
		0755) == 0);
	ut_assert_err(pmem2_badblock_context_new(&c, &s), -EISDIR);
	rmdir(fake_path(R0 "/namespace0.0/block/pmem0/badblocks"));
	fake_file(R0 "/namespace0.0/block/pmem0/badblocks", "8\n");
	ut_assert_err(pmem2_badblock_context_new(&c, &s),
		PMEM2_E_INVALID_DEV_FORMAT);
	fake_file(R0 "/namespace0.0/block/pmem0/badblocks", "8 0\n");
	ut_assert_err(pmem2_badblock_context_new(&c, &s),
		PMEM2_E_INVALID_DEV_FORMAT);

	c = (void *)1;
	ut_assert_err(pmem2_badblock_context_new(&c, &Anon), PMEM2_E_NOSUPP);
	cr_assert_eq(c, (void *)1, "PMDK leaves *bbctx alone for anon");

	/* symlink loop: an error reading sysfs, not "no bad blocks" */
	fake_link("sys/dev/block/7:7", "sys/dev/block/7:7");
	s.value.st_dev = makedev(7, 7);
	ut_assert_err(pmem2_badblock_context_new(&c, &s), -ELOOP);
	cr_assert_null(c);
}

Test(ras_badblocks, not_on_pmem_is_empty)
{
	fake_region0();
	struct pmem2_source s = fake_src_fsdax(-1);
	s.value.st_dev = makedev(0, 45);
	struct pmem2_badblock_context *c;
	ut_assert_ok(pmem2_badblock_context_new(&c, &s));
	cr_assert_str_eq(pmem2_errormsg(), "");
	struct pmem2_badblock bb;
	ut_assert_err(pmem2_badblock_next(c, &bb), PMEM2_E_NO_BAD_BLOCK_FOUND);
	pmem2_badblock_context_delete(&c);
	pmem2_badblock_context_delete(&c);	/* NULL: nothing */
}

Test(ras_badblocks, devdax_clipped_to_namespace)
{
	fake_region0();
	/* region at 0x100000000, namespace data at +0x200000 for 256 MiB */
	unsigned long long ns = 0x200000 / 512, end = ns + 0x10000000 / 512;
	char list[256];
	snprintf(list, sizeof(list), "%llu 8\n%llu 16\n%llu 8\n%llu 8\n",
		ns - 4,		/* straddles the start: 4 sectors inside */
		ns + 100,	/* inside */
		end - 2,	/* straddles the end: 2 inside */
		end + 10);	/* after */
	fake_file(R0 "/badblocks", list);
	struct pmem2_source s = fake_src_devdax(-1);
	struct pmem2_badblock_context *c;
	ut_assert_ok(pmem2_badblock_context_new(&c, &s));
	struct pmem2_badblock bbs[8];
	size_t n = collect(c, bbs, 8);
	cr_assert_eq(n, 3);
	cr_assert_eq(bbs[0].offset, 0);
	cr_assert_eq(bbs[0].length, 4 * 512);
	cr_assert_eq(bbs[1].offset, 100 * 512);
	cr_assert_eq(bbs[1].length, 16 * 512);
	cr_assert_eq(bbs[2].offset, 0x10000000 - 2 * 512);
	cr_assert_eq(bbs[2].length, 2 * 512);

	/* clearing goes to the bus device: here a plain file, so the
	 * ioctl fails, and missing it fails to open */
	ut_assert_err(pmem2_badblock_clear(c, &bbs[1]), -ENOENT);
	fake_file("dev/ndctl0", "");
	ut_assert_err(pmem2_badblock_clear(c, &bbs[1]), -ENOTTY);
	pmem2_badblock_context_delete(&c);
}

Test(ras_badblocks, devdax_bounds)
{
	fake_region0();
	struct pmem2_source s = fake_src_devdax(-1);
	struct pmem2_badblock_context *c;
	unlink(fake_path(R0 "/dax0.1/size"));
	ut_assert_err(pmem2_badblock_context_new(&c, &s),
		PMEM2_E_CANNOT_READ_BOUNDS);
	fake_file(R0 "/dax0.1/size", "0x10000000\n");
	fake_file(R0 "/dax0.1/resource", "0x10\n");	/* before region */
	ut_assert_err(pmem2_badblock_context_new(&c, &s),
		PMEM2_E_CANNOT_READ_BOUNDS);
	fake_file(R0 "/dax0.1/resource", "0x100200000\n");
	unlink(fake_path(R0 "/resource"));
	ut_assert_err(pmem2_badblock_context_new(&c, &s), -ENOENT);
	fake_file(R0 "/resource", "0x100000000\n");
	unlink(fake_path(R0 "/badblocks"));
	ut_assert_err(pmem2_badblock_context_new(&c, &s), PMEM2_E_NOSUPP);
}

Test(ras_badblocks, devdax_without_bus)
{
	/* a region that is not under an ndbusN directory */
	fake_file("sys/devices/odd/region3/resource", "0\n");
	fake_file("sys/devices/odd/region3/badblocks", "0 1\n");
	fake_file("sys/devices/odd/region3/dax3.0/resource", "0\n");
	fake_file("sys/devices/odd/region3/dax3.0/size", "4096\n");
	fake_mkdirs(fake_path("sys/devices/odd/region3/dax3.0/dax3.0"));
	fake_link("sys/dev/char/252:3", "sys/devices/odd/region3/dax3.0/dax3.0");
	struct pmem2_source s = fake_src_devdax(-1);
	s.value.st_rdev = makedev(252, 3);
	struct pmem2_badblock_context *c;
	ut_assert_ok(pmem2_badblock_context_new(&c, &s));
	struct pmem2_badblock bb;
	ut_assert_ok(pmem2_badblock_next(c, &bb));
	ut_assert_err(pmem2_badblock_clear(c, &bb),
		PMEM2_E_DAX_REGION_NOT_FOUND);
	pmem2_badblock_context_delete(&c);
}

Test(ras_badblocks, clear_file_punches_and_reallocates)
{
	int fd = ut_tmpfile(65536, O_RDWR);
	char buf[8192];
	memset(buf, 'z', sizeof(buf));
	cr_assert(pwrite(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	struct pmem2_source s = fake_src_fsdax(fd);
	s.value.st_dev = makedev(0, 45);	/* not on pmem: empty ctx */
	struct pmem2_badblock_context *c;
	ut_assert_ok(pmem2_badblock_context_new(&c, &s));
	struct pmem2_badblock bb = { 4096, 4096 };
	ut_assert_ok(pmem2_badblock_clear(c, &bb));
	cr_assert(pread(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	cr_assert_eq(buf[4095], 'z');
	cr_assert_eq(buf[4096], 0, "the cleared block reads as zeros");
	struct stat st;
	fstat(fd, &st);
	cr_assert_eq(st.st_size, 65536, "KEEP_SIZE");

	bb.offset = (size_t)INT64_MAX + 1;
	ut_assert_err(pmem2_badblock_clear(c, &bb), PMEM2_E_OFFSET_OUT_OF_RANGE);
	bb.length = (size_t)INT64_MAX + 1;
	ut_assert_err(pmem2_badblock_clear(c, &bb), PMEM2_E_OFFSET_OUT_OF_RANGE);
	bb.offset = 0;
	ut_assert_err(pmem2_badblock_clear(c, &bb), PMEM2_E_LENGTH_OUT_OF_RANGE);
	bb.length = 0;
	ut_assert_err(pmem2_badblock_clear(c, &bb), -EINVAL);
	close(fd);
	bb.length = 4096;
	ut_assert_err(pmem2_badblock_clear(c, &bb), -EBADF);
	pmem2_badblock_context_delete(&c);
}

static int
bb_new(void *src, void **obj)
{
	return pmem2_badblock_context_new(
		(struct pmem2_badblock_context **)obj, src);
}

static void
bb_delete(void *src, void *obj)
{
	(void) src;
	struct pmem2_badblock_context *c = obj;
	pmem2_badblock_context_delete(&c);
}

/*
 * every allocation, mmap and munmap on the way fails in turn (ut_faults.h):
 * -ENOMEM, nothing leaked or changed; fsdax (the list, the extents, the
 * context and its growing array) and device DAX
 */
Test(ras_badblocks, fault_sites)
{
	fake_region0();
	int fd = disk_file();
	struct extents *x;
	int r = extents_get(fd, &x);
	if (r == -EOPNOTSUPP)
		cr_skip_test("no FIEMAP on this file system (RAS_DISK_DIR)");
	cr_assert_eq(r, 0, "%s", pmem2_errormsg());
	/* 20 bad sectors inside the file's first extent: the array grows */
	char list[1024];
	size_t n = 0;
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%llu 1\n",
			(unsigned long long)(x->ext[0].physical / 512 + 8 * i));
	free(x);
	fake_file(R0 "/namespace0.0/block/pmem0/badblocks", list);
	struct pmem2_source s = fake_src_fsdax(fd);
	const struct ut_fault_op op = { "badblock_context_new(fsdax)", NULL,
		bb_new, NULL, bb_delete };
	int absorbed = 0;
	int sites = ut_fault_sites(&op, &s, NULL, &absorbed);
	cr_assert_geq(sites, 4, "only %d sites", sites);

	fake_file(R0 "/badblocks", "4096 8\n8192 8\n");
	struct pmem2_source d = fake_src_devdax(-1);
	const struct ut_fault_op dop = { "badblock_context_new(devdax)", NULL,
		bb_new, NULL, bb_delete };
	int dsites = ut_fault_sites(&dop, &d, NULL, &absorbed);
	cr_assert_geq(dsites, 2, "only %d sites", dsites);
	cr_assert_eq(absorbed, 0);
	cr_log_info("FAULT SITES: %d injected failures reported cleanly "
		"(badblock_context_new fsdax %d, devdax %d)", sites + dsites,
		sites, dsites);
	close(fd);
}
