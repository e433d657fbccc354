/* SPDX-License-Identifier: BSD-3-Clause */
/* test_source.c -- pmem2_source: every file type, every error code, and
 * device DAX through a fake sysfs tree. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "region.h"
#include "source.h"
#include "ut_common.h"

Test(source, regular_file_rdwr_and_rdonly)
{
	int flags[] = { O_RDWR, O_RDONLY };
	for (int i = 0; i < 2; i++) {
		int fd = ut_tmpfile(3 * 4096 + 17, flags[i]);
		struct pmem2_source *src;
		ut_assert_ok(pmem2_source_from_fd(&src, fd));
		size_t size, align;
		int got;
		ut_assert_ok(pmem2_source_size(src, &size));
		cr_assert_eq(size, 3 * 4096 + 17);
		ut_assert_ok(pmem2_source_alignment(src, &align));
		cr_assert_eq(align, (size_t)sysconf(_SC_PAGESIZE));
		ut_assert_ok(pmem2_source_get_fd(src, &got));
		cr_assert_eq(got, fd);
		/* the size follows the file */
		cr_assert(ftruncate(fd, 8192) == 0 || flags[i] == O_RDONLY);
		if (flags[i] == O_RDWR) {
			ut_assert_ok(pmem2_source_size(src, &size));
			cr_assert_eq(size, 8192);
		}
		ut_assert_ok(pmem2_source_delete(&src));
		cr_assert_null(src);
		close(fd);
	}
}

Test(source, bad_descriptors)
{
	struct pmem2_source *src = (void *)1;
	ut_assert_err(pmem2_source_from_fd(&src, -1),
		PMEM2_E_INVALID_FILE_HANDLE);
	cr_assert_null(src);
	int fd = ut_tmpfile(4096, O_RDWR);
	close(fd);
	ut_assert_err(pmem2_source_from_fd(&src, fd),
		PMEM2_E_INVALID_FILE_HANDLE);
	fd = ut_tmpfile(4096, O_WRONLY);
	ut_assert_err(pmem2_source_from_fd(&src, fd),
		PMEM2_E_INVALID_FILE_HANDLE);
	cr_assert_null(src);
	close(fd);
}

Test(source, unsupported_types)
{
	struct pmem2_source *src;
	int fd = open("/dev/shm", O_RDONLY | O_DIRECTORY);
	ut_assert_err(pmem2_source_from_fd(&src, fd),
		PMEM2_E_INVALID_FILE_TYPE);
	close(fd);
	fd = open("/dev/null", O_RDWR);
	ut_assert_err(pmem2_source_from_fd(&src, fd),
		PMEM2_E_INVALID_FILE_TYPE);
	close(fd);
	int p[2];
	cr_assert(pipe(p) == 0);
	ut_assert_err(pmem2_source_from_fd(&src, p[0]),
		PMEM2_E_INVALID_FILE_TYPE);
	close(p[0]);
	close(p[1]);
	int s[2];
	cr_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
	ut_assert_err(pmem2_source_from_fd(&src, s[0]),
		PMEM2_E_INVALID_FILE_TYPE);
	close(s[0]);
	close(s[1]);
}

Test(source, size_after_close)
{
	int fd = ut_tmpfile(4096, O_RDWR);
	struct pmem2_source *src;
	ut_assert_ok(pmem2_source_from_fd(&src, fd));
	close(fd);
	size_t size;
	ut_assert_err(pmem2_source_size(src, &size),
		PMEM2_E_INVALID_FILE_HANDLE);
	pmem2_source_delete(&src);
}

Test(source, anonymous)
{
	struct pmem2_source *src;
	ut_assert_ok(pmem2_source_from_anon(&src, 12345));
	size_t size, align;
	ut_assert_ok(pmem2_source_size(src, &size));
	cr_assert_eq(size, 12345);
	ut_assert_ok(pmem2_source_alignment(src, &align));
	cr_assert_eq(align, (size_t)sysconf(_SC_PAGESIZE));
	int fd;
	ut_assert_err(pmem2_source_get_fd(src, &fd),
		PMEM2_E_FILE_DESCRIPTOR_NOT_SET);
	pmem2_source_delete(&src);
}

/*
 * A fake sysfs where /dev/null's char device (1:3) belongs to the "dax"
 * subsystem, with the given size and align files (NULL: absent).
 */
static char Root[128];

