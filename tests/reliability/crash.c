/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * crash.c -- crash consistency under SIGKILL.
 *
 *   rel_crash api  [--iterations N] [--seed S]
 *   rel_crash shim [--iterations N] [--seed S] --shim LIBPMEMSHIM
 *
 * (--shim goes into the child's LD_PRELOAD as given: under ASan it is
 * "libasan.so:libpmemshim.so".)
 *
 * Each iteration: a child writes NREC checksummed records, in order, into
 * a fresh tmpfs file and reports the index of each record through a pipe
 * only after the record's persist (api: pmem2 memcpy + persist on a map
 * with forced CACHE_LINE granularity) or msync (shim: a legacy program --
 * plain mmap/memcpy/msync -- with libpmemshim.so preloaded and the file on
 * a PMEMSHIM_DAX_PATHS directory) returned.  The parent SIGKILLs it after
 * a random delay (uniform over the time a whole run takes), then reads the
 * file: every reported record is exactly what was written, the one after
 * it may be partial, and everything beyond is untouched (zero).
 *
 * The seed fixes the delays and the record contents; a failure prints the
 * iteration's seed, and `--iterations 1 --seed THAT' replays its contents.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpmem2.h>

#define NREC 8192
#define RECSZ 256

struct record {
	uint64_t seq;
	uint64_t seed;
	uint8_t payload[RECSZ - 4 * sizeof(uint64_t)];
	uint64_t pad;
	uint64_t csum;
};
_Static_assert(sizeof(struct record) == RECSZ, "record size");

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static uint64_t
csum(const struct record *r)
{
	const uint64_t *w = (const uint64_t *)r;
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i < offsetof(struct record, csum) / 8; i++)
		s = mix(s ^ w[i]);
	return s;
}

/* make_record -- record i of the run with this seed */
static void
make_record(struct record *r, uint64_t seed, uint64_t i)
{
	r->seq = i;
	r->seed = seed;
	uint64_t x = mix(seed ^ (i * 0x100000001b3ULL));
	for (size_t b = 0; b < sizeof(r->payload); b++) {
		if (b % 8 == 0)
			x = mix(x + b);
		r->payload[b] = (uint8_t)(x >> (8 * (b % 8)));
	}
	r->pad = ~i;
	r->csum = csum(r);
}

static void
report(int fd, uint32_t i)
{
	if (write(fd, &i, sizeof(i)) != sizeof(i))
		_exit(3);
}

/* child_api -- records through libpmem2: memcpy (no flush), persist */
static int
child_api(int fd, int pipefd, uint64_t seed)
{
	struct pmem2_source *src;
	struct pmem2_config *cfg;
	struct pmem2_map *map;
	if (pmem2_source_from_fd(&src, fd) || pmem2_config_new(&cfg))
		return 2;
	pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_CACHE_LINE);
	if (pmem2_map_new(&map, cfg, src)) {
		fprintf(stderr, "crash: map_new: %s\n", pmem2_errormsg());
		return 2;
	}
	if (pmem2_map_get_store_granularity(map) !=
			PMEM2_GRANULARITY_CACHE_LINE) {
		fprintf(stderr, "crash: granularity is not CACHE_LINE "
			"(set PMEM2_FORCE_GRANULARITY=CACHE_LINE)\n");
		return 2;
	}
	char *base = pmem2_map_get_address(map);
	pmem2_memcpy_fn cpy = pmem2_get_memcpy_fn(map);
	pmem2_persist_fn persist = pmem2_get_persist_fn(map);
	report(pipefd, UINT32_MAX);	/* ready */
	struct record r;
	for (uint32_t i = 0; i < NREC; i++) {
		make_record(&r, seed, i);
		char *dst = base + (size_t)i * RECSZ;
		cpy(dst, &r, sizeof(r), PMEM2_F_MEM_NOFLUSH);
		persist(dst, sizeof(r));
		report(pipefd, i);
	}
	return 0;
}

