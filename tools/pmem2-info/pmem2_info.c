// SPDX-License-Identifier: BSD-3-Clause
/*
 * pmem2_info.c -- pmem2-info: what libpmem2 sees for each file or device
 * (source type, DAX and why, granularity, alignment, size, device id, NUMA
 * node, unsafe-shutdown count, bad blocks).  See pmem2-info(1).
 *
 * Exit status: 0 every path is DAX (granularity finer than PAGE),
 * 1 some path is not DAX or not usable by libpmem2 (reason printed),
 * 2 some path could not be opened, or bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <libpmem2.h>

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

enum verdict { V_DAX = 0, V_NOT_DAX = 1, V_ERROR = 2 };

static const char *const Gran_names[] = {
	[PMEM2_GRANULARITY_BYTE] = "BYTE",
	[PMEM2_GRANULARITY_CACHE_LINE] = "CACHE_LINE",
	[PMEM2_GRANULARITY_PAGE] = "PAGE",
};

/* field -- one "  name: value" line, aligned */
static void
field(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void
field(const char *name, const char *fmt, ...)
{
	va_list ap;
	printf("  %-22s ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* code_name -- "PMEM2_E_NOSUPP", "ENOENT"... for a failed call's return */
static const char *
code_name(int ret)
{
	static const char *const names[] = {
#define E(n) [-(n) - 100000] = #n
		E(PMEM2_E_UNKNOWN), E(PMEM2_E_NOSUPP),
		E(PMEM2_E_FILE_HANDLE_NOT_SET), E(PMEM2_E_INVALID_FILE_HANDLE),
		E(PMEM2_E_INVALID_FILE_TYPE), E(PMEM2_E_MAP_RANGE),
		E(PMEM2_E_MAPPING_EXISTS), E(PMEM2_E_GRANULARITY_NOT_SET),
		E(PMEM2_E_GRANULARITY_NOT_SUPPORTED),
		E(PMEM2_E_OFFSET_OUT_OF_RANGE), E(PMEM2_E_OFFSET_UNALIGNED),
		E(PMEM2_E_INVALID_ALIGNMENT_FORMAT),
		E(PMEM2_E_INVALID_ALIGNMENT_VALUE),
		E(PMEM2_E_INVALID_SIZE_FORMAT), E(PMEM2_E_LENGTH_UNALIGNED),
		E(PMEM2_E_MAPPING_NOT_FOUND), E(PMEM2_E_BUFFER_TOO_SMALL),
		E(PMEM2_E_SOURCE_EMPTY), E(PMEM2_E_INVALID_SHARING_VALUE),
		E(PMEM2_E_SRC_DEVDAX_PRIVATE),
		E(PMEM2_E_INVALID_ADDRESS_REQUEST_TYPE),
		E(PMEM2_E_ADDRESS_UNALIGNED), E(PMEM2_E_ADDRESS_NULL),
		E(PMEM2_E_DEEP_FLUSH_RANGE), E(PMEM2_E_INVALID_REGION_FORMAT),
		E(PMEM2_E_DAX_REGION_NOT_FOUND), E(PMEM2_E_INVALID_DEV_FORMAT),
		E(PMEM2_E_CANNOT_READ_BOUNDS), E(PMEM2_E_NO_BAD_BLOCK_FOUND),
		E(PMEM2_E_LENGTH_OUT_OF_RANGE), E(PMEM2_E_INVALID_PROT_FLAG),
		E(PMEM2_E_NO_ACCESS), E(PMEM2_E_VM_RESERVATION_NOT_EMPTY),
		E(PMEM2_E_MAP_EXISTS), E(PMEM2_E_FILE_DESCRIPTOR_NOT_SET),
		E(PMEM2_E_SOURCE_TYPE_NOT_SUPPORTED), E(PMEM2_E_IO_FAIL),
#undef E
	};
	static char buf[32];
	int i = -ret - 100000;
	if (i >= 0 && i < (int)(sizeof(names) / sizeof(names[0])) && names[i])
		return names[i];
	if (ret < 0 && ret > -4096 && strerrorname_np(-ret))
		return strerrorname_np(-ret);
	snprintf(buf, sizeof(buf), "%d", ret);
	return buf;
}

/* failed -- "WHAT (CODE): the library's message" for a failed call */
static void
failed(const char *name, const char *what, int ret)
{
	const char *m = pmem2_errormsg();
	field(name, "%s (%s): %s", what, code_name(ret),
		m && *m ? m : "(no message)");
}

/* char_subsystem -- the sysfs subsystem of a character device ("dax"...) */
static void
char_subsystem(const struct stat *st, char *buf, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX];
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/subsystem",
		major(st->st_rdev), minor(st->st_rdev));
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		snprintf(buf, len, "unknown (%s)", strerror(errno));
		return;
	}
	link[n] = '\0';
	snprintf(buf, len, "%s", basename(link));
}

