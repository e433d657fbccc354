/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ras_diff.c -- prints what every RAS call returns on this machine's real
 * files (tmpfs, the root file system) and on anonymous sources.  Run once
 * against Debian's libpmem2 and once against ours (LD_LIBRARY_PATH); the
 * two transcripts must be identical.  Messages are not printed (they are
 * ours to word), only codes and output values.
 *
 * usage: ras_diff DIR...   (one scenario per directory; the library in
 * use is named on stderr)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpmem2.h>

#define FILE_SIZE (256u * 1024u)
#define SENT_U64 0x5eed5eed5eed5eedULL
#define SENT_INT 0x5eed

/* code -- a return code as text: 0, a PMEM2_E_ offset, or -errno name */
static const char *
code(int rc)
{
	static char buf[64];
	if (rc == 0)
		return "0";
	if (rc <= -100000)
		snprintf(buf, sizeof(buf), "PMEM2_E(%d)", rc);
	else
		snprintf(buf, sizeof(buf), "-errno(%s)", strerrorname_np(-rc)
			? strerrorname_np(-rc) : "?");
	return buf;
}

/* ids -- device id: query the length, then fetch with several buffers */
static void
ids(const char *tag, const struct pmem2_source *src)
{
	size_t len = 12345;
	int rc = pmem2_source_device_id(src, NULL, &len);
	printf("%s device_id(NULL): %s len=%zu\n", tag, code(rc), len);
	if (rc == 0) {
		char *buf = malloc(len + 8);
		memset(buf, 0, len + 8);
		size_t l = len;
		rc = pmem2_source_device_id(src, buf, &l);
		printf("%s device_id(buf,len): %s len=%zu id=\"%s\"\n", tag,
			code(rc), l, buf);
		if (len > 1) {
			memset(buf, 0, len + 8);
			l = len - 1;
			rc = pmem2_source_device_id(src, buf, &l);
			printf("%s device_id(buf,len-1): %s len=%zu\n", tag,
				code(rc), l);
		}
		free(buf);
	} else {
		char buf[64] = "untouched";
		size_t l = sizeof(buf);
		rc = pmem2_source_device_id(src, buf, &l);
		printf("%s device_id(buf,64): %s len=%zu id=\"%s\"\n", tag,
			code(rc), l, buf);
	}
}

/* facts -- USC, NUMA node and the device id of a source */
static void
facts(const char *tag, const struct pmem2_source *src)
{
	uint64_t usc = SENT_U64;
	int rc = pmem2_source_device_usc(src, &usc);
	printf("%s device_usc: %s usc=%s\n", tag, code(rc),
		usc == SENT_U64 ? "untouched" : (usc == 0 ? "0" : "set"));
	int node = SENT_INT;
	rc = pmem2_source_numa_node(src, &node);
	printf("%s numa_node: %s node=%s\n", tag, code(rc),
		node == SENT_INT ? "untouched" : "set");
	ids(tag, src);
}

/* badblocks -- context, iteration, clearing */
static void
badblocks(const char *tag, const struct pmem2_source *src)
{
	struct pmem2_badblock_context *ctx = (void *)0x1;
	int rc = pmem2_badblock_context_new(&ctx, src);
	printf("%s badblock_context_new: %s ctx=%s\n", tag, code(rc),
		ctx == NULL ? "NULL" : (ctx == (void *)0x1 ? "untouched"
			: "set"));
	if (rc)
		return;
	struct pmem2_badblock bb = {111, 222};
	for (int i = 0; i < 2; i++) {
		rc = pmem2_badblock_next(ctx, &bb);
		printf("%s badblock_next#%d: %s\n", tag, i, code(rc));
	}
	struct pmem2_badblock c = {0, 4096};
	printf("%s badblock_clear(0,4096): %s\n", tag,
		code(pmem2_badblock_clear(ctx, &c)));
	c.offset = (size_t)INT64_MAX + 1;
	printf("%s badblock_clear(>INT64_MAX,4096): %s\n", tag,
		code(pmem2_badblock_clear(ctx, &c)));
	c.offset = 0;
	c.length = (size_t)INT64_MAX + 1;
	printf("%s badblock_clear(0,>INT64_MAX): %s\n", tag,
		code(pmem2_badblock_clear(ctx, &c)));
	pmem2_badblock_context_delete(&ctx);
	printf("%s badblock_context_delete: ctx=%s\n", tag,
		ctx ? "set" : "NULL");
	pmem2_badblock_context_delete(&ctx); /* NULL: no-op */
}

/* io -- pread/pwrite_mcsafe: in range, at the edges, past the end */
static void
io(const char *tag, struct pmem2_source *src, size_t size)
{
	static char buf[FILE_SIZE + 8192];
	static const struct { size_t len, off; const char *what; } c[] = {
		{ 64, 0, "64@0" }, { 4096, 100, "4096@100" },
		{ FILE_SIZE, 0, "all@0" }, { FILE_SIZE + 1, 0, "all+1@0" },
		{ 10, FILE_SIZE - 5, "10@end-5" }, { 0, FILE_SIZE, "0@end" },
		{ 1, FILE_SIZE, "1@end" }, { 0, 0, "0@0" },
	};
	(void) size;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		memset(buf, 'w', sizeof(buf));
		int rc = pmem2_source_pwrite_mcsafe(src, buf, c[i].len,
			c[i].off);
		printf("%s pwrite_mcsafe(%s): %s\n", tag, c[i].what, code(rc));
		memset(buf, 0, sizeof(buf));
		rc = pmem2_source_pread_mcsafe(src, buf, c[i].len, c[i].off);
		printf("%s pread_mcsafe(%s): %s first=%d\n", tag, c[i].what,
			code(rc), buf[0]);
	}
}

