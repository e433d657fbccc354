/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_fuzz_model.c -- what a run of shim_fuzz holds (its files, its
 * mappings, the stores not flushed yet, the arena's filler) and the
 * checks made after each call: the registry against it, the flushes due,
 * and the model itself against /proc/self/maps.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "shim_test.h"
#include "shim_fuzz.h"

TLS uint64_t Rng;

uint64_t
rnd64(void)
{
	uint64_t z = (Rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* rnd -- 0 .. n-1 (0 when n is 0) */
size_t
rnd(size_t n)
{
	return n ? (size_t)(rnd64() % n) : 0;
}

TLS struct file F[NF];
TLS struct map M[NM];
TLS int Nm;
TLS uintptr_t Arena;
TLS unsigned char Filled[APAGES];
int Shim;		/* this run is the one under the shim */
int Threads = 1;
TLS FILE *Trace;
TLS char Desc[256];
TLS long Op;
TLS int Undrained;	/* a flush not followed by a drain yet */
int Tracked;		/* written-page tracking expected */

/* syncfs calls begun and running, in all threads; this thread's begun */
static atomic_long Syncfs_begun, Syncfs_running;
static TLS long Own_syncfs;

void
syncfs_begin(void)
{
	atomic_fetch_add(&Syncfs_running, 1);	/* first: see foreign_syncfs */
	atomic_fetch_add(&Syncfs_begun, 1);
	Own_syncfs++;
}

void
syncfs_end(void)
{
	atomic_fetch_sub(&Syncfs_running, 1);
}

/* foreign_begun -- other threads' syncfs calls begun so far */
static long
foreign_begun(void)
{
	return atomic_load(&Syncfs_begun) - Own_syncfs;
}

/*
 * foreign_syncfs -- read "begun" before "running": a syncfs that began
 * after the first read is counted by the check's later read of "begun";
 * one that began before it is either over (and counted here) or seen
 * running (-1: never checked)
 */
long
foreign_syncfs(void)
{
	long begun = foreign_begun();
	return atomic_load(&Syncfs_running) > 0 && Threads > 1 ? -1 : begun;
}

int (*Watch)(const void *, void (*)(const void *, size_t), void (*)(void));
int (*Registered)(const void *);
int (*Served)(const void *);
int (*Registry_check)(void);
TLS int Report_fd = -1;

/*
 * The kernel's mappings, /proc/self/maps, one at a time, read with read(2)
 * into the caller's buffer.  The fork child checks its model too, and a
 * fork child of a threaded process must not malloc (stdio would): POSIX
 * allows only async-signal-safe calls there, and TSan's allocator (gcc
 * 12) really deadlocks when another thread held its lock at the fork.
 */
struct maps {
	int fd;
	size_t lo, hi;		/* the unparsed bytes: buf[lo, hi) */
	char buf[4096];
};

struct vma {
	uintptr_t lo, hi;
	char perm[5];
};

static int
maps_open(struct maps *r)
{
	r->lo = r->hi = 0;
	return r->fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
}

static void
maps_close(struct maps *r)
{
	if (r->fd >= 0)
		close(r->fd);
}

/* maps_next -- the next mapping's range and permissions; 0 at the end */
static int
maps_next(struct maps *r, struct vma *v)
{
	for (;;) {
		char *l = r->buf + r->lo;
		char *nl = memchr(l, '\n', r->hi - r->lo);
		if (nl) {
			r->lo = (size_t)(nl + 1 - r->buf);
			char *e;
			v->lo = strtoul(l, &e, 16);
			if (*e != '-')
				continue;
			v->hi = strtoul(e + 1, &e, 16);
			if (*e != ' ' || nl - e < 5)
				continue;
			memcpy(v->perm, e + 1, 4);
			v->perm[4] = '\0';
			return 1;
		}
		/* a partial line: to the front, then read more after it */
		r->hi -= r->lo;
		memmove(r->buf, l, r->hi);
		r->lo = 0;
		ssize_t n = r->fd < 0 || r->hi == sizeof(r->buf) ? 0 :
			read(r->fd, r->buf + r->hi, sizeof(r->buf) - r->hi);
		if (n <= 0)
			return 0;
		r->hi += (size_t)n;
	}
}

void
fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "shim_fuzz: op %ld (%s): FAIL: ", Op, Desc);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	for (int i = 0; i < Nm; i++)
		fprintf(stderr, "  mapping %d: file %d pages %zu+%zu, %s%s, "
			"%s, %p, served %d\n", i, M[i].f, M[i].off, M[i].np,
			M[i].shared ? "shared" : "private", M[i].taken ?
			" taken" : "", M[i].arena ? "arena" : "anywhere",
			(void *)M[i].a, served(M[i].a));
	/* and the kernel's view of the arena, in pages from its start */
	struct maps r;
	struct vma v;
	maps_open(&r);
	while (maps_next(&r, &v))
		if (v.hi > Arena && v.lo < Arena + APAGES * PG)
			fprintf(stderr, "  kernel: arena pages %ld..%ld %s\n",
				(long)(v.lo - Arena) / (long)PG,
				(long)(v.hi - Arena) / (long)PG, v.perm);
	maps_close(&r);
	fflush(Trace);
	exit(1);
}

void
desc(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(Desc, sizeof(Desc), fmt, ap);
	va_end(ap);
}

/* ---- the model --------------------------------------------------- */

/* find -- the model mapping holding va (its page in *pg), or -1 */
static int
find(uintptr_t va, size_t *pg)
{
	for (int i = 0; i < Nm; i++)
		if (va >= M[i].a && va < M[i].a + M[i].np * PG) {
			*pg = (va - M[i].a) / PG;
			return i;
		}
	return -1;
}

static int
in_arena(uintptr_t va)
{
	return va >= Arena && va < Arena + APAGES * PG;
}

/*
 * forget -- [lo, hi) is no longer mapped by any model mapping.  Its pages
 * left the shim (gone: every store through them must have been flushed
 * on the way out), unless moved (mremap: their stores go with them).
 */
void
forget(uintptr_t lo, uintptr_t hi, int moved)
{
	for (int i = 0; i < Nm; i++) {
		struct map *m = &M[i];
		uintptr_t e = m->a + m->np * PG;
		if (hi <= m->a || lo >= e)
			continue;
		for (uintptr_t v = lo > m->a ? lo : m->a; v < hi && v < e;
				v += PG)
			if (!moved && owed_lines(m, (v - m->a) / PG))
				fail("page %zu of mapping %d (file %d) left "
					"the shim with stores never flushed "
					"(lines %#" PRIx64 ")", (v - m->a) / PG,
					i, m->f, owed_lines(m, (v - m->a) / PG));
		if (lo > m->a && hi < e) {	/* a hole in the middle */
			FATAL(Nm < NM);
			struct map *t = &M[Nm++];
			*t = *m;
			size_t skip = (hi - m->a) / PG;
			t->a = hi;
			t->np = m->np - skip;
			t->off = m->off + skip;
			for (size_t p = 0; p < t->np; p++) {
				t->prot[p] = m->prot[skip + p];
				t->wr[p] = m->wr[skip + p];
				t->nofork[p] = m->nofork[skip + p];
			}
			m->np = (lo - m->a) / PG;
		} else if (lo > m->a) {		/* the tail */
			m->np = (lo - m->a) / PG;
		} else if (hi < e) {		/* the head */
			size_t skip = (hi - m->a) / PG;
			for (size_t p = 0; p + skip < m->np; p++) {
				m->prot[p] = m->prot[p + skip];
				m->wr[p] = m->wr[p + skip];
				m->nofork[p] = m->nofork[p + skip];
			}
			m->a = hi;
			m->np -= skip;
			m->off += skip;
		} else {			/* all of it */
			M[i--] = M[--Nm];
		}
	}
	for (uintptr_t v = lo; v < hi; v += PG)
		if (in_arena(v))
			Filled[(v - Arena) / PG] = 0;
}

void
add_map(uintptr_t a, size_t np, int f, size_t off, int shared, int taken,
		int prot)
{
	FATAL(Nm < NM && np <= MPAGES);
	struct map *m = &M[Nm++];
	m->a = a;
	m->np = np;
	m->f = f;
	m->off = off;
	m->shared = shared;
	m->taken = taken;
	m->arena = in_arena(a);
	memset(m->prot, prot, sizeof(m->prot));
	memset(m->wr, 0, sizeof(m->wr));
	memset(m->nofork, 0, sizeof(m->nofork));
	for (size_t p = 0; p < np; p++)
		if (in_arena(a + p * PG))
			Filled[(a - Arena) / PG + p] = 0;
}

/*
 * forget_nofork -- in a fork's child: the pages given MADV_DONTFORK are
 * not there (nor, in the arena, the filler around them: refill is the
 * parent's)
 */
void
forget_nofork(void)
{
	for (int i = 0; i < Nm; i++)
		for (size_t p = 0; p < M[i].np; p++)
			if (M[i].nofork[p]) {
				size_t q = p;
				while (q < M[i].np && M[i].nofork[q])
					q++;
				forget(M[i].a + p * PG, M[i].a + q * PG, 1);
				i = -1;		/* M changed: again */
				break;
			}
}

/* refill -- PROT_NONE filler on every arena page nothing else holds */
void
refill(void)
{
	for (size_t p = 0; p < APAGES; p++) {
		size_t pg;
		if (Filled[p] || find(Arena + p * PG, &pg) >= 0)
			continue;
		void *r = mmap((void *)(Arena + p * PG), PG, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE |
			MAP_NORESERVE, -1, 0);
		if (r == MAP_FAILED)
			fail("arena page %zu taken by someone else", p);
		Filled[p] = 1;
	}
}

/* served -- the granularity the shim serves va with, -1 if not */
int
served(uintptr_t va)
{
	return Shim ? Served((const void *)va) : -1;
}

/* line_of -- file line index of va in mapping m, or -1 past the file */
long
line_of(const struct map *m, uintptr_t va)
{
	size_t foff = m->off * PG + (va - m->a);
	if (foff >= F[m->f].size || foff >= FPAGES * PG)
		return -1;
	return (long)(foff / LINE);
}

/*
 * clean -- line l of file f holds no store that is not durable (flushed,
 * written by the mover, or gone): through no mapping either
 */
void
clean(int f, long l)
{
	F[f].dirty[l] = 0;
	size_t pg = (size_t)l * LINE / PG;
	for (int i = 0; i < Nm; i++)
		if (M[i].f == f && pg >= M[i].off && pg < M[i].off + M[i].np)
			M[i].wr[pg - M[i].off] &= ~(1ULL << (l % (PG / LINE)));
}

/*
 * owed -- line l of file f holds a store not known durable, which the
 * shim must flush where a flush is due: dirty, and no other thread's
 * syncfs may have flushed it since (foreign_syncfs)
 */
int
owed(int f, long l)
{
	if (!F[f].dirty[l])
		return 0;
	if (F[f].ep[l] >= 0 && F[f].ep[l] == foreign_begun())
		return 1;
	/*
	 * Maybe durable: forgotten through every mapping.  A bit left in
	 * another mapping's page would otherwise be owed again after the
	 * next store to the line, through a page the shim knows clean.
	 */
	clean(f, l);
	return 0;
}

/* owed_lines -- the lines of page p of m stored through it and owed */
uint64_t
owed_lines(const struct map *m, size_t p)
{
	uint64_t w = m->wr[p];
	for (int b = 0; b < 64; b++) {
		if (!(w >> b & 1))
			continue;
		long l = line_of(m, m->a + p * PG + (size_t)b * LINE);
		if (l < 0 || !owed(m->f, l))
			w &= ~(1ULL << b);
	}
	return w;
}

/* on_flush -- the shim flushes [addr, addr + len) (watched) */
static void
on_flush(const void *addr, size_t len)
{
	if (Report_fd >= 0) {	/* a fork's child: the parent applies it */
		struct flush_rec r = { addr, len };
		FATAL(write(Report_fd, &r, sizeof(r)) == sizeof(r));
		return;
	}
	uintptr_t a = (uintptr_t)addr & ~(uintptr_t)(LINE - 1);
	for (; a < (uintptr_t)addr + len; a += LINE) {
		size_t pg;
		int i = find(a, &pg);
		if (i < 0 && Threads > 1 && !in_arena(a))
			continue;	/* another thread's (its syncfs) */
		if (i < 0)
			fail("the shim flushed %p, which the run has not mapped",
				(void *)a);
		if (M[i].prot[pg] == PROT_NONE)
			fail("the shim flushed a PROT_NONE page");
		long l = line_of(&M[i], a);
		if (l >= 0 && M[i].shared)
			clean(M[i].f, l);
	}
	Undrained = 1;
}

static void
on_drain(void)
{
	if (Report_fd >= 0) {
		struct flush_rec r = { NULL, 0 };
		FATAL(write(Report_fd, &r, sizeof(r)) == sizeof(r));
		return;
	}
	Undrained = 0;
}

void
replay(int fd)
{
	struct flush_rec r;
	ssize_t n;
	while ((n = read(fd, &r, sizeof(r))) == sizeof(r)) {
		if (r.addr)
			on_flush(r.addr, r.len);
		else
			on_drain();
	}
	FATAL(n == 0);
}

/* ---- checks after each call (the run under the shim) -------------- */

/*
 * check_registry -- every arena page and every page of a mapping: in the
 * registry exactly when taken; served when taken and readable.  Watches
 * every served piece (new ones came with this call).
 */
void
check_registry(void)
{
	for (int i = 0; i < Nm; i++)
		for (size_t p = 0; p < M[i].np; p++) {
			void *va = (void *)(M[i].a + p * PG);
			int reg = Registered(va), g = Served(va);
			if (reg != M[i].taken)
				fail("page %zu of mapping %d (file %d, %s): "
					"registered %d", p, i, M[i].f,
					M[i].shared ? "shared" : "private",
					reg);
			if (!reg)
				continue;
			int readable = M[i].prot[p] != PROT_NONE;
			if ((g >= 0) != readable)
				fail("page %zu of mapping %d: served %d with "
					"prot %d", p, i, g, M[i].prot[p]);
			if (Watch(va, on_flush, on_drain) < 0)
				fail("two flush functions in one run");
		}
	for (size_t p = 0; p < APAGES; p++) {
		size_t pg;
		uintptr_t va = Arena + p * PG;
		if (find(va, &pg) < 0 && Registered((void *)va))
			fail("arena page %zu, filler, is registered", p);
	}
	int bad = Registry_check();
	if (bad)
		fail("the registry breaks its own rules at entry %d", bad);
}

/* check_dirty -- every dirty line is still mapped by a served page */
void
check_dirty(void)
{
	for (int f = 0; f < NF; f++)
		for (size_t l = 0; l < sizeof(F[f].dirty); l++) {
			if (!owed(f, (long)l))
				continue;
			int ok = 0;
			for (int i = 0; i < Nm && !ok; i++) {
				struct map *m = &M[i];
				size_t pg = l * LINE / PG;
				if (m->f != f || pg < m->off ||
						pg >= m->off + m->np)
					continue;
				ok = (m->wr[pg - m->off] >> (l % (PG / LINE))) &
					1;
				if (ok && (m->prot[pg - m->off] == PROT_NONE ||
						served(m->a + (pg - m->off) *
						PG) <= 0))
					fail("line %zu of file %d, stored to "
						"by op %ld, is not flushed and "
						"the shim no longer serves "
						"page %zu of mapping %d, which "
						"stored it", l, f, F[f].when[l],
						pg - m->off, i);
			}
			if (!ok)
				fail("line %zu of file %d was stored to by "
					"op %ld and never flushed, and no shim "
					"mapping has it any more", l, f,
					F[f].when[l]);
		}
}

/* clean_range -- the obligation of a sync of [lo, hi): no dirty line */
void
clean_range(uintptr_t lo, uintptr_t hi, const char *what)
{
	for (uintptr_t a = lo & ~(uintptr_t)(LINE - 1); a < hi; a += LINE) {
		size_t pg;
		int i = find(a, &pg);
		if (i < 0 || !M[i].taken || M[i].prot[pg] == PROT_NONE ||
				served(a) <= 0)
			continue;
		long l = line_of(&M[i], a);
		if (l >= 0 && owed(M[i].f, l))
			fail("%s returned with line %ld of file %d (at "
				"page %zu of mapping %d, stored to by op %ld) "
				"not flushed", what, l, M[i].f, pg, i,
				F[M[i].f].when[l]);
	}
}

/* left_clean -- pages [lo, hi) hold no store not flushed (they leave) */
void
left_clean(int i, size_t p, size_t n, const char *what)
{
	for (size_t k = p; k < p + n; k++)
		if (owed_lines(&M[i], k))
			fail("%s returned with lines %#" PRIx64 " of page %zu "
				"of mapping %d (file %d) not flushed", what,
				owed_lines(&M[i], k), k, i, M[i].f);
}

/* clean_file -- no dirty line in file f from offset off, len bytes */
void
clean_file(int f, size_t off, size_t len, const char *what)
{
	for (size_t l = off / LINE; l < sizeof(F[f].dirty) &&
			l * LINE < off + len; l++)
		if (owed(f, (long)l))
			fail("%s returned with line %zu of file %d (stored "
				"to by op %ld) not flushed", what, l, f,
				F[f].when[l]);
}

/* the kernel's mappings, from /proc/self/maps (check_model) */
#define NV 4096
static TLS struct vma V[NV];
static TLS int Nv;

/* vma_at -- the kernel mapping holding a, or NULL */
static const struct vma *
vma_at(uintptr_t a)
{
	for (int k = 0; k < Nv; k++)
		if (a >= V[k].lo && a < V[k].hi)
			return &V[k];
	return NULL;
}

/*
 * check_model -- the model against the kernel's /proc/self/maps: every
 * page of every mapping there, with the protection and the shared flag
 * the model has, and the arena's filler where the model put it (a filler
 * page gone would let the kernel place a mapping there, in one run and
 * not the other) -- the fuzzer checking itself
 */
void
check_model(void)
{
	struct maps r;
	FATAL(maps_open(&r) >= 0);
	for (Nv = 0; Nv < NV && maps_next(&r, &V[Nv]); Nv++)
		;
	maps_close(&r);
	for (int i = 0; i < Nm; i++)
		for (size_t p = 0; p < M[i].np; p++) {
			const struct vma *v = vma_at(M[i].a + p * PG);
			int prot = !v ? -1 : (v->perm[0] == 'r' ? PROT_READ :
				0) | (v->perm[1] == 'w' ? PROT_WRITE : 0);
			if (prot != M[i].prot[p] ||
					(v && (v->perm[3] == 's') != M[i].shared))
				fail("model: page %zu of mapping %d is %s in "
					"the kernel, prot %d shared %d in the "
					"model", p, i, !v ? "unmapped" : v->perm,
					M[i].prot[p], M[i].shared);
		}
	for (size_t p = 0; p < APAGES; p++) {
		size_t pg;
		const struct vma *v = vma_at(Arena + p * PG);
		if (Filled[p] && find(Arena + p * PG, &pg) < 0 &&
				(!v || strcmp(v->perm, "---p") != 0))
			fail("model: arena page %zu, filler, is %s in the "
				"kernel", p, !v ? "unmapped" : v->perm);
	}
}

/* ---- what the runs hold ------------------------------------------ */

static uint64_t
hash(const unsigned char *p, size_t n, uint64_t h)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		__builtin_memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* readable_pages -- pages of m from page p that can be read (in the file) */
static size_t
readable_pages(const struct map *m, size_t p)
{
	size_t fp = (F[m->f].size + PG - 1) / PG;
	size_t n = 0;
	while (p + n < m->np && m->off + p + n < fp &&
			m->prot[p + n] != PROT_NONE)
		n++;
	return n;
}

uint64_t
hash_map(const struct map *m)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t p = 0; p < m->np; p++)
		if (readable_pages(m, p))
			h = hash((const unsigned char *)(m->a + p * PG), PG,
				h);
	return h;
}

uint64_t
hash_files(void)
{
	static TLS unsigned char buf[FPAGES * PG + PG];
	uint64_t h = 0xcbf29ce484222325ULL;
	for (int f = 0; f < NF; f++) {
		struct stat st;
		FATAL(fstat(F[f].fd, &st) == 0);
		ssize_t n = pread(F[f].fd, buf, sizeof(buf), 0);
		FATAL(n >= 0);
		h = hash(buf, (size_t)n, h ^ (uint64_t)st.st_size);
	}
	return h;
}
