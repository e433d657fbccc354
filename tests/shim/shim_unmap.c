/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_unmap.c -- munmap (whole, head, tail, middle, shorter length),
 * mremap (grow in place, grow and move, shrink, MREMAP_DONTUNMAP) and
 * mmap(MAP_FIXED) over registered ranges keep the registry exact; madvise(MADV_DONTNEED) of
 * real DAX flushes first; a regular file mapped where a DAX mapping was is
 * never taken for DAX (its msync reaches the kernel); one munmap over
 * many shim mappings.
 */
#include <stdbool.h>

#include "shim_test.h"

#define PG 4096

/*
 * pieces -- 8 pages of fd's file, shared, made of several kernel
 * mappings: pages 2 and 3 PROT_NONE, 4 and 5 a private mapping
 */
static char *
pieces(int fd)
{
	char *w = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(w != MAP_FAILED);
	FATAL(mprotect(w + 2 * PG, 2 * PG, PROT_NONE) == 0);
	FATAL(mmap(w + 4 * PG, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE |
		MAP_FIXED, fd, 4 * PG) == w + 4 * PG);
	return w;
}

/*
 * plain_remap -- what mremap of pieces() of a file outside the DAX
 * directories does here, to old_len - shrink bytes, moved to a scratch
 * range if move: 0 when it works, else its errno (valgrind emulates
 * mremap and refuses both; kernels before 6.17 refuse the move)
 */
