/* SPDX-License-Identifier: BSD-3-Clause */
/* dax_deep_flush.c -- pmem2_deep_flush on fsdax files, device DAX and tmpfs. */

#include <libpmem2.h>

#include "dax_util.h"

#define FILE_SIZE (2u << 20)

/* check_fd -- map LEN bytes of FD, store, deep flush whole and part */
static void
check_fd(int fd, const char *what, size_t len)
{
	struct pmem2_config *cfg;
	struct pmem2_source *src;
	struct pmem2_map *map = NULL;
	if (pmem2_config_new(&cfg) || pmem2_source_from_fd(&src, fd))
		dax_die("%s: config/source: %s", what, pmem2_errormsg());
	pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE);
	pmem2_config_set_length(cfg, len);
	int ret = pmem2_map_new(&map, cfg, src);
	CHECK(ret == 0, "%s: map_new (%d: %s)", what, ret,
		ret ? pmem2_errormsg() : "ok");
	if (ret == 0) {
		char *addr = pmem2_map_get_address(map);
		memset(addr, 'd', 8192);
		ret = pmem2_deep_flush(map, addr, len);
		CHECK(ret == 0, "%s: deep_flush of the whole mapping (%d: %s)",
			what, ret, ret ? pmem2_errormsg() : "ok");
		ret = pmem2_deep_flush(map, addr + 100, 5000);
		CHECK(ret == 0, "%s: deep_flush of an unaligned part (%d: %s)",
			what, ret, ret ? pmem2_errormsg() : "ok");
		ret = pmem2_deep_flush(map, addr + len - 64, 128);
		CHECK(ret == PMEM2_E_DEEP_FLUSH_RANGE,
			"%s: deep_flush past the end -> DEEP_FLUSH_RANGE (%d)",
			what, ret);
		pmem2_map_delete(&map);
	}
	pmem2_source_delete(&src);
	pmem2_config_delete(&cfg);
}

static void
check_file(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/deep-flush.dat", dir);
	int fd = dax_make_file(path, FILE_SIZE);
	check_fd(fd, path, FILE_SIZE);
	close(fd);
	unlink(path);
}

int
main(void)
{
	const char *ext4 = dax_env("DAX_EXT4_DIR");
	const char *xfs = dax_env("DAX_XFS_DIR");
	const char *dev = dax_env("DAX_DEV");
	const char *nodax = dax_env("NODAX_DIR");
	if (!ext4 && !xfs && !dev)
		dax_skip("not inside the DAX guest (no DAX_* variables)");
	CHECK(ext4 && xfs && dev && nodax, "DAX_* and NODAX_DIR set");

	if (ext4)
		check_file(ext4);
	if (xfs)
		check_file(xfs);
	if (nodax)
		check_file(nodax);
	if (dev) {
		int fd = open(dev, O_RDWR);
		uint64_t align;
		if (fd < 0 || dax_devdax_attr(fd, "align", &align))
			dax_die("%s: open / sysfs align", dev);
		check_fd(fd, dev, (size_t)align);
		close(fd);
	}
	return dax_result();
}