/* child_shim -- a legacy program: mmap, memcpy, msync (shim preloaded) */
static int
child_shim(int fd, int pipefd, uint64_t seed)
{
	size_t len = (size_t)NREC * RECSZ;
	char *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			0);
	if (base == MAP_FAILED)
		return 2;
	int (*gran)(const void *) = (int (*)(const void *))dlsym(RTLD_DEFAULT,
			"pmemshim_mapping_granularity");
	if (!gran || gran(base) < 0) {
		fprintf(stderr, "crash: the shim did not take the mapping "
			"over (preload it, file on PMEMSHIM_DAX_PATHS)\n");
		return 2;
	}
	unsigned long (*counter)(const char *) = (unsigned long (*)(
		const char *))dlsym(RTLD_DEFAULT, "pmemshim_counter");
	unsigned long copies0 = counter ? counter("copies_into_dax") : 0;
	report(pipefd, UINT32_MAX);
	struct record r;
	long pg = sysconf(_SC_PAGESIZE);
	/* through the PLT, as a legacy program's memcpy of an unknown size
	 * would be: a constant-size copy would be inlined by the compiler */
	void *(*volatile copy)(void *, const void *, size_t) = memcpy;
	for (uint32_t i = 0; i < NREC; i++) {
		make_record(&r, seed, i);
		char *dst = base + (size_t)i * RECSZ;
		copy(dst, &r, sizeof(r));
		char *a = (char *)((uintptr_t)dst & ~(uintptr_t)(pg - 1));
		if (msync(a, (size_t)(dst + RECSZ - a), MS_SYNC))
			return 2;
		report(pipefd, i);
	}
	/* the uninterrupted runs get here: every copy went through the shim */
	if (!counter || counter("copies_into_dax") - copies0 < NREC) {
		fprintf(stderr, "crash: the shim saw %lu copies into DAX, not "
			"%d\n", counter ? counter("copies_into_dax") - copies0 :
			0, NREC);
		return 2;
	}
	return 0;
}

static int
is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static long long
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

struct opts {
	const char *mode, *shim, *self;
	char dir[64];
};

/*
 * one_run -- fork the child, kill it after delay_us (< 0: let it finish);
 * returns the index of the last reported record (-1: none) or -2 on error;
 * *ran_us: how long the child ran.
 */
static long
one_run(struct opts *o, uint64_t seed, long long delay_us, long long *ran_us,
	int *killed_mid)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/records", o->dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)NREC * RECSZ)) {
		perror("crash: file");
		return -2;
	}
	int p[2];
	if (pipe(p))
		return -2;
	/* the delay counts from the fork: kills may land during set-up */
	long long t0 = now_us();
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (!strcmp(o->mode, "api"))
			_exit(child_api(fd, p[1], seed));
		/* the legacy program: exec ourselves with the shim preloaded */
		char fdarg[16], pipearg[16], seedarg[24];
		snprintf(fdarg, sizeof(fdarg), "%d", fd);
		snprintf(pipearg, sizeof(pipearg), "%d", p[1]);
		snprintf(seedarg, sizeof(seedarg), "%llu",
			(unsigned long long)seed);
		char pre[1024];
		const char *old = getenv("LD_PRELOAD");
		snprintf(pre, sizeof(pre), "%s%s%s", old ? old : "",
			old ? ":" : "", o->shim);
		setenv("LD_PRELOAD", pre, 1);
		setenv("PMEMSHIM_DAX_PATHS", o->dir, 1);
		execl(o->self, o->self, "child-shim", fdarg, pipearg, seedarg,
			(char *)NULL);
		_exit(4);
	}
	close(p[1]);
	if (delay_us >= 0) {
		struct timespec ts = { delay_us / 1000000,
			(delay_us % 1000000) * 1000 };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
	}
	int st;
	waitpid(pid, &st, 0);
	*ran_us = now_us() - t0;
	*killed_mid = WIFSIGNALED(st);
	if (!WIFSIGNALED(st) && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
		fprintf(stderr, "crash: child exited with status %d\n", st);
		return -2;
	}
	long last = -1;
	uint32_t v;
	while (read(p[0], &v, sizeof(v)) == sizeof(v)) {
		if (v == UINT32_MAX && last == -1)
			continue;	/* "ready" */
		if (v != (uint32_t)(last + 1)) {
			fprintf(stderr, "crash: progress out of order\n");
			return -2;
		}
		last = v;
	}
	close(p[0]);
	close(fd);
	return last;
}

