/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmem2_bench.c -- our libpmem2 against Debian's PMDK 1.12 libpmem2 and a
 * raw AVX-512 non-temporal loop (the ceiling), on a /dev/shm file mapped
 * with PMEM2_FORCE_GRANULARITY.
 *
 * Both libraries are loaded side by side with dlmopen(LM_ID_NEWLM), each in
 * its own namespace (with its own libc, whose setenv we call so each sees
 * PMEM2_FORCE_GRANULARITY).  Every operation goes to a fresh destination
 * (a cursor walks a region much larger than the LLC) from a cold source.
 * Per repetition the three contenders run in rotating order; we report
 * medians.  Throughput rows are GB/s (1e9 B/s); persist rows are ns per
 * call, and their ratios are speed ratios (PMDK ns / ours ns).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <immintrin.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <libpmem2.h>

#include "floor.h"
#include "plot.h"
#include "bench_util.h"

#define MIB (1024UL * 1024)
#define MAXREPS 15

enum who { OURS, PMDK, CEIL, NWHO };
enum kind { K_CPY, K_SET, K_PERSIST };

struct lib {
	const char *path;
	void *h;
	int (*config_new)(struct pmem2_config **);
	int (*config_set_gran)(struct pmem2_config *, enum pmem2_granularity);
	int (*config_delete)(struct pmem2_config **);
	int (*source_from_fd)(struct pmem2_source **, int);
	int (*source_delete)(struct pmem2_source **);
	int (*map_new)(struct pmem2_map **, const struct pmem2_config *,
		const struct pmem2_source *);
	void *(*map_addr)(struct pmem2_map *);
	pmem2_memcpy_fn (*get_memcpy)(struct pmem2_map *);
	pmem2_memset_fn (*get_memset)(struct pmem2_map *);
	pmem2_persist_fn (*get_persist)(struct pmem2_map *);
	const char *(*errormsg)(void);
	int (*setenv_ns)(const char *, const char *, int);
	/* one mapping per granularity: [0] CACHE_LINE, [1] BYTE */
	char *base[2];
	pmem2_memcpy_fn cpy[2];
	pmem2_memset_fn set[2];
	pmem2_persist_fn persist[2];
};

static struct lib Libs[2];
static size_t Region, Src_region;
static char *Src;
static size_t Cursor, Src_cursor;	/* shared: every op gets fresh lines */
static double Tsc_per_ns;
static int Quick, Reps;
static int Plot, Progress, Floor;

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "pmem2-bench: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
	exit(1);
}

static void *
sym(struct lib *l, const char *name)
{
	void *p = dlsym(l->h, name);
	if (!p)
		die("missing symbol", name);
	return p;
}

/* load -- dlmopen a libpmem2 into a new namespace and find its libc too */
static void
load(struct lib *l, const char *path)
{
	l->path = path;
	l->h = dlmopen(LM_ID_NEWLM, path, RTLD_NOW | RTLD_LOCAL);
	if (!l->h)
		die("dlmopen", dlerror());
	Lmid_t lmid;
	if (dlinfo(l->h, RTLD_DI_LMID, &lmid) != 0)
		die("dlinfo", dlerror());
	void *libc = dlmopen(lmid, "libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	if (!libc || !(l->setenv_ns = dlsym(libc, "setenv")))
		die("libc of the namespace", dlerror());
	l->config_new = sym(l, "pmem2_config_new");
	l->config_set_gran = sym(l,
		"pmem2_config_set_required_store_granularity");
	l->config_delete = sym(l, "pmem2_config_delete");
	l->source_from_fd = sym(l, "pmem2_source_from_fd");
	l->source_delete = sym(l, "pmem2_source_delete");
	l->map_new = sym(l, "pmem2_map_new");
	l->map_addr = sym(l, "pmem2_map_get_address");
	l->get_memcpy = sym(l, "pmem2_get_memcpy_fn");
	l->get_memset = sym(l, "pmem2_get_memset_fn");
	l->get_persist = sym(l, "pmem2_get_persist_fn");
	l->errormsg = sym(l, "pmem2_errormsg");
}

/* map -- one mapping of the whole file at granularity g, pre-faulted */
static void
map(struct lib *l, int fd, int gi)
{
	enum pmem2_granularity g = gi ? PMEM2_GRANULARITY_BYTE :
		PMEM2_GRANULARITY_CACHE_LINE;
	struct pmem2_config *cfg;
	struct pmem2_source *src;
	struct pmem2_map *m;
	l->setenv_ns("PMEM2_FORCE_GRANULARITY", gi ? "BYTE" : "CACHE_LINE", 1);
	if (l->config_new(&cfg) || l->config_set_gran(cfg, g) ||
			l->source_from_fd(&src, fd) || l->map_new(&m, cfg, src))
		die(l->path, l->errormsg());
	l->config_delete(&cfg);
	l->source_delete(&src);
	l->base[gi] = l->map_addr(m);
	l->cpy[gi] = l->get_memcpy(m);
	l->set[gi] = l->get_memset(m);
	l->persist[gi] = l->get_persist(m);
	memset(l->base[gi], 0, Region);	/* page tables of this mapping */
}

/* the ceiling: the plainest AVX-512 non-temporal loop, then SFENCE */
__attribute__((target("avx512f"), noinline)) void
ceil_copy(char *d, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i += 64)
		_mm512_stream_si512((void *)(d + i),
			_mm512_loadu_si512((const void *)(s + i)));
	_mm_sfence();
}

