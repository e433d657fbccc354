/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_shim.c -- side-by-side ratios in one run (not a timed test):
 *  1. memcpy to non-DAX memory, 8-256 B: with the shim vs without preload
 *     (alternating processes, best of each);
 *  2. msync of 1/16/256 dirty pages: shim on an emulated-DAX file vs the
 *     kernel's msync of the same-sized file on the root file system, and
 *     the stores before each msync (their write faults) and the cycle;
 *  3. memcpy + msync of 4 KiB..64 MiB into DAX: the core's mover
 *     (PMEMSHIM_MEMCPY=nt) vs glibc memcpy (=off) + the same flush, and
 *     both against a bare non-temporal copy loop without the shim;
 *  4. a mapping much larger than its file (tcamgr: 64 MiB over 0.5 MiB):
 *     mmap, one store, msync of it all, munmap -- with the shim vs without
 *     preload, same emulated-DAX file (the per-mapping cost of taking it
 *     over and tracking it).
 * Usage: bench_shim /path/libpmemshim.so [daxdir] [rootfs dir]
 *
 * On real DAX (tests/dax guest, tests/shim/guest/bench_dax.sh):
 *        bench_shim --real-dax /path/libpmemshim.so fsdax-dir [rounds]
 *  msync of 1/16/256 dirty pages: the shim vs the kernel, same file system,
 *  and the write faults each leaves behind; case 4 there too, the shim vs
 *  the kernel's msync.
 */
#include <emmintrin.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "shim_test.h"
#include "bench_util.h"

static void *(*volatile Cpy)(void *, const void *, size_t) = memcpy;

/* child modes print one number per line on stdout */
static void
mode_memcpy(void)
{
	static char src[512], dst[512];
	for (size_t n = 8; n <= 256; n *= 2) {
		double best = 1e30;
		for (int rep = 0; rep < 5; rep++) {
			double t = now_ns();
			for (int i = 0; i < 2000000; i++)
				Cpy(dst + (i & 63), src, n);
			double d = (now_ns() - t) / 2000000;
			best = d < best ? d : best;
		}
		printf("%.3f\n", best);
	}
}

/* minflt -- minor faults of this process so far */
static long
minflt(void)
{
	struct rusage ru;
	FATAL(getrusage(RUSAGE_SELF, &ru) == 0);
	return ru.ru_minflt;
}

/*
 * msync_pages -- dirty one line in each of N pages, msync those N pages
 * (whole: msync the whole 4 MiB mapping instead), ITERS (<= 1000) times;
 * returns the median us per msync (robust against the odd preempted
 * round on a shared or emulated CPU).  faults, dirty (if not NULL): minor
 * faults and median us per re-dirtying pass after the first (the kernel's
 * msync of DAX write-protects what it flushed, so the next store to each
 * of those pages faults again).
 */
static double
msync_pages(const char *dir, int pages, int whole, int iters,
		double *faults, double *dirty)
{
	static double t[1000], td[1000];
	char path[512];
	size_t len = 1024 * 4096;
	FATAL(iters > 0 && iters <= 1000);
	int fd = make_file(dir, "bench-msync", len, 0, path);
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(m != MAP_FAILED);
	msync(m, len, MS_SYNC);
	long flt = 0;
	for (int it = 0; it < iters; it++) {
		long f0 = minflt();
		double t0 = now_ns();
		for (int p = 0; p < pages; p++)
			m[(size_t)p * 4096 + (it & 63) * 64] = (char)it;
		td[it] = now_ns() - t0;
		if (it)
			flt += minflt() - f0;
		t0 = now_ns();
		FATAL(msync(m, whole ? len : (size_t)pages * 4096,
			MS_SYNC) == 0);
		t[it] = now_ns() - t0;
	}
	munmap(m, len);
	close(fd);
	unlink(path);
	if (faults)
		*faults = iters > 1 ? (double)flt / (iters - 1) : 0;
	if (dirty && iters > 1)
		*dirty = median(td + 1, (size_t)iters - 1) / 1000;
	return median(t, (size_t)iters) / 1000;
}