/* check -- the file after a run whose last reported record is last */
static int
check(struct opts *o, uint64_t seed, long last, long *partial)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/records", o->dir);
	int fd = open(path, O_RDONLY);
	static struct record file[NREC];
	if (fd < 0 || pread(fd, file, sizeof(file), 0) != sizeof(file)) {
		perror("crash: read back");
		return 1;
	}
	close(fd);
	struct record want;
	for (long i = 0; i < NREC; i++) {
		if (i <= last) {
			make_record(&want, seed, (uint64_t)i);
			if (memcmp(&file[i], &want, RECSZ) ||
					csum(&file[i]) != file[i].csum) {
				fprintf(stderr, "crash: seed %llu: record %ld "
					"persisted but not intact\n",
					(unsigned long long)seed, i);
				return 1;
			}
		} else if (i == last + 1) {
			/* the unfinished one: anything from nothing to all */
			*partial += !is_zero(&file[i], RECSZ);
		} else if (!is_zero(&file[i], RECSZ)) {
			fprintf(stderr, "crash: seed %llu: record %ld written "
				"beyond the unfinished one (last persisted "
				"%ld)\n", (unsigned long long)seed, i, last);
			return 1;
		}
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc == 5 && !strcmp(argv[1], "child-shim"))
		return child_shim(atoi(argv[2]), atoi(argv[3]),
			strtoull(argv[4], NULL, 10));
	struct opts o = { .mode = argc > 1 ? argv[1] : "" };
	long iters = 40;
	uint64_t seed = 1;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--iterations"))
			iters = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--shim"))
			o.shim = argv[i + 1];
	}
	if (strcmp(o.mode, "api") && (strcmp(o.mode, "shim") || !o.shim)) {
		fprintf(stderr, "usage: %s api|shim [--iterations N] "
			"[--seed S] [--shim LIB]\n", argv[0]);
		return 2;
	}
	static char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 2;
	self[n] = '\0';
	o.self = self;
	/* the API child needs CACHE_LINE forced from the library's start */
	if (!strcmp(o.mode, "api") && !getenv("PMEM2_FORCE_GRANULARITY")) {
		setenv("PMEM2_FORCE_GRANULARITY", "CACHE_LINE", 1);
		execv(self, argv);
		return 2;
	}
	snprintf(o.dir, sizeof(o.dir), "/dev/shm/pmemshim-crash-XXXXXX");
	if (!mkdtemp(o.dir)) {
		perror("crash: mkdtemp");
		return 2;
	}

	/*
	 * calibration: three uninterrupted runs, all records must be there;
	 * the delays are drawn below the fastest (the first run is slow:
	 * page faults of a fresh file)
	 */
	long long full_us = -1;
	int mid = 0, ret = 0;
	long partial = 0, last;
	for (int c = 0; c < 3 && !ret; c++) {
		long long us;
		last = one_run(&o, seed + (uint64_t)c, -1, &us, &mid);
		if (last != NREC - 1 ||
				check(&o, seed + (uint64_t)c, last, &partial)) {
			fprintf(stderr, "crash: an uninterrupted run failed\n");
			ret = 1;
		}
		if (full_us < 0 || us < full_us)
			full_us = us;
	}
	if (full_us < 1)
		full_us = 1;

	long kills = 0, records = 0;
	uint64_t rs = seed;
	for (long it = 0; it < iters && !ret; it++) {
		rs = mix(rs + 1);
		uint64_t s = mix(seed * 0x9e3779b97f4a7c15ULL + (uint64_t)it);
		long long delay = (long long)(rs % (uint64_t)(full_us + 1));
		long long ran;
		last = one_run(&o, s, delay, &ran, &mid);
		if (last < -1) {
			ret = 1;
			break;
		}
		kills += mid && last < NREC - 1;
		records += last + 1;
		if (check(&o, s, last, &partial)) {
			fprintf(stderr, "crash: iteration %ld (record seed "
				"%llu, delay %lld us) failed\n", it,
				(unsigned long long)s, delay);
			ret = 1;
		}
	}
	char path[160];
	snprintf(path, sizeof(path), "%s/records", o.dir);
	unlink(path);
	rmdir(o.dir);
	printf("crash %s: %ld iterations (seed %llu), %ld killed mid-run, "
		"%ld persisted records checked, %ld partial unfinished "
		"records seen, full run %lld us: %s\n", o.mode, iters,
		(unsigned long long)seed, kills, records, partial, full_us,
		ret ? "FAILED" : "nothing lost");
	if (!ret && iters >= 10 && kills * 4 < iters) {
		fprintf(stderr, "crash: only %ld of %ld kills landed mid-run: "
			"the test did not exercise anything\n", kills, iters);
		ret = 1;
	}
	return ret;
}