static void
fake_devdax_at(const char *size, const char *align, const char *subsystem,
		const char *align_name)
{
	strcpy(Root, "/tmp/pmem2-fakesys-XXXXXX");
	cr_assert_not_null(mkdtemp(Root));
	struct stat st;
	cr_assert(stat("/dev/null", &st) == 0);
	char dir[512], path[600];
	snprintf(dir, sizeof(dir), "%s/sys/class/%s", Root, subsystem);
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s %s/sys/dev/char/%u:%u/device",
		dir, Root, major(st.st_rdev), minor(st.st_rdev));
	cr_assert(system(cmd) == 0);
	snprintf(path, sizeof(path), "%s/sys/dev/char/%u:%u/subsystem", Root,
		major(st.st_rdev), minor(st.st_rdev));
	cr_assert(symlink(dir, path) == 0);
	const char *names[] = { "size", align_name };
	const char *vals[] = { size, align };
	for (int i = 0; i < 2; i++) {
		if (!vals[i])
			continue;
		snprintf(path, sizeof(path), "%s/sys/dev/char/%u:%u/%s", Root,
			major(st.st_rdev), minor(st.st_rdev), names[i]);
		FILE *f = fopen(path, "w");
		cr_assert_not_null(f);
		fputs(vals[i], f);
		fclose(f);
	}
	region_set_sysfs_root(Root);
}

static void
fake_devdax(const char *size, const char *align, const char *subsystem)
{
	fake_devdax_at(size, align, subsystem, "device/align");
}

static void
cleanup_fake(void)
{
	region_set_sysfs_root(NULL);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", Root);
	if (Root[0] && system(cmd) != 0)
		cr_log_warn("cannot remove %s", Root);
}

Test(source, devdax_fake_sysfs, .fini = cleanup_fake)
{
	fake_devdax("1073741824\n", "2097152\n", "dax");
	int fd = open("/dev/null", O_RDWR);
	struct pmem2_source *src;
	ut_assert_ok(pmem2_source_from_fd(&src, fd));
	cr_assert_eq(src->value.ftype, PMEM2_FTYPE_DEVDAX);
	size_t size, align;
	ut_assert_ok(pmem2_source_size(src, &size));
	cr_assert_eq(size, 1073741824);
	ut_assert_ok(pmem2_source_alignment(src, &align));
	cr_assert_eq(align, 2097152);

	/* device DAX cannot be mapped private */
	struct pmem2_config *cfg;
	struct pmem2_map *map;
	ut_assert_ok(pmem2_config_new(&cfg));
	pmem2_config_set_required_store_granularity(cfg, PMEM2_GRANULARITY_PAGE);
	pmem2_config_set_sharing(cfg, PMEM2_PRIVATE);
	ut_assert_err(pmem2_map_new(&map, cfg, src), PMEM2_E_SRC_DEVDAX_PRIVATE);
	pmem2_config_set_sharing(cfg, PMEM2_SHARED);
	/* offsets and lengths must follow the device's 2 MiB alignment */
	pmem2_config_set_offset(cfg, 4096);
	ut_assert_err(pmem2_map_new(&map, cfg, src), PMEM2_E_OFFSET_UNALIGNED);
	pmem2_config_set_offset(cfg, 0);
	pmem2_config_set_length(cfg, 4096);
	ut_assert_err(pmem2_map_new(&map, cfg, src), PMEM2_E_LENGTH_UNALIGNED);
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	close(fd);
}

/* Linux 6.1 has the attribute next to size, with no device/ link */
Test(source, devdax_align_beside_size, .fini = cleanup_fake)
{
	fake_devdax_at("4194304\n", "1048576\n", "dax", "align");
	int fd = open("/dev/null", O_RDWR);
	struct pmem2_source *src;
	ut_assert_ok(pmem2_source_from_fd(&src, fd));
	size_t align;
	ut_assert_ok(pmem2_source_alignment(src, &align));
	cr_assert_eq(align, 1048576);
	pmem2_source_delete(&src);
	close(fd);
}

Test(source, devdax_bad_sysfs_values, .fini = cleanup_fake)
{
	fake_devdax("lots\n", "3000\n", "dax");
	int fd = open("/dev/null", O_RDWR);
	struct pmem2_source *src;
	ut_assert_ok(pmem2_source_from_fd(&src, fd));
	size_t v;
	ut_assert_err(pmem2_source_size(src, &v), PMEM2_E_INVALID_SIZE_FORMAT);
	ut_assert_err(pmem2_source_alignment(src, &v),
		PMEM2_E_INVALID_ALIGNMENT_VALUE);
	pmem2_source_delete(&src);
	close(fd);
}

Test(source, devdax_missing_sysfs_files, .fini = cleanup_fake)
{
	fake_devdax(NULL, "x2\n", "dax");
	int fd = open("/dev/null", O_RDWR);
	struct pmem2_source *src;
	ut_assert_ok(pmem2_source_from_fd(&src, fd));
	size_t v;
	ut_assert_err(pmem2_source_size(src, &v), -ENOENT);
	ut_assert_err(pmem2_source_alignment(src, &v),
		PMEM2_E_INVALID_ALIGNMENT_FORMAT);
	pmem2_source_delete(&src);
	close(fd);
}

Test(source, chardev_other_subsystem, .fini = cleanup_fake)
{
	fake_devdax("4096\n", "4096\n", "mem");
	int fd = open("/dev/null", O_RDWR);
	struct pmem2_source *src;
	ut_assert_err(pmem2_source_from_fd(&src, fd), PMEM2_E_INVALID_FILE_TYPE);
	close(fd);
}
