/* SPDX-License-Identifier: BSD-3-Clause */
/* shim_test.h -- helpers for the programs run under LD_PRELOAD=libpmemshim. */
#ifndef SHIM_TEST_H
#define SHIM_TEST_H

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/userfaultfd.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SKIP 77

__attribute__((unused)) static int Failures;

#define CHECK(c) do { \
	if (!(c)) { \
		fprintf(stderr, "%s:%d: FAIL: %s (errno %d: %s)\n", __FILE__, \
			__LINE__, #c, errno, strerror(errno)); \
		Failures++; \
	} \
} while (0)

#define FATAL(c) do { \
	if (!(c)) { \
		fprintf(stderr, "%s:%d: FATAL: %s (errno %d: %s)\n", \
			__FILE__, __LINE__, #c, errno, strerror(errno)); \
		exit(1); \
	} \
} while (0)

__attribute__((unused)) static unsigned long (*Counter)(const char *);
__attribute__((unused)) static int (*Gran)(const void *);

/*
 * Real_dax -- 1 when the test directory comes from SHIM_TEST_DIR (a
 * directory on a real DAX file system, tests/shim/guest/shim_dax.sh): the
 * shim is told nothing and must detect DAX itself.  0 when it comes from
 * PMEMSHIM_DAX_PATHS (emulated DAX, the ctest runs on tmpfs).
 */
__attribute__((unused)) static int Real_dax;

/* mkdir_p -- create dir and its parents (the test's own directory) */
__attribute__((unused)) static void
mkdir_p(const char *dir)
{
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *c = tmp + 1; *c; c++)
		if (*c == '/') {
			*c = '\0';
			mkdir(tmp, 0755);
			*c = '/';
		}
	mkdir(tmp, 0755);
}

/*
 * shim_test_dir -- the test's DAX directory: SHIM_TEST_DIR (real DAX;
 * PMEMSHIM_DAX_PATHS must then be unset, or the run would prove nothing
 * about detection) or else PMEMSHIM_DAX_PATHS (one emulated-DAX dir).
 * NULL when neither is usable.
 */
__attribute__((unused)) static const char *
shim_test_dir(int *real)
{
	const char *d = getenv("SHIM_TEST_DIR");
	const char *e = getenv("PMEMSHIM_DAX_PATHS");
	*real = d && *d;
	if (*real)
		return e ? NULL : d;
	return e && *e && !strchr(e, ':') ? e : NULL;
}

/*
 * shim_test_init -- the shim must be preloaded (else FAIL: the test command
 * sets LD_PRELOAD) and shim_test_dir must name a directory (created here
 * when missing).
 */
__attribute__((unused)) static const char *
shim_test_init(void)
{
	Counter = (unsigned long (*)(const char *))dlsym(RTLD_DEFAULT,
			"pmemshim_counter");
	Gran = (int (*)(const void *))dlsym(RTLD_DEFAULT,
			"pmemshim_mapping_granularity");
	FATAL(Counter && Gran);
	const char *d = shim_test_dir(&Real_dax);
	FATAL(d);
	mkdir_p(d);
	return d;
}

/*
 * flushed_bytes -- what msync_bytes_flushed grows by when an msync of
 * REQUESTED bytes of mapping p flushes RESIDENT bytes: at BYTE granularity
 * (real DAX on eADR) nothing needs flushing and the whole range counts.
 */
__attribute__((unused)) static unsigned long
flushed_bytes(const void *p, unsigned long resident, unsigned long requested)
{
	return Gran(p) == 0 /* PMEM2_GRANULARITY_BYTE */ ? requested : resident;
}

__attribute__((unused)) static unsigned long
ctr(const char *name)
{
	unsigned long v = Counter(name);
	FATAL(v != (unsigned long)-1);
	return v;
}

/* under_valgrind -- its vgpreload libraries are in LD_PRELOAD */
__attribute__((unused)) static int
under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");
	return p && strstr(p, "vgpreload");
}

static sigjmp_buf Probe_env;

static void
probe_bus(int sig)
{
	(void) sig;
	siglongjmp(Probe_env, 1);
}

/*
 * flush_faults -- does a cache-line flush of a page past a file's end
 * raise SIGBUS here?  On a real CPU it does (and it maps a page that is
 * there for reading); valgrind and QEMU's TCG (the DAX guest) do not
 * touch memory for it.  Asked once, of a memfd.
 */
__attribute__((unused)) static int
flush_faults(void)
{
	static int r = -1;
	if (r >= 0)
		return r;
	int fd = memfd_create("probe", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 4096)) {
		perror("flush_faults");
		exit(1);
	}
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("flush_faults");
		exit(1);
	}
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = probe_bus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	volatile int faults = 1;
	if (sigsetjmp(Probe_env, 1) == 0) {
		__asm__ volatile("clflush %0" : : "m"(p[4096]) : "memory");
		faults = 0;
	}
	sigaction(SIGBUS, &old, NULL);
	munmap(p, 8192);
	close(fd);
	return r = faults;
}

/* registered -- the shim took p's mapping over (its msync is the shim's) */
__attribute__((unused)) static int
registered(const void *p)
{
	return Gran(p) >= 0;
}

/*
 * flushed_by -- the bytes op(addr, len, fl) flushed (msync_bytes_flushed
 * before and after); op must succeed
 */