/*
 * nt_copy -- case 3's floor: a bare SSE2 non-temporal copy loop (64
 * bytes a turn, one store fence), which needs no flush after it
 */
static void
nt_copy(char *to, const char *from, size_t n)
{
	for (size_t o = 0; o < n; o += 64) {
		const __m128i *f = (const __m128i *)(from + o);
		__m128i *d = (__m128i *)(to + o);
		__m128i a = _mm_loadu_si128(f);
		__m128i b = _mm_loadu_si128(f + 1);
		__m128i c = _mm_loadu_si128(f + 2);
		__m128i e = _mm_loadu_si128(f + 3);
		_mm_stream_si128(d, a);
		_mm_stream_si128(d + 1, b);
		_mm_stream_si128(d + 2, c);
		_mm_stream_si128(d + 3, e);
	}
	_mm_sfence();
}

/*
 * mode_copy -- case 3: the best time of memcpy + msync into a DAX file
 * per size; floor: nt_copy into a file on the same tmpfs outside the DAX
 * directories (run without preload).  Nothing copies faster into this
 * memory: the mover over the floor is the mover's own cost, glibc +
 * flush over it the most any copy + flush can gain.
 */
static void
mode_copy(const char *dax, bool floor)
{
	size_t max = 64u << 20;
	char *src = malloc(max);
	FATAL(src);
	for (size_t i = 0; i < max; i += 4096)
		src[i] = (char)i;
	char path[512];
	int fd = make_file(floor ? plain_dir() : dax, "bench-copy", max, 0,
			path);
	char *m = mmap(NULL, max, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(m != MAP_FAILED);
	/* 4 KiB, 64 KiB, 1 MiB, 16 MiB, then 64 MiB (the range) */
	for (size_t n = 4096; n <= max; n = n * 16 > max && n < max ? max :
			n * 16) {
		int iters = n >= (16u << 20) ? 5 : 50;
		double best = 1e30;
		for (int it = 0; it < iters; it++) {
			double t = now_ns();
			if (floor) {
				nt_copy(m, src, n);
			} else {
				Cpy(m, src, n);
				FATAL(msync(m, n, MS_SYNC) == 0);
			}
			double d = now_ns() - t;
			best = d < best ? d : best;
		}
		printf("%.3f\n", best / 1000);
	}
	munmap(m, max);
	close(fd);
	unlink(path);
	if (floor)
		rmdir(plain_dir());
	free(src);
}

/*
 * mode_bigmap -- child of case 4: median us of 300 cycles of mmap of
 * 64 MiB over a 0.5 MiB file in PMEMSHIM_DAX_PATHS, one store, msync of
 * the whole mapping, munmap
 */
static void
mode_bigmap(const char *dir)
{
	enum { N = 300 };
	const size_t big = 64u << 20, file = 528704;
	char path[512];
	int fd = make_file(dir, "bench-bigmap", file, 'b', path);
	static double t[N];
	for (int i = 0; i < N; i++) {
		double t0 = now_ns();
		char *m = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_SHARED,
				fd, 0);
		FATAL(m != MAP_FAILED);
		m[(size_t)(i % 128) * 4096] = (char)i;
		FATAL(msync(m, big, MS_SYNC) == 0);
		FATAL(munmap(m, big) == 0);
		t[i] = (now_ns() - t0) / 1000;
	}
	printf("%.3f\n", median(t, N));
	close(fd);
	unlink(path);
}

