/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_eof.c -- mappings larger than their file: msync of the whole
 * mapping must not flush past end-of-file (SIGBUS), a sub-page file works,
 * a file grown by ftruncate inside the mapping is flushed up to its new
 * end, and growth by munmap + mmap works.
 */
#include "shim_test.h"

#define PG 4096

int
main(void)
{
	const char *dax = shim_test_init();
	char path[512];
	int fd = make_file(dax, "eof", 100, 's', path);	/* sub-page */
	size_t maplen = 256 * PG;
	char *d = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			0);
	FATAL(d != MAP_FAILED && Gran(d) >= 0);
	d[50] = 'A';
	unsigned long fl = ctr("msync_bytes_flushed");
	unsigned long u = ctr("msync_user_space");
	CHECK(msync(d, maplen, MS_SYNC) == 0);	/* would SIGBUS past EOF */
	CHECK(ctr("msync_user_space") == u + 1);
	CHECK(ctr("msync_bytes_flushed") - fl == PG);	/* one page only */
	char c;
	CHECK(pread(fd, &c, 1, 50) == 1 && c == 'A');

	/* grow inside the mapping */
	FATAL(ftruncate(fd, 10 * PG) == 0);
	d[9 * PG + 7] = 'G';
	fl = ctr("msync_bytes_flushed");
	CHECK(msync(d, maplen, MS_SYNC) == 0);
	if (tracking_expected()) {	/* only the page written */
		CHECK(ctr("msync_bytes_flushed") - fl == PG);
	} else {			/* the resident ones */
		CHECK(ctr("msync_bytes_flushed") - fl >= 2 * PG);
		CHECK(ctr("msync_bytes_flushed") - fl <= 10 * PG);
	}
	CHECK(pread(fd, &c, 1, 9 * PG + 7) == 1 && c == 'G');

	/* shrink below what was touched: still no SIGBUS */
	FATAL(ftruncate(fd, 2 * PG) == 0);
	CHECK(msync(d, maplen, MS_SYNC) == 0);
	CHECK(munmap(d, maplen) == 0);

	/* grow by munmap + mmap of the bigger file */
	FATAL(ftruncate(fd, 64 * PG) == 0);
	d = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(d != MAP_FAILED && Gran(d) >= 0);
	volatile size_t n = 3 * PG;
	char buf[3 * PG];
	memset(buf, 'Z', sizeof(buf));
	memcpy(d + 60 * PG, buf, n);
	CHECK(msync(d, 64 * PG, MS_SYNC) == 0);
	char back[3 * PG];
	CHECK(pread(fd, back, sizeof(back), 60 * PG) == (ssize_t)sizeof(back));
	CHECK(memcmp(back, buf, sizeof(back)) == 0);
	munmap(d, 64 * PG);

	/* an empty file mapped: msync is fine, nothing flushed */
	FATAL(ftruncate(fd, 0) == 0);
	d = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(d != MAP_FAILED);
	fl = ctr("msync_bytes_flushed");
	CHECK(msync(d, 4 * PG, MS_SYNC) == 0);
	CHECK(ctr("msync_bytes_flushed") == fl);
	munmap(d, 4 * PG);
	close(fd);
	unlink(path);
	return finish();
}
