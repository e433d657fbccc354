/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * region_linux.c -- device DAX and NVDIMM region facts from sysfs.
 *
 * Every path is read under a root that tests can move (region_set_sysfs_root)
 * so that fake sysfs trees drive each branch.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "region.h"
#include "source.h"

#define ATTR_MAX 64	/* every attribute read here is one short line */

/*
 * Quiet -- set while region_auto_flush looks a region up on behalf of
 * pmem2_map_new: a source that is not on pmem is an answer there, and must
 * not leave an error message behind.
 */
static __thread int Quiet;
#define RERR(...) do { if (!Quiet) ERR(__VA_ARGS__); } while (0)
#define RERR_ERRNO(e, ...) do { if (!Quiet) ERR_ERRNO(e, __VA_ARGS__); } \
	while (0)

static const char *Sysfs_root = "";

void
region_set_sysfs_root(const char *root)
{
	Sysfs_root = root ? root : "";
}

const char *
region_sysfs_root(void)
{
	return Sysfs_root;
}

int
region_is_devdax(dev_t rdev)
{
	char path[PATH_MAX], real[PATH_MAX];
	snprintf(path, sizeof(path), "%s/sys/dev/char/%u:%u/subsystem",
		Sysfs_root, major(rdev), minor(rdev));
	if (!realpath(path, real)) {
		int e = errno;
		if (e == ENOENT)
			return 0; /* no sysfs entry: not a DAX device */
		RERR_ERRNO(e, "cannot resolve %s", path);
		return -e;
	}
	const char *base = strrchr(real, '/');
	return base && strcmp(base + 1, "dax") == 0;
}

/*
 * read_devdax_number -- parse one decimal number from a device DAX sysfs
 * attribute; bad_format is the code for a malformed file.
 */
static int
read_devdax_number(const struct pmem2_source *src, const char *attr,
		int bad_format, size_t *out)
{
	char dir[PATH_MAX], buf[ATTR_MAX];
	snprintf(dir, sizeof(dir), "%s/sys/dev/char/%u:%u", Sysfs_root,
		major(src->value.st_rdev), minor(src->value.st_rdev));
	int n = region_read_attr(dir, attr, buf, sizeof(buf), 0);
	if (n < 0)
		return n;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 0);
	if (errno || end == buf || *end != '\0') {
		RERR("unexpected contents \"%.20s\" in %s/%s", buf, dir, attr);
		return bad_format;
	}
	*out = (size_t)v;
	return 0;
}

int
region_devdax_size(const struct pmem2_source *src, size_t *size)
{
	return read_devdax_number(src, "size", PMEM2_E_INVALID_SIZE_FORMAT,
			size);
}

int
region_devdax_alignment(const struct pmem2_source *src, size_t *align)
{
	/* kernels since 5.x put it next to size (seen on Debian's 6.1);
	 * older ones only under the device link */
	int ret = read_devdax_number(src, "align",
			PMEM2_E_INVALID_ALIGNMENT_FORMAT, align);
	if (ret == -ENOENT)
		ret = read_devdax_number(src, "device/align",
				PMEM2_E_INVALID_ALIGNMENT_FORMAT, align);
	if (ret)
		return ret;
	if (*align == 0 || (*align & (*align - 1))) {
		RERR("device DAX alignment %zu is not a power of two", *align);
		return PMEM2_E_INVALID_ALIGNMENT_VALUE;
	}
	return 0;
}


int
region_read_attr(const char *dir, const char *attr, char *buf, size_t size,
		int quiet)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", dir, attr) >=
			(int)sizeof(path)) {
		if (!quiet)
			RERR("sysfs path %s/%s is too long", dir, attr);
		return -ENAMETOOLONG;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (!quiet)
			RERR_ERRNO(e, "cannot open %s", path);
		return -e;
	}
	ssize_t n = read(fd, buf, size - 1);
	int e = errno;
	close(fd);
	if (n < 0) {
		if (!quiet)
			RERR_ERRNO(e, "cannot read %s", path);
		return -e;
	}
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return (int)n;
}

int
region_read_u64(const char *dir, const char *attr, unsigned long long *val)
{
	char buf[ATTR_MAX];
	int n = region_read_attr(dir, attr, buf, sizeof(buf), 0);
	if (n < 0)
		return n;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 0);
	if (errno || end == buf || *end != '\0' || buf[0] == '-') {
		RERR("unexpected contents \"%.20s\" in %s/%s (a number was "
			"expected)", buf, dir, attr);
		return PMEM2_E_INVALID_DEV_FORMAT;
	}
	*val = v;
	return 0;
}