__attribute__((unused)) static unsigned long
flushed_by(int (*op)(void *, size_t, int), void *addr, size_t len, int fl)
{
	unsigned long before = ctr("msync_bytes_flushed");
	CHECK(op(addr, len, fl) == 0);
	return ctr("msync_bytes_flushed") - before;
}

/* a file of size bytes filled with byte c, path dir/name; returns the fd */
__attribute__((unused)) static int
make_file(const char *dir, const char *name, size_t size, int c,
		char *path_out)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (path_out)
		strcpy(path_out, path);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	FATAL(fd >= 0);
	char buf[4096];
	memset(buf, c, sizeof(buf));
	for (size_t off = 0; off < size; off += sizeof(buf)) {
		size_t n = size - off < sizeof(buf) ? size - off : sizeof(buf);
		FATAL(pwrite(fd, buf, n, (off_t)off) == (ssize_t)n);
	}
	return fd;
}

/*
 * a directory outside PMEMSHIM_DAX_PATHS, on the same tmpfs (emulated), or
 * under SHIM_TEST_PLAIN_DIR, a non-DAX file system (real DAX)
 */
__attribute__((unused)) static const char *
plain_dir(void)
{
	static char d[256];
	const char *base = getenv("SHIM_TEST_PLAIN_DIR");
	snprintf(d, sizeof(d), "%s/pmemshim-plain-%d",
		base && *base ? base : "/dev/shm", (int)getpid());
	mkdir(d, 0755);
	return d;
}

/*
 * tracking_expected -- should the shim know which pages were written
 * (dirty.c)?  Asked of the kernel directly, not of the shim: an
 * asynchronous write-protect userfaultfd (Linux 6.7+), and PMEMSHIM_TRACK
 * not "off".  Tests expect "only the written pages are flushed" when true,
 * "every resident page" when false.
 */
__attribute__((unused)) static int
tracking_expected(void)
{
	const char *v = getenv("PMEMSHIM_TRACK");
	if (v && strcasecmp(v, "off") == 0)
		return 0;
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return 0;
	struct uffdio_api api = { .api = UFFD_API,
		.features = (1 << 15) /* UFFD_FEATURE_WP_ASYNC */ };
	int ok = ioctl(fd, UFFDIO_API, &api) == 0;
	close(fd);
	return ok;
}

/*
 * mapped_pages -- the pages of [p, p + n pages) this process has mapped,
 * read from /proc/self/pagemap (not PAGEMAP_SCAN, which the shim uses):
 * present, or swapped without the write-protect marker alone (a page
 * on its way back).  What a mapping that lost its tracking flushes.
 */
__attribute__((unused)) static unsigned long
mapped_pages(const void *p, size_t n)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	FATAL(fd >= 0);
	unsigned long cnt = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t e;
		off_t off = (off_t)(((uintptr_t)p / 4096 + i) * sizeof(e));
		FATAL(pread(fd, &e, sizeof(e), off) == sizeof(e));
		int present = (int)(e >> 63 & 1), swapped = (int)(e >> 62 & 1);
		int wp = (int)(e >> 57 & 1);
		cnt += present || (swapped && !wp);
	}
	close(fd);
	return cnt;
}

/*
 * run_self -- run self again as "self mode", with env1 and env2 (each NULL or
 * "NAME=value") added to its environment and, if err is not NULL, its
 * stderr sent to that file; its exit status (128 + signal if killed)
 */
__attribute__((unused)) static int
run_self(const char *self, const char *mode, const char *env1,
		const char *env2, const char *err)
{
	pid_t pid = fork();
	FATAL(pid >= 0);
	if (pid == 0) {
		if (env1)
			putenv((char *)env1);
		if (env2)
			putenv((char *)env2);
		if (err) {
			int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (e < 0 || dup2(e, 2) != 2)
				_exit(126);
		}
		execl(self, self, mode, (char *)NULL);
		_exit(127);
	}
	int st;
	FATAL(waitpid(pid, &st, 0) == pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * sync_unserved -- accessible pages of MAP_SYNC mappings (smaps "sf")
 * that the shim does not serve.  On fsdax the kernel's msync never
 * flushes such a mapping's stores (their pages are never tagged dirty),
 * so each one the shim made must stay its own for as long as it is
 * mapped.  Pages without access (mprotect PROT_NONE: blocked, flushed
 * when access comes back) do not count.  Always 0 on emulated DAX.
 */
__attribute__((unused)) static unsigned long
sync_unserved(void)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	FATAL(f);
	char line[512], perms[8] = "";
	unsigned long lo = 0, hi = 0, bad = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		if (sscanf(line, "%lx-%lx %7s ", &a, &b, perms) == 3) {
			lo = a;
			hi = b;
		} else if (!strncmp(line, "VmFlags:", 8) &&
				strstr(line, " sf") && (perms[0] == 'r' ||
				perms[1] == 'w')) {
			for (unsigned long x = lo; x < hi; x += 4096)
				if (Gran((void *)x) < 0) {
					fprintf(stderr, "MAP_SYNC page %#lx not "
						"served by the shim\n", x);
					bad++;
				}
		}
	}
	fclose(f);
	return bad;
}

/* finish -- the program's verdict; no MAP_SYNC page is left unserved */
__attribute__((unused)) static int
finish(void)
{
	CHECK(sync_unserved() == 0);
	if (Failures)
		fprintf(stderr, "%d check(s) failed\n", Failures);
	return Failures ? 1 : 0;
}

#endif /* SHIM_TEST_H */
