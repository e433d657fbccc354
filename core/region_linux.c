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

/*
 * read_sysfs -- read a small sysfs file into buf (NUL-terminated).  Returns
 * the length or a negative errno, with a message.
 */
static int
read_sysfs(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		ERR_ERRNO(e, "cannot open %s", path);
		return -e;
	}
	ssize_t n = read(fd, buf, size - 1);
	int e = errno;
	close(fd);
	if (n < 0) {
		ERR_ERRNO(e, "cannot read %s", path);
		return -e;
	}
	buf[n] = '\0';
	return (int)n;
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
		ERR_ERRNO(e, "cannot resolve %s", path);
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
	char path[PATH_MAX], buf[64];
	snprintf(path, sizeof(path), "%s/sys/dev/char/%u:%u/%s", Sysfs_root,
		major(src->value.st_rdev), minor(src->value.st_rdev), attr);
	int n = read_sysfs(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 0);
	if (errno || end == buf || (*end != '\n' && *end != '\0')) {
		ERR("unexpected contents \"%.20s\" in %s", buf, path);
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
	int ret = read_devdax_number(src, "device/align",
			PMEM2_E_INVALID_ALIGNMENT_FORMAT, align);
	if (ret)
		return ret;
	if (*align == 0 || (*align & (*align - 1))) {
		ERR("device DAX alignment %zu is not a power of two", *align);
		return PMEM2_E_INVALID_ALIGNMENT_VALUE;
	}
	return 0;
}

/*
 * region_auto_flush -- eADR only when every NVDIMM region says its
 * persistence domain is "cpu_cache" (and there is at least one), as PMDK
 * decides.  A missing attribute means unknown, which is not eADR.
 */
int
region_auto_flush(const struct pmem2_source *src)
{
	(void) src;
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
		char path[PATH_MAX + 300], buf[64];
		snprintf(path, sizeof(path), "%s/%s/persistence_domain", dir,
			e->d_name);
		regions++;
		int saved_msg_errno = errno;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		errno = saved_msg_errno;
		if (fd < 0) {
			eadr = 0;
			continue;
		}
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0) {
			eadr = 0;
			continue;
		}
		buf[n] = '\0';
		if (strncmp(buf, "cpu_cache", 9) != 0)
			eadr = 0;
	}
	closedir(d);
	return regions > 0 && eadr;
}