/*
 * region_from_path -- find the "regionN" component of a resolved sysfs
 * device path; on success fill loc->region/id and return a pointer to the
 * component after it (or to the terminating NUL).
 */
static const char *
region_from_path(const char *real, struct region_loc *loc)
{
	const char *p = real, *found = NULL;
	while ((p = strstr(p, "/region")) != NULL) {
		const char *d = p + 7;
		size_t digits = strspn(d, "0123456789");
		if (digits > 0 && (d[digits] == '/' || d[digits] == '\0'))
			found = p;
		p = d;
	}
	if (!found)
		return NULL;
	const char *end = found + 7 + strspn(found + 7, "0123456789");
	size_t len = (size_t)(end - real);
	if (len >= sizeof(loc->region))
		return NULL;
	memcpy(loc->region, real, len);
	loc->region[len] = '\0';
	loc->id = (unsigned)strtoul(found + 7, NULL, 10);
	return *end ? end + 1 : end;
}

/*
 * resolve -- realpath of "<root>/sys/dev/<kind>/M:m"; 1 when there is no
 * such device (not an error: the source is simply not on a device sysfs
 * knows), 0 when resolved, negative errno otherwise.
 */
static int
resolve(const char *kind, dev_t dev, char *real)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/sys/dev/%s/%u:%u", Sysfs_root, kind,
		major(dev), minor(dev));
	if (realpath(path, real))
		return 0;
	int e = errno;
	if (e == ENOENT || e == ENOTDIR)
		return 1;
	RERR_ERRNO(e, "cannot resolve %s", path);
	return -e;
}

/* region_find_fsdax -- the block device of a file's st_dev, up to its region */
static int
region_find_fsdax(dev_t dev, struct region_loc *loc)
{
	char real[PATH_MAX];
	int ret = resolve("block", dev, real);
	if (ret < 0)
		return ret;
	if (ret > 0) {
		RERR("device %u:%u of the file is not a block device (tmpfs, "
			"overlay, NFS...): the file is not on persistent memory",
			major(dev), minor(dev));
		return PMEM2_E_DAX_REGION_NOT_FOUND;
	}
	if (!region_from_path(real, loc)) {
		RERR("block device %u:%u (%s) belongs to no NVDIMM region: the "
			"file is not on persistent memory", major(dev),
			minor(dev), strrchr(real, '/') + 1);
		return PMEM2_E_DAX_REGION_NOT_FOUND;
	}
	/* a partition: badblocks live on the whole disk, one level up */
	char buf[ATTR_MAX];
	if (strlen(real) >= sizeof(loc->bdev)) {
		RERR("sysfs path %s is too long", real);
		return -ENAMETOOLONG;
	}
	strcpy(loc->bdev, real);
	loc->part_start = 0;
	if (region_read_attr(real, "partition", buf, sizeof(buf), 1) >= 0) {
		unsigned long long start;
		ret = region_read_u64(real, "start", &start);
		if (ret)
			return ret;
		loc->part_start = start * 512;
		*strrchr(loc->bdev, '/') = '\0';
	}
	return 0;
}

/* region_find_devdax -- the device DAX's sysfs device, up to its region */
static int
region_find_devdax(dev_t rdev, struct region_loc *loc)
{
	char real[PATH_MAX];
	int ret = resolve("char", rdev, real);
	if (ret < 0)
		return ret;
	const char *rest = ret ? NULL : region_from_path(real, loc);
	if (!rest || !*rest) {
		RERR("device DAX %u:%u belongs to no NVDIMM region (e.g. a "
			"kmem or hmem dax device)", major(rdev), minor(rdev));
		return PMEM2_E_DAX_REGION_NOT_FOUND;
	}
	/* the component after regionN is the nd_dax device (daxN.M) */
	size_t rlen = strlen(loc->region), len = strcspn(rest, "/");
	if (rlen + 1 + len >= sizeof(loc->ndns)) {
		RERR("sysfs path %s is too long", real);
		return -ENAMETOOLONG;
	}
	memcpy(loc->ndns, loc->region, rlen);
	loc->ndns[rlen] = '/';
	memcpy(loc->ndns + rlen + 1, rest, len);
	loc->ndns[rlen + 1 + len] = '\0';
	return 0;
}

int
region_find(const struct pmem2_source *src, struct region_loc *loc)
{
	memset(loc, 0, sizeof(*loc));
	if (src->type != PMEM2_SOURCE_FD) {
		RERR("an anonymous source is not backed by an NVDIMM region");
		return PMEM2_E_DAX_REGION_NOT_FOUND;
	}
	if (src->value.ftype == PMEM2_FTYPE_DEVDAX)
		return region_find_devdax(src->value.st_rdev, loc);
	return region_find_fsdax(src->value.st_dev, loc);
}

