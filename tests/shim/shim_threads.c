/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_threads.c -- many threads copying into and msyncing their own DAX
 * regions while others map, split and unmap DAX files and copy into plain
 * memory; every byte ends up in the files.  Then: a mapping split again
 * and again (munmap of a page in its middle) while another thread keeps
 * looking its tail up -- the tail must be the shim's at every moment, or
 * an msync there would go to the kernel (on fsdax: flushing nothing).
 * Then forks while another thread maps and unmaps a DAX file: the fork
 * handlers must take the shim's locks in the order the hooks do.
 * Last, one thread shrinks a file and grows it again while another
 * msyncs its mapping, or syncs the file system: the shim's flush must
 * never meet a page the shrink cut off (SIGBUS; the kernel's msync skips
 * such a page), and the stores before each msync are there after it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "shim_test.h"

#define NT 6
#define PG 4096
#define ROUNDS 300

static const char *Dax;
/*
 * Held by a churner from its munmap to its "no longer registered" check,
 * and around its mmap: otherwise the other churner may legitimately get
 * the just-freed address from the kernel in between.
 */
static pthread_mutex_t Reuse = PTHREAD_MUTEX_INITIALIZER;
static char *Shared;
static int Fd;

static void *
writer(void *arg)
{
	long id = (long)arg;
	char *mine = Shared + id * 16 * PG;
	char buf[2 * PG];
	for (int r = 0; r < ROUNDS; r++) {
		memset(buf, (int)(id * 31 + r) & 0xff, sizeof(buf));
		size_t off = (size_t)(r % 14) * PG;
		memcpy(mine + off, buf, sizeof(buf));
		memmove(mine + off + 10, mine + off, 100);
		if (msync(mine, 16 * PG, MS_SYNC))
			return (void *)1;
	}
	return NULL;
}

static void *
churner(void *arg)
{
	char name[64];
	snprintf(name, sizeof(name), "churn%ld", (long)arg);
	char path[512];
	int fd = make_file(Dax, name, 8 * PG, 'c', path);
	char *plain = malloc(1 << 16);
	for (int r = 0; r < ROUNDS; r++) {
		pthread_mutex_lock(&Reuse);
		char *m = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE,
				MAP_SHARED, fd, 0);
		pthread_mutex_unlock(&Reuse);
		if (m == MAP_FAILED || Gran(m) < 0)
			return (void *)1;
		m[3 * PG] = (char)r;
		memcpy(plain, m, 4 * PG);
		if (munmap(m + 2 * PG, 2 * PG) || msync(m, 2 * PG, MS_SYNC) ||
				Gran(m + 2 * PG) >= 0 || Gran(m + 5 * PG) < 0)
			return (void *)1;
		/*
		 * Only the two pieces still ours: the hole [2, 4) went back
		 * to the kernel, which may have given it to anyone since
		 * (ASan puts its one-page DTLS blocks of new threads there;
		 * a munmap(m, 8 * PG) here unmapped one under a running
		 * thread, which then died in __tls_get_addr).
		 */
		pthread_mutex_lock(&Reuse);
		int bad = munmap(m, 2 * PG) || munmap(m + 4 * PG, 4 * PG);
		int stale = Gran(m) >= 0 || Gran(m + 5 * PG) >= 0;
		pthread_mutex_unlock(&Reuse);
		if (bad)
			return (void *)1;
		if (stale)
			return (void *)1;
	}
	free(plain);
	close(fd);
	unlink(path);
	return NULL;
}

static _Atomic int Race_on;

/* poller -- looks the tail up, lock-free, as msync does; counts misses */
static void *
poller(void *arg)
{
	const char *tail = arg;
	long misses = 0;
	while (atomic_load_explicit(&Race_on, memory_order_relaxed))
		if (Gran(tail) < 0)
			misses++;
	return (void *)misses;
}

/* split_race -- ROUNDS2 mappings, each split 31 times under a poller */
static void
split_race(int fd)
{
	enum { PAGES = 64, ROUNDS2 = 100 };
	long misses = 0;
	for (int r = 0; r < ROUNDS2; r++) {
		char *m = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE,
				MAP_SHARED, fd, 0);
		FATAL(m != MAP_FAILED && Gran(m) >= 0);
		pthread_t t;
		atomic_store(&Race_on, 1);
		FATAL(pthread_create(&t, NULL, poller,
			m + (PAGES - 1) * PG) == 0);
		for (int k = 1; k < PAGES - 2; k += 2)
			CHECK(munmap(m + k * PG, PG) == 0);
		atomic_store(&Race_on, 0);
		void *ret;
		pthread_join(t, &ret);
		misses += (long)ret;
		CHECK(Gran(m + (PAGES - 1) * PG) >= 0);
		munmap(m, PAGES * PG);
	}
	if (misses)
		fprintf(stderr, "the tail was not the shim's in %ld lookups\n",
			misses);
	CHECK(misses == 0);
}

/*
 * scaled -- n, or n / 10 under valgrind (its vgpreload libraries are in
 * LD_PRELOAD): it runs one thread at a time, so the races below hardly
 * happen there, and it checks the paths' memory use in far fewer rounds;
 * n / 100 on real DAX in the QEMU guest, where each round's page faults
 * allocate blocks and commit the journal (MAP_SYNC), all emulated: a
 * smoke test of the same paths there
 */
static int
scaled(int n)
{
	if (Real_dax)
		return n / 100;
	return under_valgrind() ? n / 10 : n;
}

/* ---- fork while another thread maps DAX files ---------------------- */

