/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_ras_deep_flush.c -- pmem2_deep_flush on hand-built maps: the range
 * check, anonymous memory, msync for files, and the region's deep_flush
 * attribute for device DAX (fake sysfs: "0", "1", absent, unwritable,
 * failing write).
 */
#include <criterion/criterion.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "map.h"
#include "ras_fake.h"
#include "ut_common.h"

TestSuite(ras_deep_flush, .init = fake_setup, .fini = fake_teardown);

#define LEN (64 * 1024)

static int Flushes, Drains;
static void count_flush(const void *p, size_t n) { (void)p; (void)n; Flushes++; }
static void count_drain(void) { Drains++; }

/* make_map -- a struct pmem2_map over a real shared mapping of a tmpfs file */
static struct pmem2_map
make_map(struct pmem2_source src, enum pmem2_granularity g, int *fd)
{
	struct pmem2_map m;
	memset(&m, 0, sizeof(m));
	*fd = ut_tmpfile(LEN, O_RDWR);
	m.addr = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	cr_assert(m.addr != MAP_FAILED);
	m.content_length = LEN - 100;	/* not page-aligned on purpose */
	m.reserved_length = LEN;
	m.effective_granularity = g;
	m.source = src;
	m.flush_fn = count_flush;
	m.drain_fn = count_drain;
	Flushes = Drains = 0;
	return m;
}

static void
drop_map(struct pmem2_map *m, int fd)
{
	munmap(m->addr, LEN);
	close(fd);
}

Test(ras_deep_flush, range_checks)
{
	int fd;
	struct pmem2_map m = make_map(fake_src_fsdax(-1),
		PMEM2_GRANULARITY_PAGE, &fd);
	char *a = m.addr;
	size_t n = m.content_length;
	ut_assert_ok(pmem2_deep_flush(&m, a, n));
	ut_assert_ok(pmem2_deep_flush(&m, a + n, 0));
	ut_assert_ok(pmem2_deep_flush(&m, a + 100, 5000));
	ut_assert_err(pmem2_deep_flush(&m, a - 1, 1), PMEM2_E_DEEP_FLUSH_RANGE);
	ut_assert_err(pmem2_deep_flush(&m, a, n + 1), PMEM2_E_DEEP_FLUSH_RANGE);
	ut_assert_err(pmem2_deep_flush(&m, a + n + 1, 0),
		PMEM2_E_DEEP_FLUSH_RANGE);
	/* a size that would wrap the address space around */
	ut_assert_err(pmem2_deep_flush(&m, a + 64, SIZE_MAX - 10),
		PMEM2_E_DEEP_FLUSH_RANGE);
	drop_map(&m, fd);
}

Test(ras_deep_flush, anonymous_is_nosupp)
{
	int fd;
	struct pmem2_source anon = { .type = PMEM2_SOURCE_ANON };
	for (int g = PMEM2_GRANULARITY_BYTE; g <= PMEM2_GRANULARITY_PAGE; g++) {
		struct pmem2_map m = make_map(anon, (enum pmem2_granularity)g,
			&fd);
		ut_assert_err(pmem2_deep_flush(&m, m.addr, 64), PMEM2_E_NOSUPP);
		drop_map(&m, fd);
	}
}

Test(ras_deep_flush, file_flushes_then_msyncs)
{
	int fd;
	struct pmem2_map m = make_map(fake_src_fsdax(-1),
		PMEM2_GRANULARITY_CACHE_LINE, &fd);
	ut_assert_ok(pmem2_deep_flush(&m, (char *)m.addr + 10, 1000));
	cr_assert_eq(Flushes, 1);
	cr_assert_eq(Drains, 1);

	m.effective_granularity = PMEM2_GRANULARITY_PAGE;
	ut_assert_ok(pmem2_deep_flush(&m, m.addr, 1000));
	cr_assert_eq(Flushes, 1, "PAGE: msync only");

	m.effective_granularity = PMEM2_GRANULARITY_BYTE;	/* CLFLUSH */
	ut_assert_ok(pmem2_deep_flush(&m, m.addr, 1000));
	cr_assert_eq(Flushes, 1, "BYTE: flush_fn is a no-op there");

	/* msync failing (the range is no longer mapped) is an error */
	munmap(m.addr, LEN);
	m.effective_granularity = PMEM2_GRANULARITY_PAGE;
	ut_assert_err(pmem2_deep_flush(&m, m.addr, 1000), -ENOMEM);
	close(fd);
}