__attribute__((target("avx512f"), noinline)) static void
ceil_set(char *d, int c, size_t n)
{
	__m512i v = _mm512_set1_epi8((char)c);
	for (size_t i = 0; i < n; i += 64)
		_mm512_stream_si512((void *)(d + i), v);
	_mm_sfence();
}

/* ceiling persist: CLWB each line and SFENCE (BYTE: the SFENCE only) */
__attribute__((noinline)) static void
ceil_persist(char *d, size_t n, int byte)
{
	if (!byte)
		for (size_t i = 0; i < n; i += 64)
			__asm__ volatile("clwb %0" : "+m"(d[i]));
	_mm_sfence();
}

static void
calibrate_tsc(void)
{
	double t0 = now_ns();
	uint64_t c0 = __rdtsc();
	struct timespec d = { 0, 50 * 1000 * 1000 };
	nanosleep(&d, NULL);
	Tsc_per_ns = (double)(__rdtsc() - c0) / (now_ns() - t0);
}

/* next -- a fresh 64-byte aligned destination (and source) of len bytes */
static size_t
next(size_t *cur, size_t region, size_t len)
{
	size_t step = (len + 63) & ~63UL;
	if (*cur + step > region)
		*cur = 0;
	size_t at = *cur;
	*cur += step;
	return at;
}

/*
 * run -- one timed batch: GB/s for copies and sets, ns per call for
 * persist.  The MFENCE before the clock read makes sure everything the
 * batch stored (including non-temporal stores) is counted.
 */
static double
run(enum who w, enum kind k, unsigned flags, int gi, size_t len)
{
	char *base = w == CEIL ? Libs[OURS].base[gi] : Libs[w].base[gi];
	if (k == K_PERSIST) {
		size_t n = len >= MIB ? (Quick ? 8 : 32) : (Quick ? 2000 : 8000);
		uint64_t cycles = 0;
		for (size_t i = 0; i < n; i++) {
			char *d = base + next(&Cursor, Region, len);
			for (size_t j = 0; j < len; j += 64)
				d[j] = (char)i;	/* dirty every line */
			_mm_mfence();
			uint64_t c0 = __rdtsc();
			_mm_lfence();
			if (w == CEIL)
				ceil_persist(d, len, gi);
			else
				Libs[w].persist[gi](d, len);
			_mm_mfence();
			cycles += __rdtsc() - c0;
		}
		return (double)cycles / Tsc_per_ns / (double)n;
	}
	size_t total = (Quick ? 16 : 64) * MIB;
	if (total < 4 * len)
		total = 4 * len;
	size_t n = total / len;
	double t0 = now_ns();
	for (size_t i = 0; i < n; i++) {
		char *d = base + next(&Cursor, Region, len);
		if (k == K_SET) {
			if (w == CEIL)
				ceil_set(d, (int)i, len);
			else
				Libs[w].set[gi](d, (int)i, len, flags);
		} else {
			const char *s = Src + next(&Src_cursor, Src_region, len);
			if (w == CEIL)
				ceil_copy(d, s, len);
			else
				Libs[w].cpy[gi](d, s, len, flags);
		}
	}
	_mm_mfence();
	return (double)(n * len) / (now_ns() - t0);
}

struct bcase {
	const char *name;
	enum kind k;
	unsigned flags;
	int gi;
};

static const struct bcase Cases[] = {
	{ "memcpy", K_CPY, 0, 0 },
	{ "memcpy NONTEMPORAL", K_CPY, PMEM2_F_MEM_NONTEMPORAL, 0 },
	{ "memcpy TEMPORAL", K_CPY, PMEM2_F_MEM_TEMPORAL, 0 },
	{ "memset", K_SET, 0, 0 },
	{ "memset NONTEMPORAL", K_SET, PMEM2_F_MEM_NONTEMPORAL, 0 },
	{ "memset TEMPORAL", K_SET, PMEM2_F_MEM_TEMPORAL, 0 },
	{ "memcpy", K_CPY, 0, 1 },
	{ "memcpy NONTEMPORAL", K_CPY, PMEM2_F_MEM_NONTEMPORAL, 1 },
	{ "memset", K_SET, 0, 1 },
	{ "memset NONTEMPORAL", K_SET, PMEM2_F_MEM_NONTEMPORAL, 1 },
	{ "persist", K_PERSIST, 0, 0 },
	{ "persist", K_PERSIST, 0, 1 },
};

