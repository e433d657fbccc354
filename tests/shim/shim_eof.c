/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_eof.c -- mappings larger than their file: msync of the whole
 * mapping must not flush past end-of-file (SIGBUS), a sub-page file works,
 * a file grown by ftruncate inside the mapping is flushed up to its new
 * end, stores made before a truncate/fallocate are flushed before it
 * (real DAX), a shrink below pages written since the last msync leaves
 * them out of the flush, and growth by munmap + mmap works.
 */
#include "shim_test.h"

#define PG 4096

/*
 * shrink_below_written -- write pages 0-11 of the 12-page file through p
 * (the file's only mapping, len bytes), shrink the file to 2 pages before
 * any msync, msync all of p.  The tracking scan calls the cut-off pages
 * written (their protection went with them) and a CLWB there raised
 * SIGBUS: only pages 0 and 1 may be flushed.
 */
static void
shrink_below_written(int fd, char *p, size_t len, char tag)
{
	for (int i = 0; i < 12; i++)
		p[i * PG + 3] = tag;
	FATAL(ftruncate(fd, 2 * PG) == 0);
	unsigned long fl = ctr("msync_bytes_flushed");
	CHECK(msync(p, len, MS_SYNC) == 0);
	unsigned long got = ctr("msync_bytes_flushed") - fl;
	if (Real_dax)	/* the truncate flushed and unmapped them */
		CHECK(got <= flushed_bytes(p, 2 * PG, len));
	else
		CHECK(got == flushed_bytes(p, 2 * PG, len));
	CHECK(fsync(fd) == 0);
	char c;
	CHECK(pread(fd, &c, 1, PG + 3) == 1 && c == tag);
}

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
	/* one page only */
	CHECK(ctr("msync_bytes_flushed") - fl == flushed_bytes(d, PG, maplen));
	char c;
	CHECK(pread(fd, &c, 1, 50) == 1 && c == 'A');

	/*
	 * grow inside the mapping, with a store not yet msynced.  On real
	 * DAX (ext4, xfs) the kernel unmaps every page of the file on
	 * truncate, so the msync below no longer sees page 0 as resident:
	 * the shim must have flushed it before the truncate.
	 */
	unsigned long tf = ctr("truncate_flushes");
	d[60] = 'B';
	FATAL(ftruncate(fd, 10 * PG) == 0);
	CHECK(ctr("truncate_flushes") == tf + (Real_dax ? 1 : 0));
	unsigned char v0 = 0;
	CHECK(mincore(d, PG, &v0) == 0);
	printf("page 0 resident after the truncate: %d\n", v0 & 1);
	d[9 * PG + 7] = 'G';
	fl = ctr("msync_bytes_flushed");
	CHECK(msync(d, maplen, MS_SYNC) == 0);
	unsigned long grown = ctr("msync_bytes_flushed") - fl;
	if (!Real_dax && Gran(d) != 0 && tracking_expected()) {
		/* tracked (CACHE_LINE): only the pages written, 0 and 9 */
		CHECK(grown == 2 * PG);
	} else {
		/* the resident ones: tmpfs pages 0 and 9 at least; real DAX
		 * page 9 at least (the truncate unmapped page 0) */
		CHECK(grown >= flushed_bytes(d, (Real_dax ? 1 : 2) * PG,
			maplen));
		CHECK(grown <= flushed_bytes(d, 10 * PG, maplen));
	}
	CHECK(pread(fd, &c, 1, 9 * PG + 7) == 1 && c == 'G');
	CHECK(pread(fd, &c, 1, 60) == 1 && c == 'B');

	/* posix_fallocate, fallocate and truncate by path: the same */
	tf = ctr("truncate_flushes");
	d[PG] = 'P';
	CHECK(posix_fallocate(fd, 0, 12 * PG) == 0);
	d[PG] = 'Q';
	CHECK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 16 * PG) == 0);
	d[PG] = 'R';
	CHECK(truncate(path, 12 * PG) == 0);
	CHECK(ctr("truncate_flushes") == tf + (Real_dax ? 3 : 0));
	CHECK(pread(fd, &c, 1, PG) == 1 && c == 'R');

	/* madvise(MADV_REMOVE) punches a hole: on real DAX the kernel
	 * unmaps every page of the file, so stores elsewhere in it, through
	 * another mapping, are flushed first (found by shim_fuzz) */
	char *o = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			8 * PG);
	FATAL(o != MAP_FAILED && Gran(o) >= 0);
	tf = ctr("truncate_flushes");
	fl = ctr("msync_bytes_flushed");
	o[PG + 5] = 'H';
	CHECK(madvise(d + 2 * PG, PG, MADV_REMOVE) == 0);
	CHECK(ctr("truncate_flushes") == tf + (Real_dax ? 1 : 0));
	CHECK(msync(o, 4 * PG, MS_SYNC) == 0);
	/* page 9 flushed once: by the madvise (real DAX) or the msync */
	CHECK(ctr("msync_bytes_flushed") - fl >= flushed_bytes(o, PG, 4 * PG));
	CHECK(pread(fd, &c, 1, 9 * PG + 5) == 1 && c == 'H');
	CHECK(pread(fd, &c, 1, 2 * PG) == 1 && c == 0);	/* the hole */
	/* the same through a mapping the shim did not take (read-only at
	 * mmap, made writable): which file it maps, only the kernel knows,
	 * so every real-DAX mapping is flushed (found by shim_fuzz) */
	char *ro = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 3 * PG);
	FATAL(ro != MAP_FAILED && Gran(ro) < 0);
	CHECK(mprotect(ro, PG, PROT_READ | PROT_WRITE) == 0);
	tf = ctr("truncate_flushes");
	fl = ctr("msync_bytes_flushed");
	o[2 * PG + 5] = 'J';
	CHECK(madvise(ro, PG, MADV_REMOVE) == 0);
	CHECK(ctr("truncate_flushes") == tf + (Real_dax ? 1 : 0));
	CHECK(msync(o, 4 * PG, MS_SYNC) == 0);
	CHECK(ctr("msync_bytes_flushed") - fl >= flushed_bytes(o, PG, 4 * PG));
	CHECK(pread(fd, &c, 1, 10 * PG + 5) == 1 && c == 'J');
	CHECK(munmap(ro, PG) == 0);
	CHECK(munmap(o, 4 * PG) == 0);

	/* shrink below pages written since the last msync, through this
	 * mapping and through one above the scan's fast-path size (dirty.c
	 * FAST_SCAN_MIN: written pages then filtered by mincore) */
	shrink_below_written(fd, d, maplen, 'T');
	CHECK(munmap(d, maplen) == 0);
	FATAL(ftruncate(fd, 12 * PG) == 0);
	size_t biglen = 1024 * PG;
	char *big = mmap(NULL, biglen, PROT_READ | PROT_WRITE, MAP_SHARED,
			fd, 0);
	FATAL(big != MAP_FAILED && Gran(big) >= 0);
	shrink_below_written(fd, big, biglen, 'V');
	CHECK(munmap(big, biglen) == 0);

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

	/* an empty file mapped: msync is fine, nothing flushed (a small
	 * msync's flush is cut short at once; where a flush past the end
	 * does not fault, under valgrind or TCG, it runs and counts) */
	FATAL(ftruncate(fd, 0) == 0);
	d = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(d != MAP_FAILED);
	fl = ctr("msync_bytes_flushed");
	CHECK(msync(d, 4 * PG, MS_SYNC) == 0);
	CHECK(ctr("msync_bytes_flushed") - fl == flushed_bytes(d,
		flush_faults() ? 0 : 4 * PG, 4 * PG));
	munmap(d, 4 * PG);
	close(fd);
	unlink(path);
	return finish();
}