/* kernel_view -- the kernel's own DAX signals, independent of the library */
static void
kernel_view(int fd, const struct stat *st, int writable, int devdax)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) != 0)
		field("statx DAX flag:", "unavailable (%s)", strerror(errno));
	else if (!(sx.stx_attributes_mask & STATX_ATTR_DAX))
		field("statx DAX flag:", "not reported by this kernel/fs");
	else
		field("statx DAX flag:", "%s", sx.stx_attributes &
			STATX_ATTR_DAX ? "set" : "clear");

	if (devdax) {
		/* no page cache to write back: MAP_SYNC has no meaning there
		 * (and a 4 KiB probe is below the device's alignment) */
		field("MAP_SYNC probe:", "not needed (device DAX)");
		return;
	}
	if (S_ISREG(st->st_mode) && st->st_size == 0) {
		field("MAP_SYNC probe:", "not tried (empty file)");
		return;
	}
	long pg = sysconf(_SC_PAGESIZE);
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	void *p = mmap(NULL, (size_t)pg, prot, MAP_SHARED_VALIDATE | MAP_SYNC,
		fd, 0);
	if (p == MAP_FAILED) {
		field("MAP_SYNC probe:", "refused (%s)%s", strerror(errno),
			errno == EOPNOTSUPP ? ": not DAX" : "");
	} else {
		munmap(p, (size_t)pg);
		field("MAP_SYNC probe:", "accepted: DAX");
	}
}

/* badblocks -- count (and list a few) bad blocks, or say why not */
static void
badblocks(struct pmem2_source *src, enum verdict v)
{
	struct pmem2_badblock_context *bbctx;
	int ret = pmem2_badblock_context_new(&bbctx, src);
	if (ret) {
		failed("bad blocks:", "unavailable", ret);
		return;
	}
	struct pmem2_badblock bb;
	unsigned n = 0;
	while ((ret = pmem2_badblock_next(bbctx, &bb)) == 0) {
		if (n < 8)
			field(n ? "" : "bad blocks:", "offset %zu length %zu",
				bb.offset, bb.length);
		n++;
	}
	if (ret != PMEM2_E_NO_BAD_BLOCK_FOUND)
		failed("bad blocks:", "listing stopped", ret);
	else if (n == 0)
		/* the library gives a file off pmem an empty list, as PMDK
		 * does: say that nothing was there to check */
		field("bad blocks:", "%s", v == V_DAX ? "none" :
			"none listed (not on persistent memory)");
	else
		field("", "%u bad block(s)%s", n, n > 8 ? " (first 8 shown)" :
			"");
	pmem2_badblock_context_delete(&bbctx);
}

/* granularity -- map the whole source asking for the coarsest granularity
 * (always allowed) and report what the library gives the mapping */
static enum verdict
granularity(struct pmem2_source *src, int writable)
{
	struct pmem2_config *cfg;
	struct pmem2_map *map;
	int ret = pmem2_config_new(&cfg);
	if (ret) {
		failed("granularity:", "error", ret);
		return V_ERROR;
	}
	pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE);
	if (!writable)
		pmem2_config_set_protection(cfg, PMEM2_PROT_READ);
	enum verdict v = V_NOT_DAX;
	if ((ret = pmem2_map_new(&map, cfg, src)) != 0) {
		failed("granularity:", "cannot map", ret);
	} else {
		enum pmem2_granularity g = pmem2_map_get_store_granularity(map);
		const char *why = g == PMEM2_GRANULARITY_BYTE ?
			"(eADR: stores are durable once visible)" :
			g == PMEM2_GRANULARITY_CACHE_LINE ?
			"(DAX: flush CPU caches, no msync)" :
			"(not DAX: durability needs msync/fsync)";
		field("granularity:", "%s %s",
			g <= PMEM2_GRANULARITY_PAGE ? Gran_names[g] : "?", why);
		if (g != PMEM2_GRANULARITY_PAGE)
			v = V_DAX;
		const char *forced = getenv("PMEM2_FORCE_GRANULARITY");
		if (forced && *forced)
			field("", "forced by PMEM2_FORCE_GRANULARITY=%s",
				forced);
		pmem2_map_delete(&map);
	}
	pmem2_config_delete(&cfg);
	return v;
}

