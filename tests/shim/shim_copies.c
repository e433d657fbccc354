/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_copies.c -- every copy hook (memcpy, memmove, mempcpy, __mempcpy
 * and the _chk forms) copies exactly n bytes and returns what libc's
 * would, at every size 0..300 and a few larger, at several alignments, on
 * anonymous memory and into an emulated-DAX mapping; the memmove family
 * also with the source and destination overlapping by every distance up
 * to 80 bytes, either way.  The hooks copy small sizes themselves
 * (hooks_mem.c, small) and hand the rest to libc or to the mover; each
 * result is compared with a byte loop.
 */
#include "shim_test.h"

typedef void *(*copy_fn)(void *, const void *, size_t);
typedef void *(*chk_fn)(void *, const void *, size_t, size_t);

enum { AREA = 16384, GUARD = 64 };

static copy_fn Memcpy, Memmove, Mempcpy, Mempcpy2;
static chk_fn Memcpy_chk, Memmove_chk, Mempcpy_chk;
static int Bad;

/* fill -- a pattern no two nearby bytes share */
static void
fill(unsigned char *a, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		a[i] = (unsigned char)(i * 7 + seed * 13 + (i >> 8));
}

/* ref_move -- what any of them must leave: a byte loop, overlap-safe */
static void
ref_move(unsigned char *d, const unsigned char *s, size_t n)
{
	if (d < s) {
		for (size_t i = 0; i < n; i++)
			d[i] = s[i];
	} else {
		for (size_t i = n; i-- > 0;)
			d[i] = s[i];
	}
}

/* call -- hook number k on (d, s, n); its return value */
static void *
call(int k, void *d, const void *s, size_t n)
{
	switch (k) {
	case 0: return Memcpy(d, s, n);
	case 1: return Memmove(d, s, n);
	case 2: return Mempcpy(d, s, n);
	case 3: return Mempcpy2(d, s, n);
	case 4: return Memcpy_chk(d, s, n, n);
	case 5: return Memmove_chk(d, s, n, n + 1);
	default: return Mempcpy_chk(d, s, n, n);
	}
}

static const char *const Names[] = { "memcpy", "memmove", "mempcpy",
	"__mempcpy", "__memcpy_chk", "__memmove_chk", "__mempcpy_chk" };
#define NHOOKS 7

/* returns_end -- mempcpy and its kin return d + n, the others d */
static int
returns_end(int k)
{
	return k == 2 || k == 3 || k == 6;
}

/* may_overlap -- the memmove family */
static int
may_overlap(int k)
{
	return k == 1 || k == 5;
}

/*
 * one -- hook k copies n bytes from area+so to area+dof, compared with the
 * reference over the window they span and GUARD bytes each side
 */
static void
one(int k, unsigned char *area, unsigned char *ref, size_t so, size_t dof,
		size_t n, unsigned seed)
{
	size_t lo = (so < dof ? so : dof) - GUARD;
	size_t hi = (so > dof ? so : dof) + n + GUARD;
	FATAL(so >= GUARD && dof >= GUARD && hi <= AREA);
	fill(area + lo, hi - lo, seed);
	for (size_t i = lo; i < hi; i++)
		ref[i] = area[i];
	ref_move(ref + dof, ref + so, n);
	void *r = call(k, area + dof, area + so, n);
	void *want = area + dof + (returns_end(k) ? n : 0);
	int same = 1;
	for (size_t i = lo; i < hi; i++)
		same &= area[i] == ref[i];
	if (r != want || !same) {
		if (Bad++ < 10)
			fprintf(stderr, "FAIL: %s(dst +%zu, src +%zu, %zu): %s\n",
				Names[k], dof, so, n, r != want ?
				"wrong return value" : "wrong bytes");
	}
}

/* sweep -- every hook, size and alignment, then overlaps, over area */
static void
sweep(unsigned char *area, const char *what)
{
	static unsigned char ref[AREA];
	int before = Bad;
	size_t sizes[320], ns = 0;
	for (size_t n = 0; n <= 300; n++)
		sizes[ns++] = n;
	const size_t big[] = { 511, 1023, 1024, 1025, 2048, 4000 };
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		sizes[ns++] = big[i];
	for (int k = 0; k < NHOOKS; k++)
		for (size_t i = 0; i < ns; i++)
			for (size_t a = 0; a < 3; a++) {
				size_t n = sizes[i];
				/* apart: source first half, destination second */
				one(k, area, ref, GUARD + a * 5, AREA / 2 + a * 3,
					n, (unsigned)(n + a));
			}
	/* overlapping, both ways, the memmove family only */
	for (int k = 0; k < NHOOKS; k++) {
		if (!may_overlap(k))
			continue;
		for (size_t n = 1; n <= 130; n++)
			for (size_t dist = 1; dist <= 80; dist++) {
				one(k, area, ref, GUARD + dist, GUARD, n,
					(unsigned)n);
				one(k, area, ref, GUARD, GUARD + dist, n,
					(unsigned)dist);
			}
	}
	CHECK(Bad == before);
	printf("%s: %s\n", what, Bad == before ? "every copy exact" :
		"copies wrong (above)");
}

int
main(void)
{
	const char *dax = shim_test_init();
	Memcpy = (copy_fn)dlsym(RTLD_DEFAULT, "memcpy");
	Memmove = (copy_fn)dlsym(RTLD_DEFAULT, "memmove");
	Mempcpy = (copy_fn)dlsym(RTLD_DEFAULT, "mempcpy");
	Mempcpy2 = (copy_fn)dlsym(RTLD_DEFAULT, "__mempcpy");
	Memcpy_chk = (chk_fn)dlsym(RTLD_DEFAULT, "__memcpy_chk");
	Memmove_chk = (chk_fn)dlsym(RTLD_DEFAULT, "__memmove_chk");
	Mempcpy_chk = (chk_fn)dlsym(RTLD_DEFAULT, "__mempcpy_chk");
	FATAL(Memcpy && Memmove && Mempcpy && Mempcpy2 && Memcpy_chk &&
		Memmove_chk && Mempcpy_chk);
	/* each is the shim's: a copy in libc would prove nothing */
	for (int k = 0; k < NHOOKS; k++) {
		Dl_info info;
		CHECK(dladdr(dlsym(RTLD_DEFAULT, Names[k]), &info) &&
			info.dli_fname && strstr(info.dli_fname, "pmemshim"));
	}

	/* anonymous memory: the hooks' own small copies and libc's */
	unsigned char *anon = mmap(NULL, AREA, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FATAL(anon != MAP_FAILED);
	sweep(anon, "anonymous memory");
	munmap(anon, AREA);

	/* into a DAX mapping: libc's copy below the mover's threshold, the
	 * mover above it (copies_into_dax counts both) */
	char path[512];
	int fd = make_file(dax, "copies", AREA, 0, path);
	unsigned char *d = mmap(NULL, AREA, PROT_READ | PROT_WRITE,
			MAP_SHARED, fd, 0);
	FATAL(d != MAP_FAILED);
	CHECK(registered(d));
	unsigned long copies = ctr("copies_into_dax");
	sweep(d, "emulated-DAX mapping");
	CHECK(ctr("copies_into_dax") > copies);
	CHECK(msync(d, AREA, MS_SYNC) == 0);
	munmap(d, AREA);
	close(fd);
	unlink(path);
	return finish();
}
