/* SPDX-License-Identifier: BSD-3-Clause */
/* dax_granularity.c -- store granularity of pmem2 mappings on fsdax and tmpfs. */

#include <libpmem2.h>

#include "dax_util.h"

#define FILE_SIZE (4u << 20)

static const char *
gran_name(int g)
{
	switch (g) {
	case PMEM2_GRANULARITY_BYTE: return "BYTE";
	case PMEM2_GRANULARITY_CACHE_LINE: return "CACHE_LINE";
	case PMEM2_GRANULARITY_PAGE: return "PAGE";
	default: return "?";
	}
}

/* rank -- BYTE < CACHE_LINE < PAGE, independent of the enum's numbering */
static int
rank(enum pmem2_granularity g)
{
	return g == PMEM2_GRANULARITY_BYTE ? 0 :
		g == PMEM2_GRANULARITY_CACHE_LINE ? 1 : 2;
}

/*
 * try_map -- pmem2_map_new on FD with REQ as the required granularity;
 * returns its result and, on success, the effective granularity in *eff
 * after checking the mapping works (store, persist, pread).
 */
static int
try_map(int fd, const char *path, enum pmem2_granularity req,
	enum pmem2_granularity *eff)
{
	struct pmem2_config *cfg;
	struct pmem2_source *src;
	struct pmem2_map *map = NULL;
	if (pmem2_config_new(&cfg))
		dax_die("pmem2_config_new: %s", pmem2_errormsg());
	if (pmem2_source_from_fd(&src, fd))
		dax_die("pmem2_source_from_fd: %s", pmem2_errormsg());
	if (pmem2_config_set_required_store_granularity(cfg, req))
		dax_die("set_required_store_granularity: %s",
			pmem2_errormsg());

	int ret = pmem2_map_new(&map, cfg, src);
	if (ret == 0) {
		*eff = pmem2_map_get_store_granularity(map);
		char *addr = pmem2_map_get_address(map);
		CHECK(addr != NULL && pmem2_map_get_size(map) == FILE_SIZE,
			"%s: mapping of %u bytes (size %zu)", path, FILE_SIZE,
			pmem2_map_get_size(map));
		char msg[64];
		int len = snprintf(msg, sizeof(msg), "granularity req %s pid %d",
			gran_name(req), (int)getpid()) + 1;
		memcpy(addr + 8192, msg, (size_t)len);
		pmem2_get_persist_fn(map)(addr + 8192, (size_t)len);
		char buf[64];
		CHECK(pread(fd, buf, (size_t)len, 8192) == len &&
			memcmp(buf, msg, (size_t)len) == 0,
			"%s: persisted store visible through pread", path);
		CHECK(pmem2_map_delete(&map) == 0 && map == NULL,
			"%s: pmem2_map_delete", path);
	}
	pmem2_source_delete(&src);
	pmem2_config_delete(&cfg);
	return ret;
}

/* check_file -- every required granularity against the expected one */
static void
check_file(const char *dir, enum pmem2_granularity expected)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/granularity.dat", dir);
	int fd = dax_make_file(path, FILE_SIZE);

	enum pmem2_granularity reqs[] = { PMEM2_GRANULARITY_PAGE,
		PMEM2_GRANULARITY_CACHE_LINE, PMEM2_GRANULARITY_BYTE };
	for (unsigned i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		enum pmem2_granularity eff = (enum pmem2_granularity)-1;
		int ret = try_map(fd, path, reqs[i], &eff);
		if (rank(reqs[i]) >= rank(expected)) {
			CHECK(ret == 0, "%s: map_new with required %s (ret %d: %s)",
				path, gran_name(reqs[i]), ret,
				ret ? pmem2_errormsg() : "ok");
			if (ret == 0)
				CHECK(eff == expected,
					"%s: required %s -> store granularity %s (expected %s)",
					path, gran_name(reqs[i]), gran_name(eff),
					gran_name(expected));
		} else {
			CHECK(ret == PMEM2_E_GRANULARITY_NOT_SUPPORTED,
				"%s: map_new with required %s fails with GRANULARITY_NOT_SUPPORTED (ret %d)",
				path, gran_name(reqs[i]), ret);
		}
	}
	close(fd);
	unlink(path);
}

int
main(void)
{
	const char *ext4 = dax_env("DAX_EXT4_DIR");
	const char *xfs = dax_env("DAX_XFS_DIR");
	const char *nodax = dax_env("NODAX_DIR");
	const char *persist = dax_env("DAX_PERSISTENCE");
	if (!ext4 && !xfs)
		dax_skip("not inside the DAX guest (no DAX_* variables)");
	CHECK(ext4 && xfs && nodax, "DAX_EXT4_DIR, DAX_XFS_DIR, NODAX_DIR set");

	/*
	 * Expected DAX granularity from sysfs: BYTE only if every region's
	 * persistence domain is the CPU cache (eADR), else CACHE_LINE.  The
	 * sysfs value itself must match what the host asked QEMU for.
	 */
	char domain[64];
	int all_cpu = dax_all_regions_cpu_cache(domain, sizeof(domain));
	CHECK(all_cpu >= 0, "nd regions present");
	printf("persistence_domain of the first region: \"%s\" (host asked for %s)\n",
		domain, persist ? persist : "?");
	if (persist && strcmp(persist, "cpu") == 0)
		CHECK(all_cpu == 1, "all regions report cpu_cache");
	else if (persist && strcmp(persist, "mem-ctrl") == 0)
		CHECK(strcmp(domain, "memory_controller") == 0,
			"region reports memory_controller");
	else if (persist && strcmp(persist, "none") == 0)
		CHECK(domain[0] == '\0', "persistence_domain absent");
	enum pmem2_granularity dax_expected = all_cpu == 1 ?
		PMEM2_GRANULARITY_BYTE : PMEM2_GRANULARITY_CACHE_LINE;
	printf("expected store granularity on DAX: %s\n",
		gran_name(dax_expected));

	if (ext4)
		check_file(ext4, dax_expected);
	if (xfs)
		check_file(xfs, dax_expected);
	if (nodax)
		check_file(nodax, PMEM2_GRANULARITY_PAGE);
	return dax_result();
}