/* run -- ourselves in a mode with an environment; parse the numbers */
static int
run(const char *self, const char *mode, const char *preload,
		const char *extra, double *out, int max)
{
	int pfd[2];
	FATAL(pipe(pfd) == 0);
	pid_t pid = fork();
	FATAL(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		if (preload)
			setenv("LD_PRELOAD", preload, 1);
		else
			unsetenv("LD_PRELOAD");
		if (extra)
			putenv((char *)extra);
		execl(self, self, mode, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	FILE *f = fdopen(pfd[0], "r");
	int n = 0;
	while (n < max && fscanf(f, "%lf", &out[n]) == 1)
		n++;
	fclose(f);
	int st;
	waitpid(pid, &st, 0);
	return n;
}

/*
 * mode_dax_msync -- child of real_dax: msync of 1/16/256 dirty pages on
 * BENCH_DAX_DIR (real fsdax); "msync-us faults dirty-us" per size, then
 * the number of msyncs the shim served in user space (-1: no shim here).
 */
static void
mode_dax_msync(void)
{
	const char *dir = getenv("BENCH_DAX_DIR");
	const char *it = getenv("BENCH_ITERS");
	int iters = it ? atoi(it) : 0;
	int pg[] = { 1, 16, 256 };
	FATAL(dir && iters > 1);
	for (int i = 0; i < 3; i++) {
		double f, d, t = msync_pages(dir, pg[i], 0, iters, &f, &d);
		printf("%.3f %.3f %.3f\n", t, f, d);
	}
	unsigned long (*c)(const char *) = (unsigned long (*)(const char *))
		dlsym(RTLD_DEFAULT, "pmemshim_counter");
	printf("%ld\n", c ? (long)c("msync_user_space") : -1L);
}

/*
 * bigmap_pair -- mode_bigmap without preload (*plain) and with the shim
 * (*shim): alternating processes, best median of 3 each side
 */
static void
bigmap_pair(const char *self, const char *shim, double *plain, double *sh)
{
	*plain = *sh = 1e30;
	for (int r = 0; r < 3; r++) {
		double x, y;
		if (run(self, "bigmap", NULL, NULL, &x, 1) == 1 && x < *plain)
			*plain = x;
		if (run(self, "bigmap", shim, NULL, &y, 1) == 1 && y < *sh)
			*sh = y;
	}
}

/*
 * readable -- the shim's path can be preloaded: a wrong one would only
 * make ld.so warn, and every "shim" number would be the kernel's (msync
 * 0.37 us, 227x: seen here)
 */
static bool
readable(const char *self, const char *shim)
{
	if (access(shim, R_OK) == 0)
		return true;
	fprintf(stderr, "%s: %s: %s\n", self, shim, strerror(errno));
	return false;
}

/*
 * real_dax -- bench_shim --real-dax libpmemshim.so DIR [ITERS]: the
 * kernel's msync vs the shim's on a real DAX directory (the shim finds DAX
 * itself: PMEMSHIM_DAX_PATHS is removed), each in its own process, and the
 * write faults of re-dirtying the pages after each msync.  Prints a table;
 * fails (1) only when the run did not measure what it claims: the shim run
 * must have served every msync in user space, the plain run none, and the
 * kernel's msync must leave faults that the shim's does not.
 */
static int
real_dax(const char *self, const char *shim, const char *dir, int iters)
{
	static char direnv[300], itenv[64];
	snprintf(direnv, sizeof(direnv), "BENCH_DAX_DIR=%s", dir);
	snprintf(itenv, sizeof(itenv), "BENCH_ITERS=%d", iters);
	putenv(direnv);
	putenv(itenv);
	unsetenv("PMEMSHIM_DAX_PATHS");
	unsetenv("PMEM2_FORCE_GRANULARITY");
	double k[10], u[10];
	int nk = run(self, "dax-msync", NULL, NULL, k, 10);
	int nu = run(self, "dax-msync", shim, NULL, u, 10);
	if (nk != 10 || nu != 10) {
		printf("FAIL: a benchmark child died (%d/%d numbers)\n", nk,
			nu);
		return 1;
	}
	int pg[] = { 1, 16, 256 };
	printf("N dirty pages on real fsdax (%s), %d rounds; median us of "
		"msync(MS_SYNC) and of the\nre-dirtying pass after it, ratio "
		"kernel/shim of each and of both, minor faults per re-dirtying "
		"pass\n", dir, iters);
	printf("  pages  msync: kernel    shim  ratio  re-dirty: kernel   "
		"shim  both: ratio  faults: kernel  shim\n");
	int bad = 0;
	for (int i = 0; i < 3; i++) {
		const double *a = k + 3 * i, *b = u + 3 * i;
		printf("  %5d  %13.1f %7.1f %5.1fx %17.1f %6.1f %12.1fx "
			"%15.1f %5.1f\n", pg[i], a[0], b[0], a[0] / b[0],
			a[2], b[2], (a[0] + a[2]) / (b[0] + b[2]), a[1], b[1]);
		bad += !(b[1] < a[1]);
	}
	if (bad)
		printf("FAIL: the shim's msync left as many write faults as "
			"the kernel's\n");
	/* tcamgr's pattern: the shim asks which pages are mapped, not
	 * which the file has (mincore: a page-cache lookup for every page
	 * past the end) */
	double p, q;
	bigmap_pair(self, shim, &p, &q);
	printf("mmap 64 MiB of a 0.5 MiB file, one store, msync of it all, "
		"munmap (median us/cycle):\n  kernel %.1f  shim %.1f  ratio "
		"kernel/shim %.1fx\n", p, q, p / q);
	/* per size: one msync of the whole file, then one per round */
	if (k[9] != -1 || u[9] != 3.0 * (iters + 1)) {
		printf("FAIL: msyncs served in user space: %.0f without the "
			"shim (-1 expected), %.0f with it (%d expected)\n",
			k[9], u[9], 3 * (iters + 1));
		bad++;
	}
	return bad ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "dax-msync") == 0) {
		mode_dax_msync();
		return 0;
	}
	if (argc > 3 && strcmp(argv[1], "--real-dax") == 0) {
		if (!readable(argv[0], argv[2]))
			return 2;
		return real_dax(argv[0], argv[2], argv[3],
			argc > 4 ? atoi(argv[4]) : 100);
	}
	if (argc > 1 && strcmp(argv[1], "memcpy") == 0) {
		mode_memcpy();
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "bigmap") == 0) {
		const char *d = getenv("BENCH_DAX_DIR");
		mode_bigmap(d ? d : getenv("PMEMSHIM_DAX_PATHS"));
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "copy") == 0 ||
			strcmp(argv[1], "ntloop") == 0)) {
		mode_copy(getenv("PMEMSHIM_DAX_PATHS"), argv[1][0] == 'n');
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "msync") == 0) {
		const char *dax = getenv("PMEMSHIM_DAX_PATHS");
		const char *root = getenv("BENCH_ROOTFS_DIR");
		int pg[] = { 1, 16, 256 };
		for (int w = 0; w < 2; w++)
			for (int i = 0; i < 3; i++) {
				double ds, dk;
				double s = msync_pages(dax, pg[i], w, 200,
						NULL, &ds);
				double k = msync_pages(root, pg[i], w, 200,
						NULL, &dk);
				printf("%.3f %.3f %.3f %.3f\n", s, k, ds, dk);
			}
		return 0;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: %s libpmemshim.so [daxdir] [rootfs "
			"dir]\n       %s --real-dax libpmemshim.so "
			"fsdax-dir [rounds]\n", argv[0], argv[0]);
		return 2;
	}
	const char *shim = argv[1];
	if (!readable(argv[0], shim))
		return 2;
	char daxenv[300], rootenv[300];
	snprintf(daxenv, sizeof(daxenv), "PMEMSHIM_DAX_PATHS=%s",
		argc > 2 ? argv[2] : "/dev/shm/pmemshim-bench");
	snprintf(rootenv, sizeof(rootenv), "BENCH_ROOTFS_DIR=%s",
		argc > 3 ? argv[3] : "/var/tmp");
	mkdir(argc > 2 ? argv[2] : "/dev/shm/pmemshim-bench", 0755);
	putenv(daxenv);
	putenv(rootenv);

	/* the two sides alternate, 5 processes each, best per size: one
	 * process after the other would time the machine's load, not the
	 * hook's sub-nanosecond cost */
	double a[8], b[8];
	int n = 8, m = 8;
	for (int i = 0; i < 8; i++)
		a[i] = b[i] = 1e30;
	for (int r = 0; r < 5; r++) {
		double x[8], y[8];
		int nx = run(argv[0], "memcpy", NULL, NULL, x, 8);
		int ny = run(argv[0], "memcpy", shim, NULL, y, 8);
		n = nx < n ? nx : n;
		m = ny < m ? ny : m;
		for (int i = 0; i < nx; i++)
			a[i] = x[i] < a[i] ? x[i] : a[i];
		for (int i = 0; i < ny; i++)
			b[i] = y[i] < b[i] ? y[i] : b[i];
	}
	printf("1. memcpy to non-DAX memory (ns/call, best of 5 processes "
		"x 5 runs each side, alternating)\n");
	for (int i = 0, s = 8; i < n && i < m; i++, s *= 2)
		printf("   %4d B: no preload %.3f  shim %.3f  overhead %+.3f "
			"ns (target <= 0.5)\n", s, a[i], b[i], b[i] - a[i]);

	/* per line: msync shim, kernel; the stores before it (a write
	 * fault per page where the last msync protected it) shim, kernel */
	double c[24];
	n = run(argv[0], "msync", shim, NULL, c, 24);
	printf("2. msync of N dirty pages (median us/call): shim on "
		"emulated DAX vs kernel on the root fs; then the stores that "
		"dirtied them, and the whole store + msync cycle\n");
	int pg[] = { 1, 16, 256 };
	for (int i = 0; i + 3 < n; i += 4)
		printf("   %3d pages, msync of %s: shim %.2f  kernel %.2f  "
			"speed-up %.0fx (target >= 50x at <= 16); stores: "
			"shim %.2f  kernel %.2f; cycle %.0fx\n",
			pg[i / 4 % 3], i < 12 ? "those pages" : "all 4 MiB",
			c[i], c[i + 1], c[i + 1] / c[i], c[i + 2], c[i + 3],
			(c[i + 1] + c[i + 3]) / (c[i] + c[i + 2]));

	n = run(argv[0], "copy", shim, "PMEMSHIM_MEMCPY=nt", a, 8);
	m = run(argv[0], "copy", shim, "PMEMSHIM_MEMCPY=off", b, 8);
	double r[8];
	int l = run(argv[0], "ntloop", NULL, NULL, r, 8);
	printf("3. memcpy + msync into DAX (us): core mover vs glibc memcpy, "
		"same flush;\n   floor: a bare non-temporal copy loop into "
		"the same tmpfs, no shim, no flush\n   (mover/floor: the "
		"mover's own cost; glibc/floor: the most any copy can gain)\n");
	size_t s = 4096;
	for (int i = 0; i < n && i < m; i++, s = s * 16 > (64u << 20) ?
			64u << 20 : s * 16) {
		printf("   %8zu KiB: mover %.1f  glibc %.1f  speed-up %.2fx "
			"(target >= 2)", s / 1024, a[i], b[i], b[i] / a[i]);
		if (i < l)
			printf("; floor %.1f: mover/floor %.2f, glibc/floor "
				"%.2f", r[i], a[i] / r[i], b[i] / r[i]);
		printf("\n");
	}

	double p, q;
	bigmap_pair(argv[0], shim, &p, &q);
	printf("4. mmap 64 MiB of a 0.5 MiB emulated-DAX file, one store, "
		"msync, munmap (median us/cycle)\n   no preload %.1f  shim "
		"%.1f  ratio %.2fx\n", p, q, q / p);
	return 0;
}
