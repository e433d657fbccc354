/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_basic.c -- the hooks really interpose, non-DAX mappings are left
 * alone, a DAX-path mapping is taken over, msync is served in user space
 * and memcpy into it goes through the core's mover.
 */
#include "shim_test.h"

/*
 * expected_gran -- the granularity the shim should serve d with, from the
 * environment alone, or -1 when that cannot tell (real DAX: the platform
 * decides).  PMEMSHIM_GRANULARITY sets emulated DAX's; PMEM_NO_FLUSH=1
 * turns CACHE_LINE into BYTE (no flushes), PMEM_NO_FLUSH=0 BYTE into
 * CACHE_LINE (flushes all the same), as for the pmem2 API.
 */
static int
expected_gran(void)
{
	const char *g = getenv("PMEMSHIM_GRANULARITY");
	const char *nf = getenv("PMEM_NO_FLUSH");
	int byte = g && strcasecmp(g, "BYTE") == 0;
	if (nf && strcmp(nf, "1") == 0)
		return 0;
	if (nf && strcmp(nf, "0") == 0)
		return 1;
	return Real_dax ? -1 : !byte;
}

int
main(void)
{
	const char *dax = shim_test_init();
	const char *plain = plain_dir();
	size_t len = 64 * 4096;

	/* interposition: the program's memcpy/mmap/msync resolve to us */
	Dl_info a, b;
	CHECK(dladdr(dlsym(RTLD_DEFAULT, "memcpy"), &a) && a.dli_fname &&
		strstr(a.dli_fname, "pmemshim"));
	CHECK(dladdr(dlsym(RTLD_DEFAULT, "msync"), &b) && b.dli_fname &&
		strstr(b.dli_fname, "pmemshim"));
	CHECK(dladdr((void *)&memcpy, &a) && strstr(a.dli_fname, "pmemshim"));
	CHECK(dladdr((void *)&mmap, &a) && strstr(a.dli_fname, "pmemshim"));

	/* a regular (non-DAX) file: untouched */
	char ppath[512], dpath[512];
	int pfd = make_file(plain, "plain", len, 'p', ppath);
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, pfd, 0);
	FATAL(p != MAP_FAILED);
	CHECK(Gran(p) == -1);
	unsigned long user0 = ctr("msync_user_space");
	memcpy(p + 100, "hello", 5);
	CHECK(msync(p, len, MS_SYNC) == 0);
	CHECK(ctr("msync_user_space") == user0);
	CHECK(munmap(p, len) == 0);

	/* anonymous and private: untouched */
	char *an = mmap(NULL, len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FATAL(an != MAP_FAILED);
	CHECK(Gran(an) == -1);
	munmap(an, len);

	/* a DAX-path file: taken over */
	unsigned long taken0 = ctr("maps_taken_over");
	unsigned long real0 = ctr("maps_taken_real_dax");
	unsigned long tracked0 = ctr("maps_dirty_tracked");
	int fd = make_file(dax, "basic", len, 'd', dpath);
	char *d = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(d != MAP_FAILED);
	CHECK(ctr("maps_taken_over") == taken0 + 1);
	/* counted as real DAX only when the kernel says so */
	CHECK(ctr("maps_taken_real_dax") == real0 + (Real_dax ? 1 : 0));
	CHECK(Gran(d) >= 0);
	int want = expected_gran();
	printf("served at %d (expected %d)\n", Gran(d), want);
	CHECK(want < 0 || Gran(d) == want);
	/* written pages are tracked where cache lines are flushed, and only
	 * on emulated DAX (tmpfs) */
	CHECK(ctr("maps_dirty_tracked") == tracked0 + (!Real_dax &&
		Gran(d) == 1 && tracking_expected()));
	CHECK(Gran(d + len - 1) >= 0);
	CHECK(Gran(d + len) == -1);

	/* msync served in user space, flushed bytes counted */
	d[5] = 'X';
	user0 = ctr("msync_user_space");
	unsigned long fl0 = ctr("msync_bytes_flushed");
	CHECK(msync(d, 4096, MS_SYNC) == 0);
	CHECK(ctr("msync_user_space") == user0 + 1);
	CHECK(ctr("msync_bytes_flushed") >= fl0 + 4096);

	/* memcpy into DAX: the mover for large copies, libc for small.  The
	 * mover's threshold (hooks_mem.c): MOVER_MIN, 1 KiB; MOVER_MIN_DRAM,
	 * 32 KiB, into emulated DAX at BYTE granularity */
	size_t min = Gran(d) == 0 /* BYTE */ && !Real_dax ? 32768 : 1024;
	printf("the mover from %zu bytes (%s)\n", min, Gran(d) == 0 ?
		"BYTE granularity" : "CACHE_LINE granularity");
	char *src = malloc(len);
	FATAL(src);
	for (size_t i = 0; i < len; i++)
		src[i] = (char)(i * 7 + 3);
	unsigned long c0 = ctr("copies_into_dax");
	unsigned long nt0 = ctr("bytes_moved_by_core");
	memcpy(d + 4096, src, 32768);
	memmove(d + 8192, d + 4096, 8192);	/* overlapping-safe move */
	volatile size_t five = 5;	/* not inlined by the compiler */
	memcpy(d + 100, "small", five);
	CHECK(ctr("copies_into_dax") == c0 + 3);
	unsigned long moved = 32768 + (8192 >= min ? 8192 : 0);
	CHECK(ctr("bytes_moved_by_core") == nt0 + moved);
	volatile size_t below = min - 1, at = min;
	memcpy(d + 40000, src, below);
	CHECK(ctr("bytes_moved_by_core") == nt0 + moved);
	memcpy(d + 40000, src, at);
	CHECK(ctr("bytes_moved_by_core") == nt0 + moved + min);
	CHECK(memcmp(d + 40000, src, min) == 0);
	CHECK(memcmp(d + 8192, src, 8192) == 0);
	CHECK(memcmp(d + 4096, src, 4096) == 0);
	CHECK(memcmp(d + 16384, src + 12288, 20480) == 0);
	CHECK(msync(d, len, MS_SYNC) == 0);

	/* the file has the data (read back with pread, not the mapping) */
	char *back = malloc(len);
	FATAL(back && pread(fd, back, len, 0) == (ssize_t)len);
	CHECK(memcmp(back, d, len) == 0);
	CHECK(back[5] == 'X' && memcmp(back + 100, "small", 5) == 0);

	/* MS_ASYNC and MS_INVALIDATE keep working */
	CHECK(msync(d, len, MS_ASYNC) == 0);
	CHECK(msync(d, len, MS_SYNC | MS_INVALIDATE) == 0);

	/* stats really go out: munmap takes the entry out */
	CHECK(munmap(d, len) == 0);
	CHECK(Gran(d) == -1);
	close(fd);
	close(pfd);
	unlink(dpath);
	unlink(ppath);
	rmdir(plain);
	free(src);
	free(back);
	return finish();
}