/* library_view -- everything libpmem2 reports for the source */
static enum verdict
library_view(int fd, int writable)
{
	struct pmem2_source *src;
	int ret = pmem2_source_from_fd(&src, fd);
	if (ret) {
		failed("libpmem2:", "not usable", ret);
		return V_NOT_DAX;
	}
	size_t size, align;
	if ((ret = pmem2_source_size(src, &size)) == 0)
		field("size:", "%zu bytes", size);
	else
		failed("size:", "unavailable", ret);
	if ((ret = pmem2_source_alignment(src, &align)) == 0)
		field("alignment:", "%zu bytes", align);
	else
		failed("alignment:", "unavailable", ret);

	enum verdict v = granularity(src, writable);

	size_t len = 0;
	if ((ret = pmem2_source_device_id(src, NULL, &len)) == 0) {
		char *id = malloc(len ? len : 1);
		if (!id)
			field("device id:", "unavailable: out of memory");
		else if ((ret = pmem2_source_device_id(src, id, &len)) == 0)
			field("device id:", "%s", id);
		else
			failed("device id:", "unavailable", ret);
		free(id);
	} else {
		failed("device id:", "unavailable", ret);
	}
	int node;
	if ((ret = pmem2_source_numa_node(src, &node)) == 0)
		field("NUMA node:", "%d", node);
	else
		failed("NUMA node:", "unavailable", ret);
	uint64_t usc;
	if ((ret = pmem2_source_device_usc(src, &usc)) == 0)
		field("unsafe shutdowns:", "%llu", (unsigned long long)usc);
	else
		failed("unsafe shutdowns:", "unavailable", ret);
	badblocks(src, v);
	pmem2_source_delete(&src);
	return v;
}

/* type_name -- the source type as libpmem2 distinguishes them */
static const char *
type_name(const struct stat *st, char *sub, size_t sublen)
{
	if (S_ISREG(st->st_mode))
		return "regular file";
	if (S_ISDIR(st->st_mode))
		return "directory (not a libpmem2 source)";
	if (S_ISCHR(st->st_mode)) {
		char_subsystem(st, sub, sublen);
		return strcmp(sub, "dax") == 0 ? "device DAX" :
			"character device (not device DAX)";
	}
	if (S_ISBLK(st->st_mode))
		return "block device (not a libpmem2 source; mount it "
			"with -o dax and use a file)";
	return "other (not a libpmem2 source)";
}

/* info -- one path's report; returns its verdict */
static enum verdict
info(const char *path)
{
	printf("%s:\n", path);
	int writable = 1, no_write_perm = 0;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EISDIR ||
			errno == EPERM)) {
		no_write_perm = errno != EISDIR;
		writable = 0;
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		field("error:", "cannot open: %s", strerror(errno));
		return V_ERROR;
	}
	struct stat st;
	if (fstat(fd, &st)) {
		field("error:", "fstat: %s", strerror(errno));
		close(fd);
		return V_ERROR;
	}
	char sub[PATH_MAX] = "";
	field("type:", "%s", type_name(&st, sub, sizeof(sub)));
	if (S_ISCHR(st.st_mode))
		field("device:", "%u:%u, sysfs subsystem %s",
			major(st.st_rdev), minor(st.st_rdev), sub);
	if (no_write_perm)
		field("opened:", "read-only (no write permission)");
	if (S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))
		kernel_view(fd, &st, writable, S_ISCHR(st.st_mode) &&
			strcmp(sub, "dax") == 0);
	enum verdict v = library_view(fd, writable);
	const char *forced = getenv("PMEM2_FORCE_GRANULARITY");
	field("verdict:", "%s", v == V_DAX ? (forced && *forced ?
		"DAX (as forced by PMEM2_FORCE_GRANULARITY)" : "DAX") :
		v == V_NOT_DAX ? "not DAX" : "error");
	close(fd);
	return v;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: pmem2-info PATH...\n"
		"For each file or device: what libpmem2 sees (source type, DAX "
		"or not and why,\ngranularity, alignment, size, device id, "
		"NUMA node, unsafe-shutdown count,\nbad blocks).\n\n"
		"exit status: 0 every PATH is DAX, 1 some PATH is not DAX (or "
		"not usable by\nlibpmem2), 2 some PATH could not be opened, "
		"or bad usage.\n"
		"The library's variables apply (PMEM2_FORCE_GRANULARITY, "
		"PMEM2_LOG_LEVEL, ...).\n");
}

int
main(int argc, char **argv)
{
	int first = 1;
	if (argc > 1 && (!strcmp(argv[1], "-h") ||
			!strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--"))
		first = 2;
	else if (argc > 1 && argv[1][0] == '-' && argv[1][1]) {
		fprintf(stderr, "pmem2-info: unknown option '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	if (first >= argc) {
		fprintf(stderr, "pmem2-info: no PATH given\n");
		usage(stderr);
		return 2;
	}
	enum verdict worst = V_DAX;
	for (int i = first; i < argc; i++) {
		enum verdict v = info(argv[i]);
		if (v > worst)
			worst = v;
		if (i + 1 < argc)
			putchar('\n');
	}
	return (int)worst;
}