static int
plain_remap(int pfd, size_t shrink, bool move)
{
	char *pl = pieces(pfd);
	char *to = mmap(NULL, 8 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	FATAL(to != MAP_FAILED);
	errno = 0;
	char *r = move ? mremap(pl, 8 * PG, 8 * PG - shrink, MREMAP_MAYMOVE |
		MREMAP_FIXED, to) : mremap(pl, 8 * PG, 8 * PG - shrink,
		MREMAP_MAYMOVE);
	int err = r == MAP_FAILED ? errno : 0;
	munmap(pl, 8 * PG);
	munmap(to, 8 * PG);
	return err;
}

int
main(void)
{
	const char *dax = shim_test_init();
	const char *plain = plain_dir();
	size_t len = 16 * PG;
	char dpath[512], ppath[512];
	int fd = make_file(dax, "unmap", 64 * PG, 'u', dpath);
	int pfd = make_file(plain, "plain", 64 * PG, 'p', ppath);

	char *d = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(d != MAP_FAILED && registered(d));

	/* a program seen here unmaps with a shorter length: tail stays */
	CHECK(munmap(d, 4 * PG) == 0);
	CHECK(!registered(d) && !registered(d + 3 * PG));
	CHECK(registered(d + 4 * PG) && registered(d + 15 * PG));
	/* tail cut */
	CHECK(munmap(d + 14 * PG, 2 * PG) == 0);
	CHECK(!registered(d + 14 * PG) && registered(d + 13 * PG));
	/* middle cut: two pieces, both still served with the right data */
	CHECK(munmap(d + 8 * PG, 2 * PG) == 0);
	CHECK(registered(d + 7 * PG) && !registered(d + 8 * PG) &&
		!registered(d + 9 * PG) && registered(d + 10 * PG));
	d[10 * PG] = 'M';
	d[7 * PG] = 'N';
	unsigned long u0 = ctr("msync_user_space");
	CHECK(msync(d + 10 * PG, 4 * PG, MS_SYNC) == 0);
	/* page 7 only: a small msync flushes its whole range and maps
	 * each page of it (hooks_msync.c, flush_small), which would make
	 * pages 5 and 6 written for the madvise below */
	CHECK(msync(d + 7 * PG, PG, MS_SYNC) == 0);
	CHECK(ctr("msync_user_space") == u0 + 2);
	char c;
	CHECK(pread(fd, &c, 1, 10 * PG) == 1 && c == 'M');
	CHECK(pread(fd, &c, 1, 7 * PG) == 1 && c == 'N');

	/* madvise(MADV_DONTNEED) drops page table entries (the file keeps
	 * the data): on real DAX the pages are then not resident, and with
	 * written-page tracking not mapped, so the next msync would skip
	 * them: the shim flushes what the program stored there before the
	 * call (page 5 only, with tracking) */
	int pre = Real_dax || tracking_expected();
	unsigned long mf = ctr("madvise_flushes");
	unsigned long fl = ctr("msync_bytes_flushed");
	d[5 * PG + 1] = 'D';
	CHECK(madvise(d + 5 * PG, 2 * PG, MADV_DONTNEED) == 0);
	CHECK(ctr("madvise_flushes") == mf + (pre ? 1 : 0));
	if (pre && !Real_dax)
		CHECK(ctr("msync_bytes_flushed") == fl + PG);
	else if (pre)
		CHECK(ctr("msync_bytes_flushed") >= fl + flushed_bytes(d, PG,
			2 * PG));
	CHECK(registered(d + 5 * PG) && d[5 * PG + 1] == 'D');
	CHECK(madvise(d + 5 * PG, PG, MADV_WILLNEED) == 0);
	CHECK(ctr("madvise_flushes") == mf + (pre ? 1 : 0));
	/* MADV_PAGEOUT drops them the same way (tmpfs pages may then go
	 * to swap) */
	d[6 * PG + 1] = 'O';
	if (madvise(d + 6 * PG, PG, MADV_PAGEOUT) == 0) {
		CHECK(ctr("madvise_flushes") == mf + (pre ? 2 : 0));
		CHECK(d[6 * PG + 1] == 'O');
	} else {
		CHECK(errno == EINVAL);	/* before Linux 5.4 */
	}

	/* MAP_FIXED of a regular file over the middle: not DAX there */
	char *f = mmap(d + 5 * PG, 2 * PG, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_FIXED, pfd, 0);
	CHECK(f == d + 5 * PG);
	CHECK(!registered(f) && !registered(f + PG));
	CHECK(registered(d + 4 * PG) && registered(d + 7 * PG));
	u0 = ctr("msync_user_space");
	f[0] = 'F';
	CHECK(msync(f, 2 * PG, MS_SYNC) == 0);
	CHECK(ctr("msync_user_space") == u0);
	CHECK(pread(pfd, &c, 1, 0) == 1 && c == 'F');
	/* MAP_FIXED anonymous over the rest */
	char *a = mmap(d, 16 * PG, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(a == d);
	for (int i = 0; i < 16; i++)
		CHECK(!registered(d + i * PG));
	munmap(a, 16 * PG);

	/* mremap: grow in place or move; the new range is served */
	d = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(d != MAP_FAILED && registered(d));
	/* block in-place growth so that the kernel must move it */
	char *blk = mmap(d + 4 * PG, PG, PROT_NONE, MAP_PRIVATE |
			MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	char *m = mremap(d, 4 * PG, 32 * PG, MREMAP_MAYMOVE);
	FATAL(m != MAP_FAILED);
	if (blk == d + 4 * PG) {
		CHECK(m != d);
		CHECK(!registered(d));
		munmap(blk, PG);
	}
	CHECK(registered(m) && registered(m + 31 * PG) &&
		!registered(m + 32 * PG));
	m[20 * PG] = 'R';	/* file offset 20 pages */
	u0 = ctr("msync_user_space");
	CHECK(msync(m, 32 * PG, MS_SYNC) == 0);
	CHECK(ctr("msync_user_space") == u0 + 1);
	CHECK(pread(fd, &c, 1, 20 * PG) == 1 && c == 'R');
	/* shrink */
	char *s = mremap(m, 32 * PG, 8 * PG, 0);
	CHECK(s == m && registered(m + 7 * PG) && !registered(m + 8 * PG));
	/* a shrink in place may span several mappings (the kernel unmaps
	 * the tail): what stays keeps what it was -- a PROT_NONE piece stays
	 * unserved (a flush there faults), a private mapping in the middle
	 * stays out of the registry */
	int perr = plain_remap(pfd, PG, false);
	char *w = pieces(fd);
	FATAL(registered(w) && !registered(w + 4 * PG));
	errno = 0;
	char *wr = mremap(w, 8 * PG, 7 * PG, MREMAP_MAYMOVE);
	CHECK(perr ? wr == MAP_FAILED && errno == perr : wr == w);
	if (!perr) {
		CHECK(registered(w) && !registered(w + 2 * PG) &&
			!registered(w + 4 * PG) && registered(w + 6 * PG) &&
			!registered(w + 7 * PG));
		w[6 * PG] = 'w';
		CHECK(msync(w, 7 * PG, MS_SYNC) == 0);	/* and no SIGSEGV */
		CHECK(pread(fd, &c, 1, 6 * PG) == 1 && c == 'w');
	} else {
		printf("a shrink over several mappings refused here (errno "
			"%d): skipped\n", perr);
	}
	munmap(w, 8 * PG);
	/* a mremap of a non-zero file offset keeps the offset */
	char *o = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			8 * PG);
	FATAL(o != MAP_FAILED);
	char *o2 = mremap(o + PG, PG, 2 * PG, MREMAP_MAYMOVE);
	FATAL(o2 != MAP_FAILED);
	CHECK(registered(o2) && registered(o2 + PG));
	o2[PG] = 'O';		/* file offset 8 + 1 + 1 pages */
	CHECK(msync(o2, 2 * PG, MS_SYNC) == 0);
	CHECK(pread(fd, &c, 1, 10 * PG) == 1 && c == 'O');
	munmap(o, 4 * PG);
	munmap(o2, 2 * PG);

	/* MREMAP_DONTUNMAP: the pages move, the old range stays mapped
	 * (empty) and stays the shim's, or a store there would never be
	 * flushed (on fsdax the kernel's msync would not: MAP_SYNC) */
	char *k = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			12 * PG);
	FATAL(k != MAP_FAILED && registered(k));
	k[PG] = 'K';
	char *kn = mremap(k, 4 * PG, 4 * PG, MREMAP_MAYMOVE |
			MREMAP_DONTUNMAP);
	if (kn != MAP_FAILED) {
		CHECK(kn != k && registered(kn) && kn[PG] == 'K');
		CHECK(registered(k) && registered(k + 3 * PG));
		k[2 * PG] = 'k';	/* faults the page in again, here */
		u0 = ctr("msync_user_space");
		unsigned long b0 = ctr("msync_bytes_flushed");
		CHECK(msync(k, 4 * PG, MS_SYNC) == 0);
		CHECK(ctr("msync_user_space") == u0 + 1);
		CHECK(ctr("msync_bytes_flushed") >= b0 + PG);
		CHECK(pread(fd, &c, 1, 14 * PG) == 1 && c == 'k');
		munmap(kn, 4 * PG);
	} else {
		CHECK(errno == EINVAL);	/* before Linux 5.13 */
		printf("MREMAP_DONTUNMAP refused for a shared mapping: "
			"skipped\n");
	}
	munmap(k, 4 * PG);
	munmap(s, 8 * PG);
	CHECK(!registered(s) && !registered(o2) && !registered(k));

	/* a move of a range made of several kernel mappings (Linux 6.17+;
	 * before, EFAULT): each shim piece comes back as it was, at its
	 * offset -- the PROT_NONE one unserved, the private mapping in the
	 * middle out -- and the shim's write tracking does not make the
	 * kernel refuse it (a userfaultfd registration did: EFAULT) */
	perr = plain_remap(pfd, 0, true);
	char *mv = pieces(fd);
	FATAL(registered(mv));
	mv[6 * PG] = 'v';
	char *dst = mmap(NULL, 8 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	FATAL(dst != MAP_FAILED);
	errno = 0;
	char *moved = mremap(mv, 8 * PG, 8 * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
			dst);
	CHECK(perr ? moved == MAP_FAILED && errno == perr : moved == dst);
	if (!perr) {
		CHECK(!registered(mv));
		CHECK(registered(dst) && registered(dst + PG) &&
			!registered(dst + 2 * PG) && !registered(dst + 3 * PG) &&
			!registered(dst + 4 * PG) && !registered(dst + 5 * PG) &&
			registered(dst + 6 * PG) && registered(dst + 7 * PG));
		CHECK(dst[6 * PG] == 'v');
		dst[7 * PG] = 'V';
		CHECK(msync(dst, 8 * PG, MS_SYNC) == 0);	/* no SIGSEGV */
		CHECK(pread(fd, &c, 1, 7 * PG) == 1 && c == 'V');
	} else {
		printf("a move over several mappings refused here (errno %d, "
			"before Linux 6.17): skipped\n", perr);
		munmap(mv, 8 * PG);
	}
	munmap(dst, 8 * PG);

	/* a growth over several mappings is refused (EFAULT); before Linux
	 * 6.17 the kernel had unmapped the MREMAP_FIXED destination first,
	 * and the shim must not put a piece there back in the registry */
	char *g = pieces(fd);
	char *gd = mmap(NULL, 12 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			0);
	FATAL(gd != MAP_FAILED && registered(gd));
	/* EFAULT (valgrind, which emulates mremap: EINVAL) */
	CHECK(mremap(g, 8 * PG, 12 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, gd) ==
		MAP_FAILED);
	unsigned char v;
	int gone = mincore(gd, PG, &v) != 0;
	printf("failed MREMAP_FIXED destination unmapped: %d\n", gone);
	CHECK(registered(gd) == !gone && registered(gd + 11 * PG) == !gone);
	munmap(g, 8 * PG);
	munmap(gd, 12 * PG);

	/* a mremap the kernel refuses puts the registry back as it was, and
	 * frees no mapping still in it: MREMAP_FIXED onto its own range
	 * (EINVAL) cut the mapping around the new range, then took both
	 * pieces out for the old one, and the undo freed the mapping's own
	 * record too.  The next mapping made got it, and unmapping that one
	 * took the first out of the registry. */
	char *ar = mmap(NULL, 32 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	FATAL(ar != MAP_FAILED);
	char *x = mmap(ar, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED |
			MAP_FIXED, fd, 0);
	FATAL(x == ar && registered(x));
	errno = 0;
	CHECK(mremap(x, 8 * PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED,
		x + 3 * PG) == MAP_FAILED && errno == EINVAL);
	CHECK(registered(x) && registered(x + 7 * PG));
	for (int i = 0; i < 3; i++) {	/* the next records handed out */
		char *y = mmap(ar + (16 + 4 * i) * PG, 4 * PG, PROT_READ |
				PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
		FATAL(y == ar + (16 + 4 * i) * PG && registered(y));
	}
	CHECK(munmap(ar + 16 * PG, 12 * PG) == 0);
	CHECK(registered(x) && registered(x + 7 * PG) &&
		!registered(ar + 16 * PG) && !registered(ar + 27 * PG));
	munmap(ar, 32 * PG);

	/* after all that, a regular file lands where DAX was: kernel msync */
	char *r = mmap(s, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, pfd, 0);
	FATAL(r != MAP_FAILED);
	CHECK(!registered(r));
	munmap(r, 8 * PG);

	/*
	 * one munmap over many shim mappings: 80 one-page mappings side by
	 * side (every other page from the other half of the file, so that
	 * no two are one mapping for the kernel).  The shim once kept an
	 * undo log of 64 steps and failed such a munmap with ENOMEM.
	 */
	enum { MANY = 80 };
	char mpath[512];
	int mfd = make_file(dax, "many", 2 * MANY * PG, 'm', mpath);
	char *area = mmap(NULL, MANY * PG, PROT_NONE, MAP_PRIVATE |
			MAP_ANONYMOUS, -1, 0);
	FATAL(area != MAP_FAILED);
	for (int i = 0; i < MANY; i++) {
		off_t off = (off_t)((i % 2 ? MANY + i / 2 : i / 2) * PG);
		char *m = mmap(area + i * PG, PG, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_FIXED, mfd, off);
		FATAL(m == area + i * PG);
		CHECK(registered(m));
		m[1] = (char)i;
	}
	CHECK(munmap(area, MANY * PG) == 0);
	for (int i = 0; i < MANY; i++)
		CHECK(!registered(area + i * PG));
	for (int i = 0; i < MANY; i++) {
		char c = 0;
		off_t off = (off_t)((i % 2 ? MANY + i / 2 : i / 2) * PG);
		CHECK(pread(mfd, &c, 1, off + 1) == 1 && c == (char)i);
	}
	close(mfd);
	unlink(mpath);
	close(fd);
	close(pfd);
	unlink(dpath);
	unlink(ppath);
	rmdir(plain);
	return finish();
}
