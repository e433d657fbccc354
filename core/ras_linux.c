/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ras_linux.c -- the facts an application stores to detect unsafe
 * shutdowns: the ids of the DIMMs behind a source, the sum of their
 * unsafe-shutdown counts, and the source's NUMA node (all from sysfs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "region.h"
#include "source.h"

#define ID_MAX 128	/* a DIMM's unique id: "vvvv-ll-dddd-ssssssss" */

/* not_on_pmem -- the region lookup failed: say so for this call */
static int
not_on_pmem(int ret, const char *what)
{
	if (ret != PMEM2_E_DAX_REGION_NOT_FOUND)
		return ret;
	char why[256];
	snprintf(why, sizeof(why), "%s", pmem2_errormsg());
	ERR("%s is not available: %s", what, why);
	return PMEM2_E_NOSUPP;
}

struct id_walk {
	char *id;		/* NULL: only measure */
	size_t cap;		/* size of id */
	size_t len;		/* bytes needed so far, with the NUL */
	int dimms;
};

/* id_one -- append one DIMM's unique id (nfit/id) */
static int
id_one(const char *dimm, void *arg)
{
	struct id_walk *w = arg;
	char uid[ID_MAX];
	int n = region_read_attr(dimm, "nfit/id", uid, sizeof(uid), 1);
	if (n == -ENOENT) {
		ERR("DIMM %s has no unique id (no nfit/id): the platform does "
			"not expose hardware identification",
			strrchr(dimm, '/') + 1);
		return PMEM2_E_NOSUPP;
	}
	if (n < 0)
		return region_read_attr(dimm, "nfit/id", uid, sizeof(uid), 0);
	w->dimms++;
	w->len += (size_t)n;
	if (w->id) {
		if (w->len > w->cap) {
			ERR("a buffer of %zu bytes is too small for the device "
				"id; call with id == NULL to get the length",
				w->cap);
			return PMEM2_E_BUFFER_TOO_SMALL;
		}
		strcat(w->id, uid);
	}
	return 0;
}

PMEM2_API int
pmem2_source_device_id(const struct pmem2_source *src, char *id, size_t *len)
{
	core_init();
	errormsg_clear();
	if (src->type == PMEM2_SOURCE_ANON) {
		ERR("an anonymous source has no device id: it is not backed "
			"by persistent memory");
		return PMEM2_E_NOSUPP;
	}
	struct region_loc loc;
	int ret = region_find(src, &loc);
	if (ret)
		return not_on_pmem(ret, "a device id");

	int err;
	struct id_walk w = { NULL, 0, 1, 0 };
	if (id) {
		/* build in our own buffer: on failure *id stays untouched */
		w.cap = *len;
		w.id = pmem2_zalloc(*len + ID_MAX, &err);
		if (!w.id)
			return err;
	}
	ret = region_dimm_foreach(&loc, id_one, &w);
	if (ret >= 0 && w.dimms == 0) {
		ERR("region%u has no DIMMs (emulated or legacy persistent "
			"memory): there is no hardware id", loc.id);
		ret = PMEM2_E_NOSUPP;
	}
	if (ret < 0) {
		free(w.id);
		return ret;
	}
	if (id) {
		memcpy(id, w.id, w.len);
		free(w.id);
	} else {
		*len = w.len;
	}
	return 0;
}

struct usc_walk {
	uint64_t sum;
	int dimms;
};

/* usc_one -- add one DIMM's dirty-shutdown count (nfit/dirty_shutdown) */
static int
usc_one(const char *dimm, void *arg)
{
	struct usc_walk *w = arg;
	char buf[32];
	int n = region_read_attr(dimm, "nfit/dirty_shutdown", buf,
			sizeof(buf), 1);
	if (n == -ENOENT) {
		ERR("DIMM %s does not report an unsafe shutdown count (no "
			"nfit/dirty_shutdown)", strrchr(dimm, '/') + 1);
		return PMEM2_E_NOSUPP;
	}
	char nfit[PATH_MAX];
	snprintf(nfit, sizeof(nfit), "%s/nfit", dimm);
	unsigned long long v;
	int ret = region_read_u64(nfit, "dirty_shutdown", &v);
	if (ret)
		return ret;
	w->sum += v;
	w->dimms++;
	return 0;
}

PMEM2_API int
pmem2_source_device_usc(const struct pmem2_source *src, uint64_t *usc)
{
	core_init();
	errormsg_clear();
	if (src->type == PMEM2_SOURCE_ANON) {
		ERR("an anonymous source has no unsafe shutdown count: it is "
			"not backed by persistent memory");
		return PMEM2_E_NOSUPP;
	}
	/* PMDK 1.12 zeroes *usc before looking: programs may rely on it */
	*usc = 0;
	struct region_loc loc;
	int ret = region_find(src, &loc);
	if (ret)
		return not_on_pmem(ret, "an unsafe shutdown count");
	struct usc_walk w = { 0, 0 };
	ret = region_dimm_foreach(&loc, usc_one, &w);
	if (ret >= 0 && w.dimms == 0) {
		ERR("region%u has no DIMMs (emulated or legacy persistent "
			"memory): there is no unsafe shutdown count", loc.id);
		ret = PMEM2_E_NOSUPP;
	}
	if (ret < 0)
		return ret;
	*usc = w.sum;
	return 0;
}

PMEM2_API int
pmem2_source_numa_node(const struct pmem2_source *src, int *numa_node)
{
	core_init();
	errormsg_clear();
	if (src->type == PMEM2_SOURCE_ANON) {
		ERR("an anonymous source is not bound to a NUMA node");
		return PMEM2_E_NOSUPP;
	}
	struct region_loc loc;
	int ret = region_find(src, &loc);
	if (ret)
		return ret;	/* DAX_REGION_NOT_FOUND, as PMDK */
	char buf[32];
	int n = region_read_attr(loc.region, "numa_node", buf, sizeof(buf), 1);
	if (n == -ENOENT) {
		/* what libndctl (and so PMDK) reports without the attribute */
		*numa_node = -1;
		return 0;
	}
	char *end;
	long v = n > 0 ? strtol(buf, &end, 10) : 0;
	if (n < 0)
		return region_read_attr(loc.region, "numa_node", buf,
				sizeof(buf), 0);
	if (n == 0 || *end != '\0' || v < -1 || v > INT32_MAX) {
		ERR("unexpected contents \"%.20s\" in %s/numa_node", buf,
			loc.region);
		return PMEM2_E_INVALID_DEV_FORMAT;
	}
	*numa_node = (int)v;
	return 0;
}