/* devdax_map -- a map whose source is the fake device DAX dax0.0 */
static struct pmem2_map
devdax_map(int *fd)
{
	fake_region0();
	return make_map(fake_src_devdax(-1), PMEM2_GRANULARITY_CACHE_LINE, fd);
}

static void
read_back(const char *rel, char *buf, size_t n)
{
	FILE *f = fopen(fake_path("%s", rel), "r");
	cr_assert(f);
	size_t k = fread(buf, 1, n - 1, f);
	buf[k] = '\0';
	fclose(f);
}

Test(ras_deep_flush, devdax_no_flush_hints)
{
	int fd;
	struct pmem2_map m = devdax_map(&fd);
	ut_assert_ok(pmem2_deep_flush(&m, m.addr, 4096));
	cr_assert_eq(Flushes, 1);
	char buf[16];
	read_back(R0 "/deep_flush", buf, sizeof(buf));
	cr_assert_str_eq(buf, "0\n", "\"0\": nothing may be written");

	unlink(fake_path(R0 "/deep_flush"));	/* hidden by the kernel */
	ut_assert_ok(pmem2_deep_flush(&m, m.addr, 4096));
	drop_map(&m, fd);
}

Test(ras_deep_flush, devdax_flush_hints_written)
{
	int fd;
	struct pmem2_map m = devdax_map(&fd);
	fake_file(R0 "/deep_flush", "1\n");
	/* the write shows as a new mtime: set it to the epoch first */
	struct timespec old[2] = { { 0, 0 }, { 0, 0 } };
	cr_assert(utimensat(AT_FDCWD, fake_path(R0 "/deep_flush"), old, 0)
		== 0);
	m.effective_granularity = PMEM2_GRANULARITY_BYTE;
	ut_assert_ok(pmem2_deep_flush(&m, m.addr, 4096));
	char buf[16];
	read_back(R0 "/deep_flush", buf, sizeof(buf));
	cr_assert_str_eq(buf, "1\n", "\"1\" written over \"1\"");
	struct stat st;
	cr_assert(stat(fake_path(R0 "/deep_flush"), &st) == 0);
	cr_assert_neq(st.st_mtime, 0, "deep_flush was not written");
	cr_assert_eq(Flushes, 0, "BYTE uses the RAS CLFLUSH, not flush_fn");
	/* even forced PAGE: device DAX has no msync */
	m.effective_granularity = PMEM2_GRANULARITY_PAGE;
	ut_assert_ok(pmem2_deep_flush(&m, m.addr, 4096));
	drop_map(&m, fd);
}

Test(ras_deep_flush, devdax_write_refused_is_an_error)
{
	int fd;
	struct pmem2_map m = devdax_map(&fd);
	/* a read-only sysfs attribute: kernfs refuses writes even to root */
	unlink(fake_path(R0 "/deep_flush"));
	fake_link_abs(R0 "/deep_flush", "/sys/kernel/uevent_seqnum");
	ut_assert_err(pmem2_deep_flush(&m, m.addr, 4096), -EACCES);
	cr_assert(strstr(pmem2_errormsg(), "not flushed"), "%s",
		pmem2_errormsg());

	/* opens, but the write fails */
	unlink(fake_path(R0 "/deep_flush"));
	fake_link_abs(R0 "/deep_flush", "/dev/full");
	ut_assert_err(pmem2_deep_flush(&m, m.addr, 4096), -ENOSPC);

	/* cannot even be read */
	unlink(fake_path(R0 "/deep_flush"));
	cr_assert(mkdir(fake_path(R0 "/deep_flush"), 0755) == 0);
	ut_assert_err(pmem2_deep_flush(&m, m.addr, 4096), -EISDIR);
	drop_map(&m, fd);
}

Test(ras_deep_flush, devdax_region_not_found)
{
	int fd;
	struct pmem2_map m = devdax_map(&fd);
	m.source.value.st_rdev = makedev(252, 9);
	ut_assert_err(pmem2_deep_flush(&m, m.addr, 4096),
		PMEM2_E_DAX_REGION_NOT_FOUND);
	drop_map(&m, fd);
}
