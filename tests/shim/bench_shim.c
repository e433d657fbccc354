/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_shim.c -- side-by-side ratios in one run (not a timed test):
 *  1. memcpy to non-DAX memory, 8-256 B: with the shim vs without preload;
 *  2. msync of 1/16/256 dirty pages: shim on an emulated-DAX file vs the
 *     kernel's msync of the same-sized file on the root file system;
 *  3. memcpy + msync of 4 KiB..64 MiB into DAX: the core's mover
 *     (PMEMSHIM_MEMCPY=nt) vs glibc memcpy (=off) + the same flush.
 * Usage: bench_shim /path/libpmemshim.so [daxdir] [rootfs dir]
 */
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

#include "shim_test.h"

static double
now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static void *(*volatile Cpy)(void *, const void *, size_t) = memcpy;

/* child modes print one number per line on stdout */
static void
mode_memcpy(void)
{
	static char src[512], dst[512];
	for (size_t n = 8; n <= 256; n *= 2) {
		double best = 1e30;
		for (int rep = 0; rep < 5; rep++) {
			double t = now();
			for (int i = 0; i < 2000000; i++)
				Cpy(dst + (i & 63), src, n);
			double d = (now() - t) / 2000000;
			best = d < best ? d : best;
		}
		printf("%.3f\n", best);
	}
}

/* msync_pages -- dirty one line in each of N pages, msync those N pages
 * (whole: msync the whole 4 MiB mapping instead) */
static double
msync_pages(const char *dir, int pages, int whole)
{
	char path[512];
	size_t len = 1024 * 4096;
	int fd = make_file(dir, "bench-msync", len, 0, path);
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(m != MAP_FAILED);
	msync(m, len, MS_SYNC);
	int iters = 200;
	double t = 0;
	for (int it = 0; it < iters; it++) {
		for (int p = 0; p < pages; p++)
			m[(size_t)p * 4096 + (it & 63) * 64] = (char)it;
		double t0 = now();
		FATAL(msync(m, whole ? len : (size_t)pages * 4096,
			MS_SYNC) == 0);
		t += now() - t0;
	}
	munmap(m, len);
	close(fd);
	unlink(path);
	return t / iters / 1000;
}

static void
mode_copy(const char *dax)
{
	size_t max = 64u << 20;
	char *src = malloc(max);
	FATAL(src);
	for (size_t i = 0; i < max; i += 4096)
		src[i] = (char)i;
	char path[512];
	int fd = make_file(dax, "bench-copy", max, 0, path);
	char *m = mmap(NULL, max, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(m != MAP_FAILED);
	for (size_t n = 4096; n <= max; n *= 16) {
		int iters = n >= (16u << 20) ? 5 : 50;
		double best = 1e30;
		for (int it = 0; it < iters; it++) {
			double t = now();
			Cpy(m, src, n);
			FATAL(msync(m, n, MS_SYNC) == 0);
			double d = now() - t;
			best = d < best ? d : best;
		}
		printf("%.3f\n", best / 1000);
	}
	munmap(m, max);
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

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "memcpy") == 0) {
		mode_memcpy();
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "copy") == 0) {
		mode_copy(getenv("PMEMSHIM_DAX_PATHS"));
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "msync") == 0) {
		const char *dax = getenv("PMEMSHIM_DAX_PATHS");
		const char *root = getenv("BENCH_ROOTFS_DIR");
		int pg[] = { 1, 16, 256 };
		for (int w = 0; w < 2; w++)
			for (int i = 0; i < 3; i++)
				printf("%.3f %.3f\n", msync_pages(dax, pg[i], w),
					msync_pages(root, pg[i], w));
		return 0;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: %s libpmemshim.so [daxdir] [rootfs "
			"dir]\n", argv[0]);
		return 2;
	}
	const char *shim = argv[1];
	char daxenv[300], rootenv[300];
	snprintf(daxenv, sizeof(daxenv), "PMEMSHIM_DAX_PATHS=%s",
		argc > 2 ? argv[2] : "/dev/shm/pmemshim-bench");
	snprintf(rootenv, sizeof(rootenv), "BENCH_ROOTFS_DIR=%s",
		argc > 3 ? argv[3] : "/var/tmp");
	mkdir(argc > 2 ? argv[2] : "/dev/shm/pmemshim-bench", 0755);
	putenv(daxenv);
	putenv(rootenv);

	double a[8], b[8];
	int n = run(argv[0], "memcpy", NULL, NULL, a, 8);
	int m = run(argv[0], "memcpy", shim, NULL, b, 8);
	printf("1. memcpy to non-DAX memory (ns/call, best of 5)\n");
	for (int i = 0, s = 8; i < n && i < m; i++, s *= 2)
		printf("   %4d B: no preload %.3f  shim %.3f  overhead %+.3f "
			"ns (target <= 0.5)\n", s, a[i], b[i], b[i] - a[i]);

	double c[12];
	n = run(argv[0], "msync", shim, NULL, c, 12);
	printf("2. msync of N dirty pages (us/call): shim on emulated DAX "
		"vs kernel on the root fs\n");
	int pg[] = { 1, 16, 256 };
	for (int i = 0; i + 1 < n; i += 2)
		printf("   %3d pages, msync of %s: shim %.2f  kernel %.2f  "
			"speed-up %.0fx (target >= 50x at <= 16)\n",
			pg[i / 2 % 3], i < 6 ? "those pages" : "all 4 MiB",
			c[i], c[i + 1], c[i + 1] / c[i]);

	n = run(argv[0], "copy", shim, "PMEMSHIM_MEMCPY=nt", a, 8);
	m = run(argv[0], "copy", shim, "PMEMSHIM_MEMCPY=off", b, 8);
	printf("3. memcpy + msync into DAX (us): core mover vs glibc memcpy, "
		"same flush\n");
	size_t s = 4096;
	for (int i = 0; i < n && i < m; i++, s *= 16)
		printf("   %8zu KiB: mover %.1f  glibc %.1f  speed-up %.2fx "
			"(target >= 2)\n", s / 1024, a[i], b[i], b[i] / a[i]);
	return 0;
}