int
region_dimm_foreach(const struct region_loc *loc,
		int (*cb)(const char *dimm_dir, void *arg), void *arg)
{
	char buf[ATTR_MAX];
	int n = region_read_attr(loc->region, "mappings", buf, sizeof(buf), 1);
	unsigned long long count = 0;
	if (n >= 0) {
		int ret = region_read_u64(loc->region, "mappings", &count);
		if (ret)
			return ret;
	} else if (n != -ENOENT) {
		return region_read_attr(loc->region, "mappings", buf,
				sizeof(buf), 0);
	}
	/* without "mappings", walk mapping0, mapping1... until one is missing */
	for (unsigned i = 0; n < 0 || i < count; i++) {
		char attr[32], dimm[PATH_MAX];
		snprintf(attr, sizeof(attr), "mapping%u", i);
		int r = region_read_attr(loc->region, attr, buf, sizeof(buf),
				n < 0);
		if (r == -ENOENT && n < 0)
			return (int)i;
		if (r < 0)
			return r;
		size_t name = strcspn(buf, ",");
		if (name == 0 || buf[name] != ',' ||
				strncmp(buf, "nmem", 4) != 0) {
			RERR("unexpected contents \"%.20s\" in %s/%s (\"nmemN,"
				"offset,length,position\" expected)", buf,
				loc->region, attr);
			return PMEM2_E_INVALID_DEV_FORMAT;
		}
		snprintf(dimm, sizeof(dimm), "%s/sys/bus/nd/devices/%.*s",
			Sysfs_root, (int)name, buf);
		int ret = cb(dimm, arg);
		if (ret)
			return ret;
	}
	return (int)count;
}

int
region_deep_flush(const struct region_loc *loc)
{
	char buf[ATTR_MAX], path[PATH_MAX];
	int n = region_read_attr(loc->region, "deep_flush", buf, sizeof(buf),
			1);
	if (n == -ENOENT) {
		/* hidden by the kernel: no DIMM mappings or no flush
		 * mechanism known -- there is nothing deeper to flush */
		LOG(2, "region%u has no deep_flush attribute: nothing deeper "
			"than the CPU cache flush is possible", loc->id);
		return 0;
	}
	if (n < 0)
		return region_read_attr(loc->region, "deep_flush", buf,
				sizeof(buf), 0);
	if (strcmp(buf, "0") == 0) {
		/* no flush hints: the platform drains the WPQ on power loss */
		LOG(4, "region%u: deep flush not needed (no flush hints)",
			loc->id);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/deep_flush", loc->region);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		RERR_ERRNO(e, "region%u has flush hints but its deep_flush "
			"cannot be opened for writing (it needs root); the "
			"write-pending queues were not flushed: %s", loc->id,
			path);
		return -e;
	}
	ssize_t w = write(fd, "1", 1);
	int e = w < 0 ? errno : EIO;
	close(fd);
	if (w != 1) {
		RERR_ERRNO(e, "writing \"1\" to %s failed; the region's "
			"write-pending queues were not flushed", path);
		return -e;
	}
	return 0;
}

/*
 * domain_is_cpu_cache -- 1 if "<region>/persistence_domain" says
 * "cpu_cache"; 0 when it says anything else or is missing (unknown).
 */
static int
domain_is_cpu_cache(const char *region)
{
	char buf[ATTR_MAX];
	int saved = errno;
	int n = region_read_attr(region, "persistence_domain", buf,
			sizeof(buf), 1);
	errno = saved;
	return n > 0 && strcmp(buf, "cpu_cache") == 0;
}

/*
 * region_auto_flush -- the source's own region decides when it is known;
 * otherwise (and for anonymous sources) PMDK's global rule: eADR only when
 * every NVDIMM region says "cpu_cache" and there is at least one.
 */
int
region_auto_flush(const struct pmem2_source *src)
{
	if (src && src->type == PMEM2_SOURCE_FD) {
		struct region_loc loc;
		Quiet = 1;
		int ret = region_find(src, &loc);
		Quiet = 0;
		if (ret == 0)
			return domain_is_cpu_cache(loc.region);
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/sys/bus/nd/devices", Sysfs_root);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int regions = 0, eadr = 1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "region", 6) != 0)
			continue;
		char path[PATH_MAX + 300];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		regions++;
		if (!domain_is_cpu_cache(path))
			eadr = 0;
	}
	closedir(d);
	return regions > 0 && eadr;
}