static const size_t Sizes_full[] = { 64, 256, 1024, 4096, 16384, 65536,
	262144, MIB, 4 * MIB, 16 * MIB, 64 * MIB };
static const size_t Sizes_quick[] = { 64, 256, 4096, 65536, MIB };
static const size_t Sizes_persist[] = { 64, 4096, 2 * MIB };

static const char *
size_name(size_t s, char *buf)
{
	if (s >= MIB)
		sprintf(buf, "%zu MiB", s / MIB);
	else if (s >= 1024)
		sprintf(buf, "%zu KiB", s / 1024);
	else
		sprintf(buf, "%zu B", s);
	return buf;
}

/* one_row -- all repetitions of one case and size, interleaved */
static void
one_row(const struct bcase *c, size_t len, FILE *csv)
{
	double v[NWHO][MAXREPS], med[NWHO];
	for (int r = 0; r < Reps; r++)
		for (int j = 0; j < NWHO; j++) {
			enum who w = (enum who)((r + j) % NWHO);
			v[w][r] = run(w, c->k, c->flags, c->gi, len);
		}
	for (int w = 0; w < NWHO; w++) {
		med[w] = median(v[w], (size_t)Reps);
	}
	int lat = c->k == K_PERSIST;
	double vs_pmdk = lat ? med[PMDK] / med[OURS] : med[OURS] / med[PMDK];
	double vs_ceil = lat ? med[CEIL] / med[OURS] : med[OURS] / med[CEIL];
	const char *gran = c->gi ? "BYTE" : "CACHE_LINE";
	char sb[32];
	printf("%-19s %-10s %7s %9.2f %9.2f %9.2f %7.3f %7.3f  %s\n", c->name,
		gran, size_name(len, sb), med[OURS], med[PMDK], med[CEIL],
		vs_pmdk, vs_ceil, lat ? "ns" : "GB/s");
	fflush(stdout);
	if (csv)
		fprintf(csv, "%s,%s,%zu,%s,%.4f,%.4f,%.4f,%.4f,%.4f\n",
			c->name, gran, len, lat ? "ns" : "GB/s", med[OURS],
			med[PMDK], med[CEIL], vs_pmdk, vs_ceil);
	if (Plot && !lat)
		plot_add(c->name, gran, len, med[OURS], med[PMDK], med[CEIL]);
}

/* progress -- "[ 12/58] case gran size" on stderr: rewritten in place on
 * a terminal, one line each otherwise (--progress into a log) */
static void
progress(size_t done, size_t total, const struct bcase *c, size_t len)
{
	if (!Progress)
		return;
	int tty = isatty(2);
	char sb[32];
	if (done == total)
		fprintf(stderr, tty ? "\r\033[K" : "[%zu/%zu] done\n", done,
			total);
	else
		fprintf(stderr, "%s[%3zu/%zu] %s %s %s%s", tty ? "\r\033[K" :
			"", done + 1, total, c->name, c->gi ? "BYTE" :
			"CACHE_LINE", size_name(len, sb), tty ? "" : "\n");
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: pmem2-bench [--quick] [--reps N] [--csv FILE] "
		"[--plot FILE.png|FILE.svg]\n"
		"                   [--progress] [--floor] [--ours LIB] "
		"[--pmdk LIB]\n"
		"  --quick      fewer sizes, 3 repetitions, smaller regions\n"
		"  --reps N     repetitions per row, 1..%d (default 7, quick 3)\n"
		"  --csv FILE   every row as CSV too\n"
		"  --plot FILE  draw throughput against size (ours, PMDK, "
		"ceiling) with\n"
		"               gnuplot; FILE.dat and FILE.gp are kept beside "
		"it\n"
		"  --progress   progress line on stderr even when it is not a "
		"terminal\n"
		"  --floor      instead of the table: 64 B and 256 B persisted "
		"copies by every\n"
		"               store + fence sequence the CPU has, against ours "
		"and PMDK's\n"
		"  --ours LIB   our libpmem2.so.1 (default: %s)\n"
		"  --pmdk LIB   PMDK's (default: %s)\n",
		MAXREPS, PMEM2_BENCH_OURS, PMEM2_BENCH_PMDK);
}

static void
bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "pmem2-bench: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	usage(stderr);
	exit(2);
}

/* default_ours -- the library installed relative to this program
 * (PMEM2_BENCH_REL from bindir) when there is one, else the build tree's */
