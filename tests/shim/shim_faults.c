/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_faults.c -- every allocation and every mmap/munmap the shim makes
 * fails in turn, and then every one from the n-th on, as when memory has
 * run out (libpmemshim-faults.so: the shim with the core's fault
 * injection reachable), during a sequence of hooks that change the
 * registry: mmap, msync, a partial munmap (split), mremap that moves, a
 * MAP_FIXED mapping of another file over a page, mprotect away and back,
 * msync of every piece, a copy into one through the mover, madvise
 * (MADV_DONTNEED) and fsync.  After each run, with faults off:
 *
 *  - each call kept libc's contract: success, or MAP_FAILED/-1 with
 *    ENOMEM (the kernel's own "no memory"); msync never fails;
 *  - the registry is never stale: no address the program unmapped, or
 *    moved away from, is still the shim's;
 *  - no MAP_SYNC mapping is left to the kernel (smaps "sf" without the
 *    shim serving it): the kernel's msync never flushes its stores, so
 *    that would be data lost at a power failure (real DAX, in the guest);
 *  - every byte stored and msynced reads back from the file;
 *  - a run without faults is served in full again.
 *
 * Then a DAX mapping the shim cannot register at all (a pmem2 VM
 * reservation, made through the pmem2 API the shim exports, owns the
 * range): it must not stay MAP_SYNC, and its msync (the kernel's) works.
 * Last, a fork with every allocation failing: the child still drops
 * the page MADV_DONTFORK took from it.
 */
#include "shim_test.h"

#define PG 4096UL
#define NFILE 2

enum { K_ALLOC, K_MMAP, K_MUNMAP, NKIND };	/* core_fault_kind */
static const char *const Kind[] = { "alloc", "mmap", "munmap" };

static void (*Fault)(int, long, int);
static long (*Fault_left)(int);

struct piece {
	char *at;
	size_t len;
	int file;
	off_t off;
};
static struct piece P[8];
static int Np;
static int Fd[NFILE];

/* tag -- what the run stores in a file page: the same through any view */
static char
tag(int run, int file, off_t off)
{
	return (char)(1 + (run * 16 + file * 8 + (int)(off / (off_t)PG)) %
		255);
}

/* zero -- both files back to zeros (no tag is 0) */
static void
zero(void)
{
	static const char z[PG];
	for (int f = 0; f < NFILE; f++)
		for (off_t o = 0; o < (off_t)(8 * PG); o += (off_t)PG)
			FATAL(pwrite(Fd[f], z, PG, o) == (ssize_t)PG);
}

static void
add(char *at, size_t len, int file, off_t off)
{
	FATAL(Np < 8);
	P[Np++] = (struct piece){ at, len, file, off };
}

/* cut -- [at, at + len) is not the program's mapping of its pieces any more */
static void
cut(char *at, size_t len)
{
	for (int i = 0; i < Np; i++) {
		struct piece *p = &P[i];
		char *a = p->at, *b = p->at + p->len;
		if (b <= at || a >= at + len)
			continue;
		struct piece head = { a, 0, p->file, p->off };
		struct piece tail = { at + len, 0, p->file, 0 };
		if (a < at)
			head.len = (size_t)(at - a);
		if (b > at + len) {
			tail.len = (size_t)(b - (at + len));
			tail.off = p->off + (at + len - a);
		}
		P[i] = P[--Np];
		if (head.len)
			add(head.at, head.len, head.file, head.off);
		if (tail.len)
			add(tail.at, tail.len, tail.file, tail.off);
		i = -1;	/* the list changed: start over */
	}
}

/* failed -- a hook's failure must be the kernel's "no memory" */
#define FAILED_ENOMEM(what) CHECK(errno == ENOMEM && (what))

/* scenario -- the hooks, with faults armed; never calls stdio */
static int
scenario(int run, int *none_left, char **span)
{
	char *a = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			Fd[0], 0);
	*span = a == MAP_FAILED ? NULL : a;
	if (a == MAP_FAILED) {
		FAILED_ENOMEM("mmap");
		return 0;
	}
	add(a, 8 * PG, 0, 0);
	for (unsigned long i = 0; i < 8; i++)
		a[i * PG] = tag(run, 0, (off_t)(i * PG));
	CHECK(msync(a, 8 * PG, MS_SYNC) == 0);

	if (munmap(a + 2 * PG, PG) == 0)
		cut(a + 2 * PG, PG);
	else
		FAILED_ENOMEM("munmap");

	/* pages 6 and 7 follow: growing moves it */
	char *q = mremap(a + 4 * PG, 2 * PG, 4 * PG, MREMAP_MAYMOVE);
	if (q != MAP_FAILED) {
		cut(a + 4 * PG, 2 * PG);
		add(q, 4 * PG, 0, (off_t)(4 * PG));
	} else {
		FAILED_ENOMEM("mremap");
	}

	char *o = mmap(a + 6 * PG, PG, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_FIXED, Fd[1], 0);
	if (o != MAP_FAILED) {
		CHECK(o == a + 6 * PG);
		cut(o, PG);
		add(o, PG, 1, 0);
	} else {
		FAILED_ENOMEM("mmap(MAP_FIXED)");
	}

	if (mprotect(a, PG, PROT_NONE) == 0) {
		if (mprotect(a, PG, PROT_READ | PROT_WRITE) != 0) {
			FAILED_ENOMEM("mprotect back");
			*none_left = 1;
		}
	} else {
		FAILED_ENOMEM("mprotect");
	}

	for (int i = 0; i < Np; i++) {
		if (*none_left && P[i].at <= a && a < P[i].at + P[i].len)
			continue;
		for (size_t o2 = 0; o2 < P[i].len; o2 += PG)
			P[i].at[o2] = tag(run, P[i].file, P[i].off +
				(off_t)o2);
		CHECK(msync(P[i].at, P[i].len, MS_SYNC) == 0);
	}

	/* into each piece but the one mprotect split (a copy over two
	 * registry entries is libc's): a page, copied by the mover, 17
	 * times (its alias is made at the 16th copy into a mapping,
	 * shim/alias.c); then MADV_DONTNEED of that page and msync; last,
	 * fsync of the file: each one flushes */
	void *(*volatile copy)(void *, const void *, size_t) = memcpy;
	static char buf[PG];
	for (int i = 0; i < Np; i++) {
		if (P[i].at <= a && a < P[i].at + P[i].len)
			continue;
		memset(buf, 0x5a, PG);
		buf[0] = tag(run, P[i].file, P[i].off);
		for (int k = 0; k < 17; k++)
			copy(P[i].at, buf, PG);
		CHECK(madvise(P[i].at, PG, MADV_DONTNEED) == 0);
		CHECK(msync(P[i].at, P[i].len, MS_SYNC) == 0);
	}
	CHECK(fsync(Fd[0]) == 0);
	return 1;
}

/* in_pieces -- x is in one of the program's pieces */
static int
in_pieces(const char *x)
{
	for (int i = 0; i < Np; i++)
		if (x >= P[i].at && x < P[i].at + P[i].len)
			return 1;
	return 0;
}

/* check -- after a run (faults off): registry, MAP_SYNC, data */
static void
check(int run, char *span, const char *what, long site, int sticky)
{
	int before = Failures;
	/* never stale: the first mapping's span outside the pieces */
	for (unsigned long i = 0; i < 8 && span; i++)
		if (!in_pieces(span + i * PG))
			CHECK(!registered(span + i * PG));
	CHECK(sync_unserved() == 0);
	for (int i = 0; i < Np; i++) {
		CHECK(syscall(SYS_msync, P[i].at, P[i].len, MS_ASYNC) == 0);
		for (size_t o = 0; o < P[i].len; o += PG) {
			char c = 0;
			off_t off = P[i].off + (off_t)o;
			CHECK(pread(Fd[P[i].file], &c, 1, off) == 1 &&
				c == tag(run, P[i].file, off));
		}
	}
	if (Failures != before)
		fprintf(stderr, "  (in run %d: %s%s fault at site %ld)\n",
			run, sticky ? "sticky " : "", what, site);
}

/* cleanup -- unmap every piece (faults off): each leaves the registry */
static void
cleanup(void)
{
	for (int i = 0; i < Np; i++) {
		CHECK(munmap(P[i].at, P[i].len) == 0);
		for (size_t o = 0; o < P[i].len; o += PG)
			CHECK(!registered(P[i].at + o));
	}
	Np = 0;
}

int
main(void)
{
	const char *dax = shim_test_init();
	Fault = (void (*)(int, long, int))dlsym(RTLD_DEFAULT,
			"pmemshim_test_fault");
	Fault_left = (long (*)(int))dlsym(RTLD_DEFAULT,
			"pmemshim_test_fault_left");
	if (!Fault || !Fault_left) {
		fprintf(stderr, "SKIP: needs LD_PRELOAD=libpmemshim-faults.so "
			"(the shim built with fault injection)\n");
		return SKIP;
	}
	char path[NFILE][512];
	for (int f = 0; f < NFILE; f++)
		Fd[f] = make_file(dax, f ? "faults-g" : "faults-f", 8 * PG,
			0, path[f]);

	/*
	 * one-shot: the n-th call of a kind fails; sticky: it and every
	 * later one, as when memory has run out -- the undo of a failed
	 * call must then work without memory too
	 */
	int run = 0, sites = 0;
	long kind_sites[2][NKIND] = { { 0 } };
	for (int sticky = 0; sticky < 2; sticky++)
	for (int kind = 0; kind < NKIND; kind++) {
		for (long n = 0; ; n++) {
			FATAL(n < 2000);
			int none_left = 0;
			char *span;
			run++;
			zero();
			Fault(kind, n, sticky);
			scenario(run, &none_left, &span);
			int fired = Fault_left(kind) < 0;
			Fault(kind, -1, 0);
			if (none_left)
				CHECK(mprotect(span, PG, PROT_READ |
					PROT_WRITE) == 0);
			check(run, span, Kind[kind], n, sticky);
			cleanup();
			if (!fired)
				break;
			sites++;
			kind_sites[sticky][kind]++;
		}
	}
	for (int sticky = 0; sticky < 2; sticky++)
		fprintf(stderr, "%s fault sites: %ld alloc, %ld mmap, "
			"%ld munmap\n", sticky ? "sticky" : "one-shot",
			kind_sites[sticky][0], kind_sites[sticky][1],
			kind_sites[sticky][2]);
	/* the shim recovered: a run without faults is served in full */
	int none_left = 0;
	char *span;
	run++;
	zero();
	FATAL(scenario(run, &none_left, &span) && !none_left);
	for (int i = 0; i < Np; i++)
		for (size_t o = 0; o < P[i].len; o += PG)
			CHECK(registered(P[i].at + o));
	check(run, span, "no", 0, 0);
	cleanup();
	fprintf(stderr, "%d fault sites, %d runs\n", sites, run);

	int (*rsv_new)(void **, void *, size_t) = (int (*)(void **, void *,
		size_t))dlsym(RTLD_DEFAULT, "pmem2_vm_reservation_new");
	void *(*rsv_addr)(void *) = (void *(*)(void *))dlsym(RTLD_DEFAULT,
		"pmem2_vm_reservation_get_address");
	int (*rsv_delete)(void **) = (int (*)(void **))dlsym(RTLD_DEFAULT,
		"pmem2_vm_reservation_delete");
	FATAL(rsv_new && rsv_addr && rsv_delete);
	void *rsv = NULL;
	FATAL(rsv_new(&rsv, NULL, 8 * PG) == 0);
	char *r = rsv_addr(rsv);
	char *m = mmap(r, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			Fd[0], 0);
	CHECK(m == r);
	if (m == r) {
		CHECK(!registered(m));
		CHECK(sync_unserved() == 0);
		m[5] = 'R';
		CHECK(msync(m, PG, MS_SYNC) == 0);
		char c = 0;
		CHECK(pread(Fd[0], &c, 1, 5) == 1 && c == 'R');
	}
	CHECK(rsv_delete(&rsv) == 0);

	/*
	 * a fork's child drops what MADV_DONTFORK took from it even with no
	 * memory at all: a stale entry there would serve a later mapping's
	 * msync as a cache flush
	 */
	char *f = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			Fd[0], 0);
	FATAL(f != MAP_FAILED);
	CHECK(madvise(f + PG, PG, MADV_DONTFORK) == 0);
	Fault(K_ALLOC, 0, 1);
	pid_t kid = fork();
	if (kid == 0)
		_exit(!registered(f + PG) && registered(f) &&
			registered(f + 2 * PG) ? 0 : 1);
	Fault(K_ALLOC, -1, 0);
	FATAL(kid > 0);
	int st;
	FATAL(waitpid(kid, &st, 0) == kid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(munmap(f, 4 * PG) == 0);
	CHECK(sites > 0);
	for (int f = 0; f < NFILE; f++) {
		close(Fd[f]);
		unlink(path[f]);
	}
	return finish();
}
