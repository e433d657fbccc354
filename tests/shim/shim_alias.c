/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_alias.c -- the mover's alias of a tracked mapping (shim/alias.c):
 * the hazards of a second view of the program's pages.
 *  - a copy into one part of a mapping while another thread unmaps or
 *    maps over another part of it (each such call drops the alias, and
 *    must wait for the copy instead of pulling the pages from under it);
 *  - fork while another thread is inside a copy: the child, which has no
 *    such thread, must still be able to unmap the mapping;
 *  - mprotect to read-only: a copy must fault as it would without the
 *    shim, at the program's address, and never land through the alias;
 *  - real DAX is not tracked and never gets an alias.
 * Every byte copied is checked in the file.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "shim_test.h"

#define PG 4096
#define NPG 64
#define BLK (4 * PG)	/* one copy: above the mover's threshold */

static char *D;
static int Fd;
static _Atomic int Stop;
/* the copier's rounds, under Mu: the main thread blocks until it has
 * seen enough of them (a spinning or napping waiter can starve the copier
 * under valgrind, whose scheduler runs one thread at a time) */
static pthread_mutex_t Mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t Cv = PTHREAD_COND_INITIALIZER;
static long Rounds;

/* copier -- rewrites pages [0, 8) of D with the round's pattern */
static void *
copier(void *arg)
{
	(void) arg;
	static char buf[2][BLK];
	memset(buf[0], 'x', BLK);
	memset(buf[1], 'y', BLK);
	for (long r = 0; !atomic_load(&Stop); r++) {
		volatile size_t n = BLK;
		memcpy(D + (size_t)(r % 2) * BLK, buf[r % 2], n);
		pthread_mutex_lock(&Mu);
		Rounds = r + 1;
		pthread_cond_broadcast(&Cv);
		pthread_mutex_unlock(&Mu);
	}
	return NULL;
}

/* wait_rounds -- until the copier has made n more copies */
static void
wait_rounds(long n)
{
	pthread_mutex_lock(&Mu);
	for (long r = Rounds + n; Rounds < r;)
		pthread_cond_wait(&Cv, &Mu);
	pthread_mutex_unlock(&Mu);
}

static void
start(pthread_t *t)
{
	atomic_store(&Stop, 0);
	Rounds = 0;
	FATAL(pthread_create(t, NULL, copier, NULL) == 0);
	wait_rounds(40);	/* the alias exists */
}

static void
stop(pthread_t t)
{
	atomic_store(&Stop, 1);
	FATAL(pthread_join(t, NULL) == 0);
}

/* check_copied -- pages [0, 8) of the file hold the copier's bytes */
static void
check_copied(void)
{
	static char back[2 * BLK];
	FATAL(pread(Fd, back, sizeof(back), 0) == (ssize_t)sizeof(back));
	for (size_t i = 0; i < sizeof(back); i++)
		if (back[i] != (i < BLK ? 'x' : 'y')) {
			CHECK(!"the copies are in the file");
			return;
		}
}

/* src_y -- a block of 'y' */
static const char *
src_y(void)
{
	static char b[BLK];
	memset(b, 'y', BLK);
	return b;
}

static sigjmp_buf Jump;
static void *_Atomic Fault_addr;

static void
on_segv(int sig, siginfo_t *si, void *uc)
{
	(void) sig;
	(void) uc;
	atomic_store(&Fault_addr, si->si_addr);
	siglongjmp(Jump, 1);
}