static const char *
default_ours(void)
{
	static char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 64 -
		sizeof(PMEM2_BENCH_REL));
	if (n <= 0)
		return PMEM2_BENCH_OURS;
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	strcpy(slash + 1, PMEM2_BENCH_REL "/libpmem2.so.1");
	return access(buf, R_OK) == 0 ? buf : PMEM2_BENCH_OURS;
}

int
main(int argc, char **argv)
{
	const char *ours = NULL, *pmdk = PMEM2_BENCH_PMDK;
	const char *csvpath = NULL, *plotpath = NULL;
	Reps = 0;
	Progress = isatty(2);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int has_val = i + 1 < argc;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--quick")) {
			Quick = 1;
		} else if (!strcmp(a, "--progress")) {
			Progress = 1;
		} else if (!strcmp(a, "--floor")) {
			Floor = 1;
		} else if (!strcmp(a, "--reps") || !strcmp(a, "--csv") ||
				!strcmp(a, "--plot") || !strcmp(a, "--ours") ||
				!strcmp(a, "--pmdk")) {
			if (!has_val)
				bad_usage("option '%s' needs a value", a);
			const char *v = argv[++i];
			char *end;
			switch (a[2]) {
			case 'r':
				Reps = (int)strtol(v, &end, 10);
				if (*end || Reps < 1 || Reps > MAXREPS)
					bad_usage("--reps '%s': want 1..15", v);
				break;
			case 'c': csvpath = v; break;
			case 'o': ours = v; break;
			case 'p':
				if (a[3] == 'm')
					pmdk = v;
				else
					plotpath = v;
				break;
			}
		} else {
			bad_usage("unknown option '%s'", a);
		}
	}
	if (!ours)
		ours = default_ours();
	if (plotpath && plot_check(plotpath))
		return 2;
	Plot = plotpath != NULL;
	if (Reps <= 0)
		Reps = Quick ? 3 : 7;
	if (!__builtin_cpu_supports("avx512f"))
		die("the ceiling loop needs AVX-512F", NULL);

	Region = (Quick ? 256 : 1024) * MIB;
	Src_region = (Quick ? 128 : 512) * MIB;
	char path[] = "/dev/shm/pmem2-bench-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, (off_t)Region) != 0)
		die("cannot create a file in /dev/shm", NULL);
	unlink(path);
	Src = mmap(NULL, Src_region, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (Src == MAP_FAILED)
		die("mmap source", NULL);
	for (size_t i = 0; i < Src_region; i += 4096)
		Src[i] = (char)i;

	load(&Libs[OURS], ours);
	load(&Libs[PMDK], pmdk);
	for (int l = 0; l < 2; l++)
		for (int g = 0; g < 2; g++)
			map(&Libs[l], fd, g);
	calibrate_tsc();
	if (Floor) {
		struct floor_area fa = { Libs[OURS].base[0], Region, Src,
			Src_region, Quick };
		return floor_study(&fa, Libs[OURS].cpy[0], Libs[PMDK].cpy[0],
			Reps);
	}

	FILE *csv = csvpath ? fopen(csvpath, "w") : NULL;
	if (csvpath && !csv)
		die("cannot write", csvpath);
	if (csv)
		fprintf(csv, "case,granularity,size,unit,ours,pmdk,ceiling,"
			"ours_vs_pmdk,ours_vs_ceiling\n");
	printf("ours: %s\nPMDK: %s\nceiling: AVX-512 vmovntdq loop + sfence "
		"(persist: clwb loop + sfence)\n%d repetitions, medians; "
		"persist rows in ns, their ratios are PMDK ns / ours ns\n\n",
		ours, pmdk, Reps);
	printf("%-19s %-10s %7s %9s %9s %9s %7s %7s\n", "case", "gran", "size",
		"ours", "PMDK", "ceiling", "ours/PMDK", "ours/ceil");
	const size_t *sizes = Quick ? Sizes_quick : Sizes_full;
	size_t nsizes = Quick ? sizeof(Sizes_quick) / sizeof(size_t) :
		sizeof(Sizes_full) / sizeof(size_t);
	size_t ncases = sizeof(Cases) / sizeof(Cases[0]), total = 0, done = 0;
	for (size_t c = 0; c < ncases; c++)
		total += Cases[c].k == K_PERSIST ? 3 : nsizes;
	for (size_t c = 0; c < ncases; c++) {
		int lat = Cases[c].k == K_PERSIST;
		for (size_t s = 0; s < (lat ? 3 : nsizes); s++) {
			size_t len = lat ? Sizes_persist[s] : sizes[s];
			progress(done++, total, &Cases[c], len);
			one_row(&Cases[c], len, csv);
		}
	}
	progress(total, total, NULL, 0);
	if (csv)
		fclose(csv);
	if (Plot && plot_write(plotpath))
		return 1;
	return 0;
}