/* deep -- pmem2_deep_flush inside and outside a mapping */
static void
deep(const char *tag, struct pmem2_source *src, enum pmem2_sharing_type sh,
	enum pmem2_granularity g)
{
	struct pmem2_config *cfg;
	struct pmem2_map *map = NULL;
	if (pmem2_config_new(&cfg))
		return;
	pmem2_config_set_required_store_granularity(cfg, g);
	pmem2_config_set_sharing(cfg, sh);
	int rc = pmem2_map_new(&map, cfg, src);
	printf("%s map_new(sharing=%d,gran=%d): %s\n", tag, sh, g, code(rc));
	if (rc == 0) {
		char *a = pmem2_map_get_address(map);
		size_t s = pmem2_map_get_size(map);
		printf("%s   store_granularity=%d\n", tag,
			pmem2_map_get_store_granularity(map));
		memset(a, 'd', 8192);
		static const struct { long off; size_t len; const char *w; }
		c[] = {
			{ 0, 0, "whole" }, { 100, 5000, "100+5000" },
			{ 0, 1, "0+0" }, { -1, 1, "before" },
			{ -64, 128, "straddle-start" }, { 1, 0, "end+0" },
			{ 2, 0, "end-64+128" }, { 3, 0, "end+1" },
		};
		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			char *p = a + c[i].off;
			size_t len = c[i].len;
			if (i == 0)
				len = s;
			else if (i == 2)
				len = 0;
			else if (i == 5) {
				p = a + s;
				len = 0;
			} else if (i == 6) {
				p = a + s - 64;
				len = 128;
			} else if (i == 7) {
				p = a + s;
				len = 1;
			}
			rc = pmem2_deep_flush(map, p, len);
			printf("%s   deep_flush(%s): %s\n", tag, c[i].w,
				code(rc));
		}
		pmem2_map_delete(&map);
	}
	pmem2_config_delete(&cfg);
}

static void
anon(void)
{
	struct pmem2_source *src;
	int rc = pmem2_source_from_anon(&src, FILE_SIZE);
	printf("anon source_from_anon: %s\n", code(rc));
	if (rc)
		return;
	facts("anon", src);
	badblocks("anon", src);
	char b[64];
	printf("anon pread_mcsafe: %s\n",
		code(pmem2_source_pread_mcsafe(src, b, 64, 0)));
	printf("anon pwrite_mcsafe: %s\n",
		code(pmem2_source_pwrite_mcsafe(src, b, 64, 0)));
	for (int g = PMEM2_GRANULARITY_BYTE; g <= PMEM2_GRANULARITY_PAGE; g++)
		deep("anon", src, PMEM2_SHARED, (enum pmem2_granularity)g);
	pmem2_source_delete(&src);
}

static void
file(const char *dir)
{
	char path[4096], tag[64];
	snprintf(path, sizeof(path), "%s/ras_diff.XXXXXX", dir);
	int fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, FILE_SIZE)) {
		perror(path);
		exit(2);
	}
	unlink(path);
	snprintf(tag, sizeof(tag), "%s", dir);

	struct pmem2_source *src;
	int rc = pmem2_source_from_fd(&src, fd);
	printf("%s source_from_fd: %s\n", tag, code(rc));
	if (rc)
		exit(2);
	facts(tag, src);
	badblocks(tag, src);
	io(tag, src, FILE_SIZE);
	for (int g = PMEM2_GRANULARITY_BYTE; g <= PMEM2_GRANULARITY_PAGE; g++) {
		deep(tag, src, PMEM2_SHARED, (enum pmem2_granularity)g);
		deep(tag, src, PMEM2_PRIVATE, (enum pmem2_granularity)g);
	}
	pmem2_source_delete(&src);

	/* a read-only descriptor: pwrite fails in the kernel */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int rfd = open(path, O_RDONLY);
	if (rfd >= 0 && pmem2_source_from_fd(&src, rfd) == 0) {
		snprintf(tag, sizeof(tag), "%s(rdonly)", dir);
		io(tag, src, FILE_SIZE);
		facts(tag, src);
		pmem2_source_delete(&src);
	}
	if (rfd >= 0)
		close(rfd);

	/* a source whose descriptor was closed behind its back */
	int dfd = dup(fd);
	if (dfd >= 0 && pmem2_source_from_fd(&src, dfd) == 0) {
		close(dfd);
		snprintf(tag, sizeof(tag), "%s(closed)", dir);
		char b[64];
		printf("%s pread_mcsafe: %s\n", tag,
			code(pmem2_source_pread_mcsafe(src, b, 64, 0)));
		printf("%s pwrite_mcsafe: %s\n", tag,
			code(pmem2_source_pwrite_mcsafe(src, b, 64, 0)));
		facts(tag, src);
		badblocks(tag, src);
		pmem2_source_delete(&src);
	}
	close(fd);
}

int
main(int argc, char *argv[])
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* which libpmem2 this run uses, for ras_diff.sh to check */
	Dl_info info;
	if (dladdr((void *)pmem2_source_device_id, &info) && info.dli_fname)
		fprintf(stderr, "libpmem2: %s\n", info.dli_fname);
	anon();
	for (int i = 1; i < argc; i++)
		file(argv[i]);
	return 0;
}