/* mapper -- mmap (a takeover: the registry lock, a record, tracking) and
 * munmap of a DAX file, until told */
static void *
mapper(void *arg)
{
	int fd = *(int *)arg;
	long n = 0;
	while (atomic_load_explicit(&Race_on, memory_order_relaxed)) {
		char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
				MAP_SHARED, fd, 0);
		FATAL(m != MAP_FAILED);
		m[PG] = 1;
		CHECK(munmap(m, 4 * PG) == 0);
		n++;
	}
	return (void *)n;
}

static void
deadlocked(int sig)
{
	(void) sig;
	static const char msg[] = "shim_threads: fork_race: a fork made no "
		"progress in 20 s (a deadlock between fork and mmap)\n";
	(void) write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

/*
 * fork_race -- FORKS forks, each child leaving at once, while a mapper
 * runs.  The shim's prepare handler took its other locks before the
 * registry's, the hooks take the registry's first: the fork waited for
 * the registry lock that a takeover held while it waited for the record
 * lock the fork held (each of three runs without the fix hung).
 */
static void
fork_race(void)
{
	enum { FORKS = 1000 };
	char path[512];
	int fd = make_file(Dax, "fork_race", 4 * PG, 'f', path);
	signal(SIGALRM, deadlocked);
	pthread_t t;
	atomic_store(&Race_on, 1);
	FATAL(pthread_create(&t, NULL, mapper, &fd) == 0);
	int forks = scaled(FORKS);
	for (int k = 0; k < forks; k++) {
		alarm(20);	/* a fork and its child: ~30 ms under valgrind */
		pid_t pid = fork();
		FATAL(pid >= 0);
		if (pid == 0)
			_exit(0);
		int st;
		CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
			WEXITSTATUS(st) == 0);
	}
	atomic_store(&Race_on, 0);
	void *n;
	pthread_join(t, &n);
	alarm(0);
	CHECK((long)n > 0);
	close(fd);
	unlink(path);
}

/* ---- a truncate in one thread, flushes in another ----------------- */

enum { TPAGES = 64, TROUNDS = 3000 };
static char *Tmap;
static int Tfd;

/* syncer -- msync of the whole mapping (arg NULL) or syncfs, until told */
static void *
syncer(void *arg)
{
	long n = 0;
	while (atomic_load_explicit(&Race_on, memory_order_relaxed)) {
		if (arg)
			CHECK(syncfs(Tfd) == 0);
		else
			CHECK(msync(Tmap, TPAGES * PG, MS_SYNC) == 0);
		n++;
	}
	return (void *)n;
}

/*
 * truncate_race -- every page written, then the file cut to one page,
 * TROUNDS times, with a syncer running; the first page's last store is
 * msynced and read back.  Without the shim's Layout lock every run
 * tried died by SIGBUS, within its first 1.7 seconds.
 */
static void
truncate_race(int use_syncfs)
{
	char path[512];
	Tfd = make_file(Dax, "truncate_race", TPAGES * PG, 0, path);
	Tmap = mmap(NULL, TPAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			Tfd, 0);
	FATAL(Tmap != MAP_FAILED && Gran(Tmap) >= 0);
	pthread_t t;
	atomic_store(&Race_on, 1);
	FATAL(pthread_create(&t, NULL, syncer, use_syncfs ? Tmap : NULL) ==
		0);
	int r, rounds = scaled(TROUNDS);
	for (r = 0; r < rounds; r++) {
		CHECK(ftruncate(Tfd, TPAGES * PG) == 0);
		memset(Tmap, r & 0xff, TPAGES * PG);	/* every page */
		CHECK(ftruncate(Tfd, PG) == 0);		/* all but one gone */
	}
	atomic_store(&Race_on, 0);
	void *n;
	pthread_join(t, &n);
	CHECK((long)n > 0);
	CHECK(msync(Tmap, PG, MS_SYNC) == 0);
	char b;
	CHECK(pread(Tfd, &b, 1, PG - 1) == 1 && b == (char)((r - 1) & 0xff));
	munmap(Tmap, TPAGES * PG);
	close(Tfd);
	unlink(path);
}

int
main(void)
{
	Dax = shim_test_init();
	char path[512];
	Fd = make_file(Dax, "threads", NT * 16 * PG, 0, path);
	Shared = mmap(NULL, NT * 16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			Fd, 0);
	FATAL(Shared != MAP_FAILED && Gran(Shared) >= 0);
	pthread_t t[NT + 2];
	for (long i = 0; i < NT; i++)
		FATAL(pthread_create(&t[i], NULL, writer, (void *)i) == 0);
	for (long i = 0; i < 2; i++)
		FATAL(pthread_create(&t[NT + i], NULL, churner,
			(void *)i) == 0);
	for (int i = 0; i < NT + 2; i++) {
		void *r;
		pthread_join(t[i], &r);
		CHECK(r == NULL);
	}
	char *back = malloc(NT * 16 * PG);
	FATAL(pread(Fd, back, NT * 16 * PG, 0) == NT * 16 * PG);
	CHECK(memcmp(back, Shared, NT * 16 * PG) == 0);
	/* the last round of each writer is in the file */
	for (long id = 0; id < NT; id++) {
		int r = ROUNDS - 1;
		size_t off = (size_t)id * 16 * PG + (size_t)(r % 14) * PG;
		CHECK(back[off + 200] == (char)((id * 31 + r) & 0xff));
	}
	munmap(Shared, NT * 16 * PG);
	split_race(Fd);
	fork_race();
	truncate_race(0);
	truncate_race(1);
	close(Fd);
	unlink(path);
	free(back);
	return finish();
}
