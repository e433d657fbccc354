/* SPDX-License-Identifier: BSD-3-Clause */
/* diff_common.h -- transcript helpers shared by the differential test programs */

#ifndef DIFF_COMMON_H
#define DIFF_COMMON_H 1

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <libpmem2.h>

#define KiB (1024UL)
#define MiB (1024UL * 1024UL)

/*
 * A non-NULL value stored in output pointers before a call, so the
 * transcript can tell "left untouched" from "set to NULL" on failure.
 */
#define SENTINEL ((void *)(uintptr_t)0x5eed0000UL)

static char diff_line[8192];
static size_t diff_len;
static char diff_tmpdir[512];
static int diff_seq;

/* L -- append formatted text to the current transcript line */
__attribute__((format(printf, 1, 2)))
static inline void
L(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(diff_line + diff_len, sizeof(diff_line) - diff_len,
		fmt, ap);
	va_end(ap);
	if (n > 0) {
		diff_len += (size_t)n;
		if (diff_len >= sizeof(diff_line))
			diff_len = sizeof(diff_line) - 1;
	}
}

/* E -- end and print the current transcript line */
static inline void
E(void)
{
	printf("%s\n", diff_line);
	fflush(stdout);
	diff_len = 0;
	diff_line[0] = '\0';
}

/* SECTION -- print a section header (helps to read a diff) */
static inline void
SECTION(const char *name)
{
	printf("== %s\n", name);
	fflush(stdout);
}

/* errname -- symbolic name of a libpmem2 return code (or -errno) */
static inline const char *
errname(int rc)
{
	switch (rc) {
	case 0: return "OK";
#define X(n) case PMEM2_E_##n: return #n
	X(UNKNOWN); X(NOSUPP); X(FILE_HANDLE_NOT_SET);
	X(INVALID_FILE_HANDLE); X(INVALID_FILE_TYPE); X(MAP_RANGE);
	X(MAPPING_EXISTS); X(GRANULARITY_NOT_SET);
	X(GRANULARITY_NOT_SUPPORTED); X(OFFSET_OUT_OF_RANGE);
	X(OFFSET_UNALIGNED); X(INVALID_ALIGNMENT_FORMAT);
	X(INVALID_ALIGNMENT_VALUE); X(INVALID_SIZE_FORMAT);
	X(LENGTH_UNALIGNED); X(MAPPING_NOT_FOUND); X(BUFFER_TOO_SMALL);
	X(SOURCE_EMPTY); X(INVALID_SHARING_VALUE); X(SRC_DEVDAX_PRIVATE);
	X(INVALID_ADDRESS_REQUEST_TYPE); X(ADDRESS_UNALIGNED);
	X(ADDRESS_NULL); X(DEEP_FLUSH_RANGE); X(INVALID_REGION_FORMAT);
	X(DAX_REGION_NOT_FOUND); X(INVALID_DEV_FORMAT);
	X(CANNOT_READ_BOUNDS); X(NO_BAD_BLOCK_FOUND);
	X(LENGTH_OUT_OF_RANGE); X(INVALID_PROT_FLAG); X(NO_ACCESS);
	X(VM_RESERVATION_NOT_EMPTY); X(MAP_EXISTS);
	X(FILE_DESCRIPTOR_NOT_SET); X(SOURCE_TYPE_NOT_SUPPORTED);
	X(IO_FAIL);
#undef X
	}
	if (rc < 0 && rc > -4096) {
		static char buf[64];
		snprintf(buf, sizeof(buf), "-%s",
			strerrorname_np(-rc) ? strerrorname_np(-rc) : "E?");
		return buf;
	}
	return "?";
}

/*
 * RC -- append " -> rc(NAME)" and, on failure, whether pmem2_errormsg()
 * holds a non-empty message (never the text itself: it may differ).
 */
static inline int
RC(int rc)
{
	L(" -> %d(%s)", rc, errname(rc));
	if (rc != 0) {
		const char *m = pmem2_errormsg();
		L(" msg=%s", (m && m[0]) ? "yes" : "no");
	}
	return rc;
}

/* PTR -- append the state of an output pointer */
static inline void
PTR(const char *name, const void *p)
{
	L(" %s=%s", name, p == NULL ? "NULL" :
		(p == SENTINEL ? "untouched" : "set"));
}

/* gname -- printable granularity */
static inline const char *
gname(int g)
{
	switch (g) {
	case PMEM2_GRANULARITY_BYTE: return "BYTE";
	case PMEM2_GRANULARITY_CACHE_LINE: return "CACHE_LINE";
	case PMEM2_GRANULARITY_PAGE: return "PAGE";
	}
	return "INVALID";
}

/* fnv -- FNV-1a 64-bit checksum of a buffer */
static inline uint64_t
fnv(const void *buf, size_t len)
{
	/* FNV-1a over 8-byte words (fast enough for whole-file sums) */
	const unsigned char *p = buf;
	uint64_t h = 0xcbf29ce484222325ULL ^ len;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h ^= w;
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* die -- harness failure (not a library divergence): stop the program */
__attribute__((noreturn, format(printf, 1, 2)))
static inline void
die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "diff harness error: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	printf("HARNESS ERROR (see stderr)\n");
	exit(2);
}