int
main(void)
{
	const char *dax = shim_test_init();
	char path[512];
	Fd = make_file(dax, "alias", NPG * PG, 'a', path);
	D = mmap(NULL, NPG * PG, PROT_READ | PROT_WRITE, MAP_SHARED, Fd, 0);
	FATAL(D != MAP_FAILED && Gran(D) >= 0);
	unsigned long made0 = ctr("mover_aliases_made");
	unsigned long via0 = ctr("bytes_moved_through_alias");
	const char *al = getenv("PMEMSHIM_ALIAS");
	/* real DAX is never tracked (shim/dirty.c), so never aliased */
	int alias = !Real_dax && tracking_expected() &&
		!(al && !strcmp(al, "off"));
	printf("alias expected: %s\n", alias ? "yes" : "no");

	/* 1. the copier runs while the tail of its mapping is cut page by
	 * page, by munmap and by mmap(MAP_FIXED) of the same file: every
	 * cut changes the entry the copier's alias covers, and waits for
	 * the copier to make a new alias before the next one; then the
	 * mapping is made whole again for another round */
	pthread_t t;
	for (int round = 0; round < 5; round++) {
		start(&t);
		for (size_t p = NPG - 1; p >= 8; p--) {
			if (p % 2) {
				CHECK(munmap(D + p * PG, PG) == 0);
			} else {
				char *q = mmap(D + p * PG, PG, PROT_READ |
						PROT_WRITE, MAP_SHARED |
						MAP_FIXED, Fd, (off_t)(p * PG));
				CHECK(q == D + p * PG);
				q[1] = 'm';
			}
			wait_rounds(2);
		}
		stop(t);
		CHECK(munmap(D, NPG * PG) == 0);
		char *q = mmap(D, NPG * PG, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_FIXED, Fd, 0);
		FATAL(q == D);
	}
	CHECK(msync(D, NPG * PG, MS_SYNC) == 0);
	check_copied();
	unsigned long made = ctr("mover_aliases_made") - made0;
	printf("aliases made while the mapping was cut: %lu\n", made);
	if (alias)
		CHECK(made > 5 * (NPG - 8) && ctr("bytes_moved_through_alias") >
			via0);
	else
		CHECK(made == 0 && ctr("bytes_moved_through_alias") == via0);

	/* 2. fork while the copier is (almost always) inside a copy: the
	 * child unmaps the whole mapping, which drops its alias */
	fflush(stdout);
	start(&t);
	for (int i = 0; i < 20; i++) {
		pid_t pid = fork();
		FATAL(pid >= 0);
		if (pid == 0) {
			alarm(20);	/* a hang fails, it does not block */
			_exit(munmap(D, NPG * PG) == 0 ? 0 : 1);
		}
		int st;
		FATAL(waitpid(pid, &st, 0) == pid);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	stop(t);
	check_copied();

	/* 3. read-only: a copy into the mapping faults at the program's
	 * address, as without the shim; the file is untouched */
	start(&t);
	stop(t);
	unsigned long via = ctr("bytes_moved_through_alias");
	CHECK(mprotect(D, NPG * PG, PROT_READ) == 0);
	struct sigaction sa = { .sa_sigaction = on_segv,
		.sa_flags = SA_SIGINFO };
	struct sigaction old;
	FATAL(sigaction(SIGSEGV, &sa, &old) == 0);
	static char zeros[BLK];
	volatile size_t n = BLK;
	if (sigsetjmp(Jump, 1) == 0) {
		memcpy(D + 8 * PG, zeros, n);
		CHECK(!"a copy into a read-only mapping faults");
	}
	FATAL(sigaction(SIGSEGV, &old, NULL) == 0);
	void *fa = atomic_load(&Fault_addr);
	CHECK((char *)fa >= D + 8 * PG && (char *)fa < D + 8 * PG + BLK);
	CHECK(ctr("bytes_moved_through_alias") == via);
	char c;
	CHECK(pread(Fd, &c, 1, 8 * PG) == 1 && c == 'a');
	/* writable again: copies work, directly (the alias stays banned) */
	CHECK(mprotect(D, NPG * PG, PROT_READ | PROT_WRITE) == 0);
	for (int i = 0; i < 20; i++)
		memcpy(D + 8 * PG, zeros, n);
	CHECK(ctr("bytes_moved_through_alias") == via);
	CHECK(msync(D, NPG * PG, MS_SYNC) == 0);
	CHECK(pread(Fd, &c, 1, 8 * PG) == 1 && c == 0);

	CHECK(munmap(D, NPG * PG) == 0);

	/* 4. a copy that faults past end-of-file (the file shrank under the
	 * mapping) and a program that leaves its SIGBUS handler with
	 * siglongjmp: the copy never returns to the shim.  The thread's
	 * later hooks must still work (munmap must still take the range out
	 * of the registry), and dropping the alias that copy held must not
	 * wait for ever */
	D = mmap(NULL, NPG * PG, PROT_READ | PROT_WRITE, MAP_SHARED, Fd, 0);
	FATAL(D != MAP_FAILED);
	for (int i = 0; i < 20; i++)
		memcpy(D, zeros, n);
	unsigned long left = ctr("mover_aliases_left_mapped");
	FATAL(ftruncate(Fd, 32 * PG) == 0);
	FATAL(sigaction(SIGBUS, &sa, &old) == 0);
	atomic_store(&Fault_addr, NULL);
	if (sigsetjmp(Jump, 1) == 0) {
		memcpy(D + 40 * PG, zeros, n);
		CHECK(!"a copy past end-of-file faults");
	}
	FATAL(sigaction(SIGBUS, &old, NULL) == 0);
	CHECK(atomic_load(&Fault_addr) != NULL);
	alarm(30);	/* a hang fails */
	CHECK(registered(D + 60 * PG));
	CHECK(munmap(D + 60 * PG, PG) == 0);
	CHECK(!registered(D + 60 * PG));
	CHECK(ctr("mover_aliases_left_mapped") - left == (unsigned long)alias);
	/* the mapping makes no new alias, and copies still land */
	for (int i = 0; i < 20; i++)
		memcpy(D + 4 * PG, src_y(), n);
	CHECK(msync(D, 32 * PG, MS_SYNC) == 0);
	CHECK(pread(Fd, &c, 1, 4 * PG) == 1 && c == 'y');
	CHECK(ctr("mover_aliases_left_mapped") - left == (unsigned long)alias);
	CHECK(munmap(D, NPG * PG) == 0);
	alarm(0);

	close(Fd);
	unlink(path);
	return finish();
}
