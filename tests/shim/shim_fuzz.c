/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_fuzz.c -- seeded random sequences of the calls the shim hooks,
 * each run twice: under the shim (libpmemshim-faults.so, the test build
 * that lets us watch its flushes) on emulated DAX, and without it.
 *
 *   shim_fuzz [--seeds N] [--ops N] [--seed S] [--threads T]  (driver)
 *   shim_fuzz --child shim|plain SEED OPS DIR TRACE T          (one run)
 *
 * (SHIM_FUZZ_THREADS=T in the environment: --threads T.)  With T threads
 * each thread is a run of its own, at the same time as the others: its
 * own seed, files (DIR/tN), arena and trace, compared with the same
 * thread's run without the shim.  All checks stay, with two limits: a
 * store made while another thread's syncfs may have flushed it is not
 * owed a flush after (foreign_syncfs), and the drain after syncfs or a
 * child's end is not checked (foreign_drain).
 *
 * The calls: mmap (shared, private, read-only; at a fixed place or where
 * the kernel likes), munmap, mremap (shrink, grow, move, MREMAP_FIXED,
 * MREMAP_DONTUNMAP, duplicate), mprotect, stores, memcpy/memmove/mempcpy
 * and their _chk forms, msync (every flag, bad ones too), fsync,
 * fdatasync, syncfs, sync_file_range, ftruncate, truncate, fallocate
 * (a hole, or room), madvise (DONTNEED, REMOVE, DONTFORK, DOFORK) and
 * fork (the child stores and leaves with _exit), on three files in the
 * DAX directory and one outside it.  Ranges are picked
 * relative to the run's own mappings, mostly inside an arena whose
 * unused pages are PROT_NONE filler, so that both runs see the same
 * layout there whatever addresses they got.
 *
 * Checked, after every call:
 * - libc's contract: every call returns the same (and the same errno)
 *   with and without the shim, and the files and the mappings hold the
 *   same bytes (hashes in a trace per run, compared line by line);
 * - the registry is never stale: a page is in it exactly when the run
 *   has a shared writable mapping of a DAX file there, served (flushable)
 *   unless its read access was taken away;
 * - nothing stored is left unflushed where a flush is due.  The run
 *   keeps, for each page of its mappings, the lines stored to through it
 *   and not flushed since (a copy by the core's mover is durable when it
 *   returns; one by libc is not); the shim's flushes, watched through the
 *   test library, clear a line in every mapping of it.  Due: after
 *   msync(MS_SYNC), every line of the file range (whichever mapping
 *   stored it, as the kernel's msync); after fsync, fdatasync and syncfs,
 *   every line of the file (of the file system); after sync_file_range,
 *   those of its pages; pages that leave the shim (munmap, MAP_FIXED over
 *   them, what mremap cuts off, mprotect(PROT_NONE)) hold none, nor does
 *   madvise(MADV_DONTNEED)'s range where written-page tracking is on
 *   (without it the next msync finds them in tmpfs, checked there); every
 *   line not flushed is held by a page the shim serves; at the end an
 *   fsync of each file leaves none.  A synchronous call drains after its
 *   flushes, and the shim never flushes a page the run has not mapped
 *   or cannot read;
 * - the model itself, against /proc/self/maps.
 * Flushes are due where the shim serves a page at a granularity above
 * BYTE (pmemshim_mapping_granularity), so the test runs unchanged in the
 * BYTE variants.  A failure prints the seed, the op and the trace lines
 * before it; rerun one seed with --seed S --ops N.  A run (and each fork
 * child) that hangs is killed by SIGALRM after RUN_LIMIT seconds and
 * reported with its seed, rather than holding the test to its timeout.
 */
#include <inttypes.h>
#include <pthread.h>
#include <spawn.h>

#include "shim_test.h"
#include "shim_fuzz.h"

extern char **environ;

#define MAX_THREADS 8
/* seconds a run may take: one takes under 10 even under TSan or TCG */
#define RUN_LIMIT 120

/* pick_map -- a random mapping, or -1 when there is none */
static int
pick_map(void)
{
	return Nm ? (int)rnd((size_t)Nm) : -1;
}

/* sub_range -- pages [*p, *p + *n) of m: whole, head, tail or middle */
static void
sub_range(const struct map *m, size_t *p, size_t *n)
{
	switch (rnd(4)) {
	case 0:
		*p = 0;
		*n = m->np;
		break;
	case 1:
		*p = 0;
		*n = 1 + rnd(m->np);
		break;
	case 2:
		*p = rnd(m->np);
		*n = m->np - *p;
		break;
	default:
		*p = rnd(m->np);
		*n = 1 + rnd(m->np - *p);
	}
}

/* pick_sub -- a random mapping *i and pages [*p, *p + *n) of it */
static int
pick_sub(int *i, size_t *p, size_t *n)
{
	*i = pick_map();
	if (*i < 0)
		return 0;
	sub_range(&M[*i], p, n);
	return 1;
}

/* arena_span -- a random page range of the arena (any mix of things) */
static void
arena_span(uintptr_t *lo, size_t *np)
{
	size_t p = rnd(APAGES);
	*np = 1 + rnd(APAGES - p < 128 ? APAGES - p : 128);
	*lo = Arena + p * PG;
}

#ifdef __SANITIZE_THREAD__
/*
 * TSan (gcc 12) does not intercept mremap: the ranges a move or a shrink
 * leaves keep their shadow, with the stores made there, and pin them on
 * the next thread whose mremap grows or moves into them.  The kernel
 * orders the two calls (an address is reused only once it is free); each
 * mremap says so with a release before it and an acquire after it.
 */
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
static char Vm_order;
#define VM_RELEASE() __tsan_release(&Vm_order)
#define VM_ACQUIRE() __tsan_acquire(&Vm_order)
#else
#define VM_RELEASE() ((void)0)
#define VM_ACQUIRE() ((void)0)
#endif

static TLS long Ret;
static TLS int Err;
/* pmemshim_test_moved: bytes this thread's copies sent to the mover */
static unsigned long (*Moved)(void);

/*
 * placed -- np pages the kernel placed at a: never in the arena, where
 * every page is something (the run's or filler); the description says
 * so if it happens, so that the two runs' traces part there
 */
static void
placed(uintptr_t a, size_t np)
{
	char d[sizeof(Desc)];
	if (a + np * PG > Arena && a < Arena + APAGES * PG) {
		strcpy(d, Desc);
		desc("%s (placed in the arena!)", d);
	}
}

static void
result(long ret)
{
	Ret = ret;
	Err = ret < 0 ? errno : 0;
}

static void
op_map(void)
{
	if (Nm > ROOM)
		return;
	int f = (int)rnd(NF);
	size_t np = 1 + rnd(32);
	size_t off = rnd(FPAGES + 2);
	int kind = (int)rnd(10);	/* 0-5 shared rw, 6-7 private, 8-9 ro */
	int shared = kind < 6 || kind >= 8;
	int prot = kind >= 8 ? PROT_READ : PROT_READ | PROT_WRITE;
	int fixed = rnd(4) != 0;
	uintptr_t at = fixed ? Arena + rnd(APAGES - np) * PG : 0;
	desc("mmap file %d pages %zu+%zu %s %s %s", f, off, np,
		shared ? "shared" : "private", prot & PROT_WRITE ? "rw" : "ro",
		fixed ? "fixed" : "anywhere");
	void *a = mmap((void *)at, np * PG, prot, (shared ? MAP_SHARED :
		MAP_PRIVATE) | (fixed ? MAP_FIXED : 0), F[f].fd,
		(off_t)(off * PG));
	result(a == MAP_FAILED ? -1 : 0);
	if (a == MAP_FAILED)
		return;
	if (fixed)
		forget(at, at + np * PG, 0);
	else
		placed((uintptr_t)a, np);
	add_map((uintptr_t)a, np, f, off, shared,
		shared && (prot & PROT_WRITE) && F[f].dax, prot);
}

static void
op_unmap(void)
{
	int i = pick_map();
	uintptr_t lo;
	size_t np;
	int span = i < 0 || rnd(4) == 0;
	if (Nm > ROOM)
		return;
	if (span) {
		arena_span(&lo, &np);
	} else {
		size_t p;
		sub_range(&M[i], &p, &np);
		lo = M[i].a + p * PG;
	}
	int odd = rnd(16) == 0;		/* unaligned: EINVAL */
	desc("munmap %s page %zu+%zu%s", span ? "arena" : "map",
		(size_t)(lo - (span ? Arena : M[i].a)) / PG, np,
		odd ? " unaligned" : "");
	result(munmap((void *)(lo + (odd ? 8 : 0)), np * PG));
	if (Ret == 0)
		forget(lo + (odd ? 8 : 0), lo + np * PG, 0);
}

static void
op_mremap(void)
{
	int i = pick_map();
	if (i < 0 || Nm > ROOM)
		return;
	struct map m = M[i];
	size_t p, n;
	sub_range(&m, &p, &n);
	uintptr_t old = m.a + p * PG;
	size_t old_len = n * PG, new_len = (1 + rnd(40)) * PG;
	int flags = 0, how = (int)rnd(6);
	uintptr_t to = 0;
	if (how == 0 && !m.arena)
		how = 1;	/* in place only in the arena: its neighbours
				 * are the same in both runs */
	if (how == 1 || how == 2)
		flags = MREMAP_MAYMOVE;
	if (how == 2 || how == 3) {
		flags = MREMAP_MAYMOVE | MREMAP_FIXED;
		to = Arena + rnd(APAGES - new_len / PG) * PG;
	}
	if (how == 4) {
		flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP;
		new_len = old_len;
	}
	if (how == 5) {			/* a second mapping of the pages */
		flags = MREMAP_MAYMOVE;
		old_len = 0;
	}
	desc("mremap map %d pages %zu+%zu -> %zu pages, flags %d", i, p,
		old_len / PG, new_len / PG, flags);
	VM_RELEASE();
	void *r = mremap((void *)old, old_len, new_len, flags, (void *)to);
	VM_ACQUIRE();
	result(r == MAP_FAILED ? -1 : 0);
	unsigned char v;
	if (r == MAP_FAILED && (flags & MREMAP_FIXED) &&
			mincore((void *)to, PG, &v) != 0)
		/* unmapped before the kernel refused the old range (before
		 * Linux 6.17): it left the shim, flushed first */
		forget(to, to + new_len, 0);
	if (r == MAP_FAILED)
		return;
	/* the pages that move take their stores along; what a shrink cuts
	 * off leaves */
	uint64_t wr[MPAGES] = { 0 };
	for (size_t k = 0; k < n && k < new_len / PG && old_len; k++) {
		wr[k] = M[i].wr[p + k];
		M[i].wr[p + k] = 0;
	}
	if (old_len && !(flags & MREMAP_DONTUNMAP))
		forget(old, old + old_len, 0);
	if (flags & MREMAP_FIXED)
		forget(to, to + new_len, 0);
	else if ((uintptr_t)r != old)
		placed((uintptr_t)r, new_len / PG);
	add_map((uintptr_t)r, new_len / PG, m.f, m.off + p, m.shared, m.taken,
		m.prot[p]);
	memcpy(M[Nm - 1].wr, wr, sizeof(wr));
	for (size_t k = 0; k < new_len / PG; k++)	/* a VMA flag: moves */
		M[Nm - 1].nofork[k] = m.nofork[p + (k < n && old_len ? k :
			old_len ? n - 1 : 0)];
	/* a shrink keeps each page's protection (it may span several
	 * kernel mappings); a range that grows or moves is one, and so is
	 * the one a duplicate copies */
	for (size_t k = 0; k < new_len / PG && old_len; k++)
		M[Nm - 1].prot[k] = m.prot[p + (k < n ? k : n - 1)];
}

static void
op_protect(void)
{
	int i;
	size_t p, n;
	if (!pick_sub(&i, &p, &n))
		return;
	static const int prots[] = { PROT_NONE, PROT_READ,
		PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE };
	int prot = prots[rnd(4)];
	desc("mprotect map %d pages %zu+%zu prot %d", i, p, n, prot);
	result(mprotect((void *)(M[i].a + p * PG), n * PG, prot));
	if (Ret)
		return;
	memset(M[i].prot + p, prot, n);
	if (prot == PROT_NONE && Shim)	/* flushed before it was blocked */
		left_clean(i, p, n, "mprotect(PROT_NONE)");
}

/*
 * pick_dest -- a writable range inside the file: mapping *i, [*d, *d+*len)
 * at most max bytes; false when none was found
 */
static int
pick_dest(int *i, uintptr_t *d, size_t *len, size_t max, uintptr_t *run)
{
	*i = pick_map();
	if (*i < 0)
		return 0;
	struct map *m = &M[*i];
	size_t p = rnd(m->np);
	size_t end = p;
	while (end < m->np && (m->prot[end] & PROT_WRITE) &&
			(m->off + end) * PG < F[m->f].size)
		end++;
	if (end == p)
		return 0;
	size_t lim = (m->off + end) * PG < F[m->f].size ?
		(end - p) * PG : F[m->f].size - (m->off + p) * PG;
	size_t start = rnd(lim);
	*len = 1 + rnd(lim - start < max ? lim - start : max);
	*d = m->a + p * PG + start;
	*run = m->a + p * PG;
	return 1;
}

/*
 * stored -- bytes [d, d + len) of mapping i were stored with the CPU;
 * ep: foreign_syncfs() from before the store
 */
static void
stored(int i, uintptr_t d, size_t len, long ep)
{
	if (!M[i].shared)
		return;
	for (uintptr_t a = d & ~(uintptr_t)(LINE - 1); a < d + len;
			a += LINE) {
		long l = line_of(&M[i], a);
		if (l >= 0 && M[i].taken && served(a) > 0) {
			(void) owed(M[i].f, l);	/* an unsure past: gone */
			F[M[i].f].dirty[l] = 1;
			F[M[i].f].when[l] = Op;
			F[M[i].f].ep[l] = ep;
			M[i].wr[(a - M[i].a) / PG] |= 1ULL << (l % (PG / LINE));
		}
	}
}

/* clean_lines -- [d, d + len) of mapping i is durable (or gone) */
static void
clean_lines(int i, uintptr_t d, size_t len)
{
	for (uintptr_t a = d & ~(uintptr_t)(LINE - 1); a < d + len;
			a += LINE) {
		long l = line_of(&M[i], a);
		if (l >= 0)
			clean(M[i].f, l);
	}
}

/* clean_file_lines -- lines [lo, hi) of file f are gone (zeros now) */
static void
clean_file_lines(int f, size_t lo, size_t hi)
{
	for (size_t l = lo; l < hi && l < sizeof(F[f].dirty); l++)
		clean(f, (long)l);
}

/* store_random -- plain stores of random bytes (never a memset call) */
static void
store_random(uintptr_t d, size_t len)
{
	for (size_t k = 0; k < len; k++)
		((volatile unsigned char *)d)[k] = (unsigned char)rnd64();
}

static void
op_store(void)
{
	int i;
	uintptr_t d, run;
	size_t len;
	if (!pick_dest(&i, &d, &len, 3 * PG, &run))
		return;
	desc("store map %d at +%zu, %zu bytes", i, (size_t)(d - M[i].a),
		len);
	long ep = foreign_syncfs();
	store_random(d, len);
	result(0);
	stored(i, d, len, ep);
}

/* a store a fork's child makes: mapping i (this run's), [d, d + len) */
struct store {
	int i;
	uintptr_t d;
	size_t len;
};

/* child_stores / stored_all -- make the stores st[0..n), / model them */
static void
child_stores(const struct store *st, int n)
{
	for (int k = 0; k < n; k++)
		store_random(st[k].d, st[k].len);
}

static void
stored_all(const struct store *st, int n, long ep)
{
	for (int k = 0; k < n; k++)
		stored(st[k].i, st[k].d, st[k].len, ep);
}

/*
 * foreign_drain -- a call that flushes other threads' mappings too (a
 * child's end, syncfs) may drain through one of them, and one just made
 * is not watched until its thread's next check: with several threads
 * that drain may go unseen, so its absence proves nothing.  (msync and
 * fsync flush only this thread's mappings, all watched.)
 */
static int
foreign_drain(void)
{
	return Threads > 1;
}

/* reap -- wait for the child pid, which must have exited with 0 */
static void
reap(pid_t pid, const char *what)
{
	int status;
	FATAL(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("the %s ended with status %#x", what, status);
}

/* in_child -- [d, d + len) of mapping i is in a fork's child too */
static int
in_child(int i, uintptr_t d, size_t len)
{
	for (uintptr_t a = d & ~(PG - 1); a < d + len; a += PG)
		if (M[i].nofork[(a - M[i].a) / PG])
			return 0;
	return 1;
}

/*
 * Vfork_shares -- vfork's child runs in this process's memory (TSan's
 * vfork is a fork: there a "vfork" case is a fork child's _exit)
 */
static int Vfork_shares;

static int
vfork_probe(void)
{
	static volatile int shared;
	shared = 0;
	pid_t pid = vfork();
	FATAL(pid >= 0);
	if (pid == 0) {
		shared = 1;
		_exit(0);
	}
	int st;
	FATAL(waitpid(pid, &st, 0) == pid);
	return shared;
}

/*
 * vfork_stores -- a vfork child stores and leaves with _exit: it shares
 * this process's memory and ends none of its mappings, so nothing is due
 * then (the shim flushes nothing there: shim_flush_at_end); the stores
 * are this process's, owed to its next syncs.  The child calls nothing
 * but _exit: no check of its own.
 */
static void
vfork_stores(const struct store *st, int n, uint64_t bytes)
{
	uint64_t rng = Rng;
	long ep = foreign_syncfs();
	pid_t pid = vfork();
	FATAL(pid >= 0);
	if (pid == 0) {
		Rng = bytes;
		child_stores(st, n);
		_exit(0);
	}
	Rng = rng;	/* the child's draws were in this memory */
	reap(pid, "vfork child");
	stored_all(st, n, ep);
	result(0);
}

/*
 * op_fork -- a child stores through the inherited mappings and leaves
 * with _exit or by exec, which the shim flushes on the way out (a worker
 * of Python's multiprocessing leaves with _exit), or is a vfork child
 * (vfork_stores).  The child's flushes come back
 * through a pipe and are applied to this run's model, where the child's
 * stores must then all be flushed, and drained.  The child checks its
 * own registry and model first: without the pages given MADV_DONTFORK
 * (a stale entry there would serve a file the child maps later).
 */
static void
op_fork(void)
{
	struct store st[3];
	int n = 0;
	for (int k = 0; k < 3; k++) {
		uintptr_t run;
		if (pick_dest(&st[n].i, &st[n].d, &st[n].len, PG, &run) &&
				in_child(st[n].i, st[n].d, st[n].len))
			n++;
	}
	uint64_t bytes = rnd64();
	static const char *const ends[] = { "_exit", "exec", "vfork" };
	int end = (int)rnd(3);
	if (end == 2 && !Vfork_shares)
		end = 0;
	desc("fork, %d stores in the child, %s", n, ends[end]);
	if (end == 2) {
		vfork_stores(st, n, bytes);
		return;
	}
	int pfd[2];
	FATAL(pipe(pfd) == 0);
	long ep = foreign_syncfs();
	pid_t pid = fork();
	FATAL(pid >= 0);
	if (pid == 0) {
		alarm(RUN_LIMIT);	/* a fork does not inherit it */
		close(pfd[0]);
		Report_fd = pfd[1];
		Rng = bytes;
		forget_nofork();	/* moves M's indexes: st has addresses */
		check_model();
		if (Shim)
			check_registry();
		child_stores(st, n);
		if (end == 1) {		/* the shim flushes before exec */
			char *argv[] = { "true", NULL };
			execve("/bin/true", argv, environ);
			_exit(127);
		}
		_exit(0);
	}
	close(pfd[1]);
	stored_all(st, n, ep);
	Undrained = 0;
	replay(pfd[0]);
	close(pfd[0]);
	reap(pid, "child");
	result(0);
	if (!Shim)
		return;
	/* what the child stored through a page the shim serves, flushed */
	char what[32];
	snprintf(what, sizeof(what), "the child's %s", ends[end]);
	for (int k = 0; k < n; k++)
		clean_range(st[k].d, st[k].d + st[k].len, what);
	if (Undrained && !foreign_drain())
		fail("%s flushed without a drain", what);
}

extern void *__memcpy_chk(void *d, const void *s, size_t n, size_t dlen);
extern void *__memmove_chk(void *d, const void *s, size_t n, size_t dlen);

static void *
memcpy_chk(void *d, const void *s, size_t n)
{
	return __memcpy_chk(d, s, n, n);
}

static void *
memmove_chk(void *d, const void *s, size_t n)
{
	return __memmove_chk(d, s, n, n);
}

static void
op_copy(void)
{
	static TLS unsigned char src[64 * 1024];
	int i;
	uintptr_t d, run;
	size_t len;
	size_t max = (size_t)1 << (rnd(17));
	if (!pick_dest(&i, &d, &len, max, &run))
		return;
	void *(*const fns[])(void *, const void *, size_t) = { memcpy,
		memmove, mempcpy, memcpy_chk, memmove_chk };
	int which = (int)rnd(5);
	const void *from = src;
	int overlap = which % 3 == 1 && rnd(2);	/* memmove in the mapping */
	if (overlap) {
		/* never onto itself: a memmove may then store nothing (ASan's
		 * does not), and the model would count a store */
		size_t back = 1 + rnd(len);
		if (d - back >= run)	/* readable, inside the file */
			from = (const void *)(d - back);
	}
	for (size_t k = 0; k < len && from == src; k++)
		src[k] = (unsigned char)rnd64();
	desc("copy %d into map %d at +%zu, %zu bytes%s", which, i,
		(size_t)(d - M[i].a), len, from == src ? "" : " overlapping");
	/* the counter is the process's: other threads copy too */
	int count = Shim && Threads == 1;
	unsigned long moved = Shim ? Moved() : 0;
	unsigned long counted = count ? ctr("bytes_moved_by_core") : 0;
	long ep = foreign_syncfs();
	void *(*volatile fn)(void *, const void *, size_t) = fns[which];
	void *r = fn((void *)d, from, len);
	result(r == (void *)(d + (which == 2 ? len : 0)) ? 0 : -1);
	moved = Shim ? Moved() - moved : 0;
	if (count && ctr("bytes_moved_by_core") - counted != moved)
		fail("bytes_moved_by_core grew by %lu, the mover moved %lu",
			ctr("bytes_moved_by_core") - counted, moved);
	if (!moved)
		stored(i, d, len, ep);
	else if (moved != len)
		fail("the mover moved %lu bytes of a %zu-byte copy", moved,
			len);
	else	/* durable when the copy returns */
		clean_lines(i, d, len);
}

static void
op_msync(void)
{
	int i = pick_map();
	uintptr_t lo;
	size_t np;
	int hole = 0, span = i < 0 || rnd(4) == 0;
	if (span) {
		arena_span(&lo, &np);
		/* now and then a real hole in it: ENOMEM */
		hole = rnd(3) == 0 && Filled[(lo - Arena) / PG];
	} else {
		size_t p;
		sub_range(&M[i], &p, &np);
		lo = M[i].a + p * PG;
	}
	static const int flags[] = { MS_SYNC, MS_SYNC, MS_SYNC, MS_SYNC,
		MS_ASYNC, MS_INVALIDATE, MS_SYNC | MS_INVALIDATE,
		MS_SYNC | MS_ASYNC, 0x100, 0 };
	int fl = flags[rnd(10)];
	int odd = rnd(20) == 0;
	desc("msync %s page %zu+%zu flags %#x%s%s", span ? "arena" : "map",
		(size_t)(lo - (span ? Arena : M[i].a)) / PG, np, fl,
		hole ? " over a hole" : "", odd ? " unaligned" : "");
	if (hole) {
		FATAL(munmap((void *)lo, PG) == 0);
		Filled[(lo - Arena) / PG] = 0;
	}
	Undrained = 0;
	result(msync((void *)(lo + (odd ? 8 : 0)), np * PG, fl));
	if (Ret == 0 && Shim && (fl & MS_SYNC)) {
		clean_range(lo, lo + np * PG, "msync(MS_SYNC)");
		if (Undrained)
			fail("msync(MS_SYNC) returned without a drain after "
				"its flushes");
	}
}

static void
op_fsync(void)
{
	int f = (int)rnd(NF), how = (int)rnd(5);
	size_t off = rnd(FPAGES * PG), len = rnd(4) ? rnd(16 * PG) : 0;
	static const char *const names[] = { "fsync", "fdatasync", "syncfs",
		"sync_file_range", "sync_file_range(WAIT_AFTER)" };
	desc("%s file %d bytes %zu+%zu", names[how], f, off, len);
	Undrained = 0;
	switch (how) {
	case 0:
		result(fsync(F[f].fd));
		break;
	case 1:
		result(fdatasync(F[f].fd));
		break;
	case 2:
		syncfs_begin();
		result(syncfs(F[f].fd));
		syncfs_end();
		break;
	default:
		result(sync_file_range(F[f].fd, (off_t)off, (off_t)len,
			SYNC_FILE_RANGE_WRITE | (how == 4 ?
			SYNC_FILE_RANGE_WAIT_AFTER : 0)));
	}
	if (Ret || !Shim)
		return;
	/* syncfs: every file on f's file system (in the DAX guest f3 is
	 * on another) */
	struct stat sf, sg;
	FATAL(fstat(F[f].fd, &sf) == 0);
	for (int g = 0; g < NF; g++)
		if (g == f || (how == 2 && fstat(F[g].fd, &sg) == 0 &&
				sg.st_dev == sf.st_dev))
			clean_file(g, how >= 3 ? off : 0, how >= 3 && len ?
				len : SIZE_MAX / 2, names[how]);
	if (how < 3 && Undrained && !(how == 2 && foreign_drain()))
		fail("%s returned without a drain after its flushes",
			names[how]);
}

/* op_fallocate -- punch a hole (the bytes are gone), or allocate */
static void
op_fallocate(int f)
{
	size_t off = rnd(FPAGES * PG);
	size_t len = 1 + rnd(FPAGES * PG - off < 8 * PG ? FPAGES * PG - off :
		8 * PG);
	int punch = (int)rnd(2);
	desc("fallocate file %d %s bytes %zu+%zu", f, punch ? "PUNCH_HOLE" :
		"allocate", off, len);
	result(fallocate(F[f].fd, punch ? FALLOC_FL_PUNCH_HOLE |
		FALLOC_FL_KEEP_SIZE : 0, (off_t)off, (off_t)len));
	if (Ret)
		return;
	if (!punch) {
		if (off + len > F[f].size)
			F[f].size = off + len;
		return;
	}
	/* the lines wholly inside the hole: zeros now, nothing to flush */
	clean_file_lines(f, (off + LINE - 1) / LINE, (off + len) / LINE);
}

static void
op_truncate(void)
{
	int f = (int)rnd(NF), how = (int)rnd(4);
	if (how == 3) {
		op_fallocate(f);
		return;
	}
	size_t size = rnd(FPAGES + 1) * PG;
	if (size && rnd(3) == 0)
		size -= 1 + rnd(PG - 1);
	desc("%s file %d to %zu", how == 2 ? "truncate" : "ftruncate", f,
		size);
	result(how == 2 ? truncate(F[f].path, (off_t)size) :
		ftruncate(F[f].fd, (off_t)size));
	if (Ret)
		return;
	/* what lies past the end is gone: nothing to flush there */
	clean_file_lines(f, (size + LINE - 1) / LINE, sizeof(F[f].dirty));
	F[f].size = size;
}

static void
op_madvise(void)
{
	int i;
	size_t p, n;
	if (!pick_sub(&i, &p, &n))
		return;
	static const int advice[] = { MADV_DONTNEED, MADV_DONTNEED,
		MADV_DONTNEED, MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK };
	static const char *const names[] = { "DONTNEED", "DONTNEED",
		"DONTNEED", "REMOVE", "DONTFORK", "DOFORK" };
	int k = (int)rnd(6), remove = advice[k] == MADV_REMOVE;
	uintptr_t lo = M[i].a + p * PG;
	desc("madvise map %d pages %zu+%zu %s", i, p, n, names[k]);
	result(madvise((void *)lo, n * PG, advice[k]));
	if (Ret == 0 && (advice[k] == MADV_DONTFORK ||
			advice[k] == MADV_DOFORK)) {
		memset(M[i].nofork + p, advice[k] == MADV_DONTFORK, n);
		return;
	}
	if (Ret || !Shim)
		return;
	/*
	 * Stores through the range: flushed first where a later flush
	 * would miss the dropped pages (tracked mappings).  Untracked
	 * emulated DAX keeps them in tmpfs for the next msync, checked
	 * there.
	 */
	if (!remove) {
		if (Tracked)
			left_clean(i, p, n, "madvise(MADV_DONTNEED)");
		return;
	}
	/* the file's pages are gone (a hole now): nothing left to flush */
	clean_lines(i, lo, n * PG);
}

/* ---- one run ----------------------------------------------------- */

/* open_files -- three files in dir (DAX) and one in plain (not) */
static void
open_files(const char *dir, const char *plain)
{
	mkdir_p(dir);
	mkdir_p(plain);
	for (int f = 0; f < NF; f++) {
		snprintf(F[f].path, sizeof(F[f].path), "%s/f%d", f < NF - 1 ?
			dir : plain, f);
		F[f].fd = open(F[f].path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		FATAL(F[f].fd >= 0);
		F[f].dax = Shim && f < NF - 1;
		F[f].size = (8 + rnd(FPAGES - 8)) * PG - (rnd(2) ? rnd(PG) :
			0);
		unsigned char buf[PG];
		for (size_t o = 0; o < F[f].size; o += PG) {
			for (size_t k = 0; k < PG; k++)
				buf[k] = (unsigned char)rnd64();
			size_t n = F[f].size - o < PG ? F[f].size - o : PG;
			FATAL(pwrite(F[f].fd, buf, n, (off_t)o) == (ssize_t)n);
		}
	}
}

/*
 * new_arena -- APAGES pages of PROT_NONE filler.  With several threads
 * each gets its own, far below where the kernel places mappings (top
 * down): a page one thread unmaps there for a moment must never be where
 * the kernel puts another thread's mapping, the shim's or libc's.  The
 * first address that works: 64 GiB (plain, and TSan's low application
 * range: its mmap takes MAP_FIXED_NOREPLACE for a hint and moves one
 * outside that range to 0), else 48 TiB (ASan keeps 64 GiB in its shadow
 * gap).  A gap between arenas: what grows in place past the end of one
 * never meets the next.
 */
static uintptr_t
new_arena(int t)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	void *a = MAP_FAILED;
	if (Threads == 1)
		a = mmap(NULL, APAGES * PG, PROT_NONE, flags, -1, 0);
	static const uintptr_t base[] = { 0x1000000000, 0x300000000000 };
	for (size_t k = 0; a == MAP_FAILED && k < 2; k++)
		a = mmap((void *)(base[k] + (size_t)t * (APAGES * PG << 4)),
			APAGES * PG, PROT_NONE, flags | MAP_FIXED_NOREPLACE,
			-1, 0);
	FATAL(a != MAP_FAILED && (Threads == 1 ||
		(uintptr_t)a == base[0] + (size_t)t * (APAGES * PG << 4) ||
		(uintptr_t)a == base[1] + (size_t)t * (APAGES * PG << 4)));
	return (uintptr_t)a;
}

/* one thread's run (the whole run without --threads) */
struct run {
	int t;
	uint64_t seed;
	long ops;
	char dir[640], plain[640], trace[720];
	pthread_barrier_t *start;
};

static void *
run(void *arg)
{
	const struct run *r = arg;
	Rng = r->seed;
	Trace = fopen(r->trace, "w");
	FATAL(Trace);
	setvbuf(Trace, NULL, _IOLBF, 0);	/* up to a crash */
	open_files(r->dir, r->plain);
	Arena = new_arena(r->t);
	memset(Filled, 1, sizeof(Filled));
	if (r->start)
		pthread_barrier_wait(r->start);
	static void (*const opfn[])(void) = { op_map, op_map, op_map,
		op_unmap, op_mremap, op_protect, op_store, op_store, op_store,
		op_copy, op_copy, op_msync, op_msync, op_msync, op_fsync,
		op_truncate, op_madvise, op_fork };
	for (Op = 0; Op < r->ops; Op++) {
		Desc[0] = '\0';
		Ret = 0;
		Err = 0;
		opfn[rnd(sizeof(opfn) / sizeof(opfn[0]))]();
		if (!Desc[0])
			continue;
		refill();
		check_model();
		if (Shim) {
			check_registry();
			check_dirty();
		}
		uint64_t h = hash_files();
		for (int i = 0; i < Nm && Op % 16 == 0; i++)
			h = h * 31 + hash_map(&M[i]);
		fprintf(Trace, "%ld %s: %ld errno %d, %d maps, %016" PRIx64
			"\n", Op, Desc, Ret, Err, Nm, h);
	}
	/* at the end every store is flushed by an fsync of its file */
	for (int f = 0; f < NF; f++) {
		desc("final fsync of file %d", f);
		FATAL(fsync(F[f].fd) == 0);
		if (Shim)
			clean_file(f, 0, SIZE_MAX / 2, "the final fsync");
	}
	fclose(Trace);
	return NULL;
}

/*
 * child -- one run: its threads each run() on their own files (dir/tN,
 * plain/tN), arena and trace (TRACE.tN), with a seed of their own
 */
static int
child(int shim, uint64_t seed, long ops, const char *dir, const char *trace,
		int threads)
{
	alarm(RUN_LIMIT);
	Shim = shim;
	Threads = threads;
	Vfork_shares = vfork_probe();
	(void) shim_test_dir(&Real_dax);	/* both runs: where f3 goes */
	if (Shim) {
		shim_test_init();
		Watch = (int (*)(const void *, void (*)(const void *, size_t),
			void (*)(void)))dlsym(RTLD_DEFAULT,
			"pmemshim_test_watch");
		Registered = (int (*)(const void *))dlsym(RTLD_DEFAULT,
			"pmemshim_test_registered");
		Registry_check = (int (*)(void))dlsym(RTLD_DEFAULT,
			"pmemshim_test_registry_check");
		Moved = (unsigned long (*)(void))dlsym(RTLD_DEFAULT,
			"pmemshim_test_moved");
		FATAL(Watch && Registered && Registry_check && Moved);
		Served = Gran;
		Tracked = tracking_expected();
	}
	/* the file outside the DAX directory: beside it on emulated DAX,
	 * on the non-DAX file system in the guest (tests/shim/guest) */
	char plain[600];
	if (Real_dax)
		snprintf(plain, sizeof(plain), "%s/fuzz", plain_dir());
	else
		snprintf(plain, sizeof(plain), "%s-plain", dir);
	static struct run r[MAX_THREADS];
	pthread_barrier_t start;
	FATAL(threads >= 1 && threads <= MAX_THREADS);
	FATAL(pthread_barrier_init(&start, NULL, (unsigned)threads) == 0);
	for (int t = 0; t < threads; t++) {
		/* one thread: the run's own names and seed */
		char sub[16] = "", ext[16] = "";
		if (threads > 1) {
			snprintf(sub, sizeof(sub), "/t%d", t);
			snprintf(ext, sizeof(ext), ".t%d", t);
		}
		r[t].t = t;
		r[t].ops = ops;
		r[t].start = threads > 1 ? &start : NULL;
		r[t].seed = threads > 1 ? seed ^ (uint64_t)(t + 1) << 48 : seed;
		snprintf(r[t].dir, sizeof(r[t].dir), "%s%s", dir, sub);
		snprintf(r[t].plain, sizeof(r[t].plain), "%s%s", plain, sub);
		snprintf(r[t].trace, sizeof(r[t].trace), "%s%s", trace, ext);
	}
	if (threads == 1) {
		run(&r[0]);
		return 0;
	}
	pthread_t th[MAX_THREADS];
	for (int t = 0; t < threads; t++)
		FATAL(pthread_create(&th[t], NULL, run, &r[t]) == 0);
	for (int t = 0; t < threads; t++)
		FATAL(pthread_join(th[t], NULL) == 0);
	return 0;
}

/* ---- the driver -------------------------------------------------- */

/* spawn -- run one child and wait; its exit status */
static int
spawn(const char *kind, uint64_t seed, long ops, const char *dir,
		const char *trace, char **env, int threads)
{
	char s[32], o[32], t[16];
	snprintf(s, sizeof(s), "%" PRIu64, seed);
	snprintf(o, sizeof(o), "%ld", ops);
	snprintf(t, sizeof(t), "%d", threads);
	char *argv[] = { "shim_fuzz", "--child", (char *)kind, s, o,
		(char *)dir, (char *)trace, t, NULL };
	pid_t pid;
	FATAL(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, env) == 0);
	int st;
	FATAL(waitpid(pid, &st, 0) == pid);
	return st;
}

/* ran -- NULL if status st is a clean exit, else what went wrong */
static const char *
ran(int st, const char *how)
{
	static char what[96];
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return NULL;
	snprintf(what, sizeof(what), "the run %s the shim failed (status "
		"%#x)", how, st);
	return what;
}

/*
 * compare_traces -- the first line where the two traces differ, 0 if
 * none (thread t's, -1: the run's only one)
 */
static int
compare_traces(const char *a, const char *b, uint64_t seed, int t)
{
	FILE *x = fopen(a, "r"), *y = fopen(b, "r");
	FATAL(x && y);
	char lx[512], ly[512], prev[4][512] = { "", "", "", "" };
	int n = 0, bad = 0;
	for (;;) {
		char *gx = fgets(lx, sizeof(lx), x);
		char *gy = fgets(ly, sizeof(ly), y);
		if (!gx && !gy)
			break;
		if (!gx || !gy || strcmp(lx, ly) != 0) {
			fprintf(stderr, "shim_fuzz: seed %" PRIu64 ": the "
				"runs differ after", seed);
			if (t >= 0)
				fprintf(stderr, " (thread %d)", t);
			fputs(":\n", stderr);
			for (int k = 0; k < 4; k++)
				fprintf(stderr, "    %s", prev[(n + k) % 4]);
			fprintf(stderr, "  with the shim:    %s  without it: "
				"%s", gx ? lx : "(end)\n", gy ? ly : "(end)\n");
			bad = 1;
			break;
		}
		strcpy(prev[n++ % 4], lx);
	}
	fclose(x);
	fclose(y);
	return bad;
}

/* compare -- each thread's traces (a.tN, b.tN with several threads) */
static int
compare(const char *a, const char *b, uint64_t seed, int threads)
{
	if (threads == 1)
		return compare_traces(a, b, seed, -1);
	for (int t = 0; t < threads; t++) {
		char x[720], y[720];
		snprintf(x, sizeof(x), "%s.t%d", a, t);
		snprintf(y, sizeof(y), "%s.t%d", b, t);
		if (compare_traces(x, y, seed, t))
			return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 8 && strcmp(argv[1], "--child") == 0)
		return child(strcmp(argv[2], "shim") == 0,
			strtoull(argv[3], NULL, 0), atol(argv[4]), argv[5],
			argv[6], atoi(argv[7]));
	const char *dax = shim_test_init();
	/* the DAX guest's scripts pass environment variables, not options */
	const char *te = getenv("SHIM_FUZZ_THREADS");
	int threads = te ? atoi(te) : 1;
	/* fewer under the DAX guest's emulated CPU (8 runs of a thread) */
	long seeds = Real_dax ? (threads > 1 ? 4 : 8) : 24;
	long ops = Real_dax ? 300 : 400;
	uint64_t first = 1;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seeds") == 0)
			seeds = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--ops") == 0)
			ops = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--seed") == 0)
			first = strtoull(argv[i + 1], NULL, 0), seeds = 1;
	}
	if (threads < 1 || threads > MAX_THREADS) {
		fprintf(stderr, "shim_fuzz: --threads: 1 to %d\n", MAX_THREADS);
		return 2;
	}
	/* the run without the shim: the same environment minus the shim */
	static char *plain_env[512];
	int k = 0;
	static char preload[4096];
	for (char **e = environ; *e && k < 510; e++) {
		if (strncmp(*e, "LD_PRELOAD=", 11) != 0) {
			plain_env[k++] = *e;
			continue;
		}
		strcpy(preload, "LD_PRELOAD=");
		char *save, *copy = strdup(*e + 11);
		for (char *t = strtok_r(copy, ": ", &save); t;
				t = strtok_r(NULL, ": ", &save))
			if (!strstr(t, "pmemshim"))
				snprintf(preload + strlen(preload),
					sizeof(preload) - strlen(preload),
					"%s%s", preload[11] ? ":" : "", t);
		free(copy);
		plain_env[k++] = preload;
	}
	plain_env[k] = NULL;
	char pdir[600], ta[700], tb[700];
	/* on the same file system as the run under the shim */
	snprintf(pdir, sizeof(pdir), "%s-noshim", dax);
	snprintf(ta, sizeof(ta), "%s/trace-shim", plain_dir());
	snprintf(tb, sizeof(tb), "%s/trace-plain", plain_dir());
	int failed = 0;
	for (uint64_t s = first; s < first + (uint64_t)seeds; s++) {
		/* a run without the shim failing is the fuzzer's own fault
		 * (or its sanitizer's) */
		const char *bad = ran(spawn("shim", s, ops, dax, ta, environ,
			threads), "under");
		if (!bad)
			bad = ran(spawn("plain", s, ops, pdir, tb, plain_env,
				threads), "without");
		if (bad) {
			fprintf(stderr, "shim_fuzz: seed %" PRIu64 ": %s; "
				"rerun: shim_fuzz --seed %" PRIu64 " --ops %ld "
				"--threads %d\n", s, bad, s, ops, threads);
			failed++;
			continue;
		}
		failed += compare(ta, tb, s, threads);
	}
	printf("shim_fuzz: %ld seeds x %ld ops x %d thread(s), %d failed\n",
		seeds, ops, threads, failed);
	return failed ? 1 : 0;
}
