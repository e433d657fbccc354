/* SPDX-License-Identifier: BSD-3-Clause */
/* dax_util.h -- small check/report helpers shared by the guest DAX tests. */

#ifndef PMEMSHIM_DAX_UTIL_H
#define PMEMSHIM_DAX_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define DAX_EXIT_SKIP 77

static int dax_failures;

/* CHECK(cond, fmt, ...) -- count and report a failed expectation */
#define CHECK(cond, ...) \
	do { \
		if (cond) { \
			printf("ok:   "); \
		} else { \
			printf("FAIL: %s:%d: (%s) ", __FILE__, __LINE__, \
				#cond); \
			dax_failures++; \
		} \
		printf(__VA_ARGS__); \
		printf("\n"); \
		fflush(stdout); \
	} while (0)

/* dax_result -- exit status for main: 0 pass, 1 fail */
static inline int
dax_result(void)
{
	printf("%d failed check(s)\n", dax_failures);
	return dax_failures ? 1 : 0;
}

/* dax_env -- value of an environment variable set by the guest's /init */
static inline const char *
dax_env(const char *name)
{
	const char *v = getenv(name);
	return (v && *v) ? v : NULL;
}

/* dax_skip -- exit with "skip" and a reason */
static inline void
dax_skip(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("SKIP: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	exit(DAX_EXIT_SKIP);
}

/* dax_die -- a setup step of the test itself failed */
static inline void
dax_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("FAIL: ");
	vprintf(fmt, ap);
	printf(" (errno: %s)\n", strerror(errno));
	va_end(ap);
	exit(1);
}

/* dax_read_u64 -- read one unsigned number from a (sysfs) file; 0 on success */
static inline int
dax_read_u64(const char *path, uint64_t *val)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	unsigned long long v;
	int ok = fscanf(f, "%llu", &v) == 1;
	fclose(f);
	if (!ok)
		return -1;
	*val = v;
	return 0;
}

/* dax_devdax_attr -- read attribute ATTR of the device DAX char device FD */
static inline int
dax_devdax_attr(int fd, const char *attr, uint64_t *val)
{
	struct stat st;
	char path[256];
	if (fstat(fd, &st))
		return -1;
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/%s",
		major(st.st_rdev), minor(st.st_rdev), attr);
	if (dax_read_u64(path, val) == 0)
		return 0;
	/* older kernels keep some attributes on the parent device */
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/device/%s",
		major(st.st_rdev), minor(st.st_rdev), attr);
	return dax_read_u64(path, val);
}

/* dax_make_file -- create (truncate) a file of SIZE bytes, filled with zeros */
static inline int
dax_make_file(const char *path, size_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		dax_die("open %s", path);
	if (posix_fallocate(fd, 0, (off_t)size))
		dax_die("posix_fallocate %s", path);
	return fd;
}

/*
 * dax_all_regions_cpu_cache -- 1 if every nd region reports
 * persistence_domain "cpu_cache" (eADR), 0 if one does not (including an
 * absent attribute), -1 if there is no region at all.  Also returns, in
 * *first, the value of the first region's attribute ("" when absent).
 */
static inline int
dax_all_regions_cpu_cache(char *first, size_t firstlen)
{
	int nregions = 0, all = 1;
	first[0] = '\0';
	for (int i = 0; i < 64; i++) {
		char path[128], buf[64] = "";
		snprintf(path, sizeof(path), "/sys/bus/nd/devices/region%d", i);
		if (access(path, F_OK))
			continue;
		nregions++;
		strcat(path, "/persistence_domain");
		FILE *f = fopen(path, "r");
		if (f) {
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = '\0';
			fclose(f);
		}
		buf[strcspn(buf, "\n")] = '\0';
		if (nregions == 1)
			snprintf(first, firstlen, "%s", buf);
		if (strcmp(buf, "cpu_cache") != 0)
			all = 0;
	}
	return nregions ? all : -1;
}

#endif