/* FSUM -- append size and checksum of a whole file, read with pread */
static inline void
FSUM(const char *name, int fd)
{
	struct stat st;
	if (fstat(fd, &st))
		die("fstat: %s", strerror(errno));
	size_t sz = (size_t)st.st_size;
	unsigned char *buf = malloc(sz ? sz : 1);
	if (!buf)
		die("malloc");
	size_t done = 0;
	while (done < sz) {
		ssize_t r = pread(fd, buf + done, sz - done, (off_t)done);
		if (r <= 0)
			die("pread: %s", r ? strerror(errno) : "EOF");
		done += (size_t)r;
	}
	L(" %s[size=%zu sum=%016llx]", name, sz,
		(unsigned long long)fnv(buf, sz));
	free(buf);
}

/* MSUM -- append a checksum of memory the test itself can read */
static inline void
MSUM(const char *name, const void *p, size_t len)
{
	L(" %s=%016llx", name, (unsigned long long)fnv(p, len));
}

/*
 * check_loaded_lib -- the transcript must come from the library the runner
 * meant to test: find every mapped file named libpmem2* in /proc/self/maps
 * and compare it with $DIFF_EXPECT_LIB (resolved through symlinks).
 */
static inline void
check_loaded_lib(void)
{
	const char *exp = getenv("DIFF_EXPECT_LIB");
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		die("cannot open /proc/self/maps");
	char line[PATH_MAX + 256];
	char found[PATH_MAX] = "";
	int nfound = 0;
	while (fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');
		if (!path)
			continue;
		path[strcspn(path, "\n")] = '\0';
		char tmp[PATH_MAX];
		snprintf(tmp, sizeof(tmp), "%s", path);
		if (strncmp(basename(tmp), "libpmem2", 8) != 0)
			continue;
		if (nfound == 0 || strcmp(found, path) != 0) {
			if (nfound && strcmp(found, path) != 0)
				die("two libpmem2 files mapped: %s and %s",
					found, path);
			snprintf(found, sizeof(found), "%s", path);
			nfound = 1;
		}
	}
	fclose(f);
	if (!nfound)
		die("no libpmem2 library is mapped");
	fprintf(stderr, "loaded libpmem2: %s\n", found);
	if (!exp)
		return;
	char re[PATH_MAX], rf[PATH_MAX];
	if (!realpath(exp, re))
		die("DIFF_EXPECT_LIB=%s: %s", exp, strerror(errno));
	if (!realpath(found, rf))
		die("realpath(%s): %s", found, strerror(errno));
	if (strcmp(re, rf) != 0)
		die("wrong library loaded: %s, expected %s", rf, re);
}

static inline void
rm_tmpdir(void)
{
	if (diff_tmpdir[0])
		rmdir(diff_tmpdir); /* files are unlinked by the tests */
}

/*
 * diff_init -- check the library, make a private temporary directory
 * (under $DIFF_TMPDIR, default /dev/shm) and print the environment the
 * transcript depends on.
 */
static inline void
diff_init(void)
{
	check_loaded_lib();
	const char *base = getenv("DIFF_TMPDIR");
	if (!base)
		base = "/dev/shm";
	snprintf(diff_tmpdir, sizeof(diff_tmpdir), "%s/pmem2diff.XXXXXX",
		base);
	if (!mkdtemp(diff_tmpdir))
		die("mkdtemp(%s): %s", diff_tmpdir, strerror(errno));
	atexit(rm_tmpdir);
	const char *fg = getenv("PMEM2_FORCE_GRANULARITY");
	printf("# PMEM2_FORCE_GRANULARITY=%s\n", fg ? fg : "(unset)");
	fflush(stdout);
}

/*
 * mkfile -- create a fresh file of the given size filled with a
 * deterministic pattern (seed 0 gives zeros); returns an fd opened with
 * 'flags' (the file is unlinked when the name is no longer needed)
 */
static inline int
mkfile(size_t size, unsigned seed, int flags, char *path_out)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/f%d", diff_tmpdir, diff_seq++);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		die("create %s: %s", path, strerror(errno));
	if (size) {
		unsigned char *buf = malloc(size);
		if (!buf)
			die("malloc");
		for (size_t i = 0; i < size; i++)
			buf[i] = seed ? (unsigned char)((i * 131 + seed) ^
				(i >> 12)) : 0;
		size_t done = 0;
		while (done < size) {
			ssize_t w = pwrite(fd, buf + done, size - done,
				(off_t)done);
			if (w <= 0)
				die("pwrite: %s", strerror(errno));
			done += (size_t)w;
		}
		free(buf);
	}
	if ((flags & O_ACCMODE) != O_RDWR) {
		close(fd);
		fd = open(path, flags);
		if (fd < 0)
			die("reopen %s: %s", path, strerror(errno));
	}
	if (path_out)
		snprintf(path_out, PATH_MAX, "%s", path);
	else
		unlink(path);
	return fd;
}

/* cfg_new -- a config for the tests (failure here is a harness error) */
static inline struct pmem2_config *
cfg_new(void)
{
	struct pmem2_config *cfg;
	if (pmem2_config_new(&cfg))
		die("pmem2_config_new failed");
	return cfg;
}

#endif /* DIFF_COMMON_H */
