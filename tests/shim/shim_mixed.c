/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_mixed.c -- one DAX file mapped shared, private and read-only at
 * once: only the writable shared mapping is taken over, private writes
 * never reach the file, and fsync of the file flushes its mappings.
 */
#include "shim_test.h"

#define PG 4096

int
main(void)
{
	const char *dax = shim_test_init();
	char path[512];
	int fd = make_file(dax, "mixed", 8 * PG, 'm', path);
	unsigned long taken = ctr("maps_taken_over");
	char *sh = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			0);
	char *pv = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
			0);
	char *ro = mmap(NULL, 8 * PG, PROT_READ, MAP_SHARED, fd, 0);
	FATAL(sh != MAP_FAILED && pv != MAP_FAILED && ro != MAP_FAILED);
	CHECK(ctr("maps_taken_over") == taken + 1);
	CHECK(Gran(sh) >= 0 && Gran(pv) == -1 && Gran(ro) == -1);

	pv[0] = 'P';
	sh[PG] = 'S';
	CHECK(msync(pv, 8 * PG, MS_SYNC) == 0);
	CHECK(msync(sh, 8 * PG, MS_SYNC) == 0);
	char c;
	CHECK(pread(fd, &c, 1, 0) == 1 && c == 'm');
	CHECK(pread(fd, &c, 1, PG) == 1 && c == 'S');
	CHECK(ro[PG] == 'S' && pv[PG] == 'S');

	/* a second shared mapping of the same file: msync through one
	 * flushes the other's view of the same pages too.  One page is a
	 * small msync: sh's own page is flushed without asking the kernel
	 * (hooks_msync.c, flush_small); sh2's, where the store was, is
	 * found by its scan (written-page tracking), as resident (tmpfs) or
	 * as mapped (real DAX) */
	char *sh2 = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			0);
	FATAL(sh2 != MAP_FAILED && Gran(sh2) >= 0);
	sh2[2 * PG] = 'T';
	unsigned long fl = ctr("msync_bytes_flushed");
	CHECK(msync(sh + 2 * PG, PG, MS_SYNC) == 0);
	CHECK(ctr("msync_bytes_flushed") - fl == 2 * PG);

	/*
	 * fsync / fdatasync of a DAX file flushes its mappings.  Where every
	 * shim mapping has BYTE granularity there is nothing to flush: a
	 * fence, no look-up of the file, not counted (hooks_msync.c,
	 * mapped_stat).
	 */
	unsigned long per = Gran(sh) == 0 /* BYTE */ ? 0 : 1;
	printf("%s granularity: fsync %s\n", per ? "CACHE_LINE" : "BYTE",
		per ? "flushes" : "fences");
	unsigned long fs = ctr("fsync_flushes");
	sh[3 * PG] = 'Y';
	CHECK(fsync(fd) == 0);
	CHECK(fdatasync(fd) == 0);
	CHECK(ctr("fsync_flushes") == fs + 2 * per);
	CHECK(pread(fd, &c, 1, 3 * PG) == 1 && c == 'Y');
	CHECK(fsync(-1) == -1 && errno == EBADF);

	/* many other shim mappings (at lower addresses: the kernel hands
	 * them out top-down) must not hide this file's from fsync */
	char opath[512];
	int ofd = make_file(dax, "mixed-other", PG, 'o', opath);
	enum { NOTHER = 80 };
	char *other[NOTHER];
	for (int i = 0; i < NOTHER; i++) {
		other[i] = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED,
				ofd, 0);
		FATAL(other[i] != MAP_FAILED && Gran(other[i]) >= 0);
	}
	sh[4 * PG] = 'Z';
	CHECK(fsync(fd) == 0);
	CHECK(ctr("fsync_flushes") == fs + 3 * per);
	for (int i = 0; i < NOTHER; i++)
		munmap(other[i], PG);
	close(ofd);
	unlink(opath);
	munmap(sh, 8 * PG);
	munmap(sh2, 8 * PG);
	munmap(pv, 8 * PG);
	munmap(ro, 8 * PG);
	/* no mapping left: fsync is just the kernel's */
	CHECK(fsync(fd) == 0 && ctr("fsync_flushes") == fs + 3 * per);
	close(fd);
	unlink(path);
	return finish();
}
