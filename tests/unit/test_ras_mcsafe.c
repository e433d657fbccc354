/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_ras_mcsafe.c -- pread/pwrite_mcsafe.  The machine check is real: a
 * mapping of a file truncated under it raises SIGBUS on access, as a
 * poisoned line does.  The program's own SIGBUS handler must survive
 * exactly, and get the faults that are not ours.  EIO from pread/pwrite
 * (poison met by the kernel on fsdax) is injected with --wrap.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "ras.h"
#include "ut_common.h"

#define PG 4096

/* EIO injection: the next pread/pwrite fails with this errno */
static int Inject;
ssize_t __real_pread(int, void *, size_t, off_t);
ssize_t __real_pwrite(int, const void *, size_t, off_t);
ssize_t
__wrap_pread(int fd, void *b, size_t n, off_t o)
{
	if (Inject) {
		errno = Inject;
		Inject = 0;
		return -1;
	}
	return __real_pread(fd, b, n, o);
}
ssize_t
__wrap_pwrite(int fd, const void *b, size_t n, off_t o)
{
	if (Inject) {
		errno = Inject;
		Inject = 0;
		return -1;
	}
	return __real_pwrite(fd, b, n, o);
}

/* poisoned -- 2 pages mapped, the second gone: access there is SIGBUS */
static char *
poisoned(int *fd)
{
	*fd = ut_tmpfile(2 * PG, O_RDWR);
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
		*fd, 0);
	cr_assert(p != MAP_FAILED);
	memset(p, 'p', 2 * PG);
	cr_assert(ftruncate(*fd, PG) == 0);
	return p;
}

static volatile sig_atomic_t User_hits;
static sigjmp_buf User_env;

static void
user_handler(int sig, siginfo_t *si, void *uc)
{
	(void) sig; (void) si; (void) uc;
	User_hits++;
	siglongjmp(User_env, 1);
}

static struct sigaction
install_user(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = user_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	cr_assert(sigaction(SIGBUS, &sa, &old) == 0);
	return sa;
}

static void
assert_action(const struct sigaction *want)
{
	struct sigaction cur;
	cr_assert(sigaction(SIGBUS, NULL, &cur) == 0);
	cr_assert_eq((void *)cur.sa_sigaction, (void *)want->sa_sigaction,
		"the program's SIGBUS handler was not restored");
	cr_assert_eq(cur.sa_flags & ~0x04000000 /* SA_RESTORER */, want->sa_flags);
	cr_assert(sigismember(&cur.sa_mask, SIGUSR2));
}

Test(ras_mcsafe, sigbus_in_copy_is_io_fail)
{
	int fd;
	char *p = poisoned(&fd);
	struct sigaction user = install_user();
	char buf[2 * PG];
	ut_assert_ok(mcsafe_copy(buf, p, PG, 0));
	cr_assert_eq(buf[PG - 1], 'p');
	ut_assert_err(mcsafe_copy(buf, p, 2 * PG, 0), PMEM2_E_IO_FAIL);
	ut_assert_err(mcsafe_copy(p + PG, buf, 64, 1), PMEM2_E_IO_FAIL);
	cr_assert_eq(User_hits, 0, "our faults must not reach the program");
	assert_action(&user);
	/* and the program's handler still works afterwards */
	if (sigsetjmp(User_env, 1) == 0)
		(void) *(volatile char *)(p + PG);
	cr_assert_eq(User_hits, 1);
	munmap(p, 2 * PG);
	close(fd);
	signal(SIGBUS, SIG_DFL);
}

Test(ras_mcsafe, default_action_restored)
{
	int fd;
	char *p = poisoned(&fd);
	signal(SIGBUS, SIG_DFL);
	char buf[2 * PG];
	ut_assert_err(mcsafe_copy(buf, p, 2 * PG, 0), PMEM2_E_IO_FAIL);
	struct sigaction cur;
	sigaction(SIGBUS, NULL, &cur);
	cr_assert(!(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_DFL);
	munmap(p, 2 * PG);
	close(fd);
}

/* a fault outside the guarded range (the caller's own buffer) is the
 * program's: its handler runs, may leave by siglongjmp, and our handler is
 * still taken down */
Test(ras_mcsafe, foreign_fault_is_chained)
{
	int fd, fd2;
	char *src = poisoned(&fd);
	char *dst = poisoned(&fd2);
	struct sigaction user = install_user();
	if (sigsetjmp(User_env, 1) == 0) {
		mcsafe_copy(dst + PG, src, 64, 0);	/* dst faults */
		cr_assert_fail("the copy into a dead page returned");
	}
	cr_assert_eq(User_hits, 1);
	assert_action(&user);
	/* the guard was given up: another copy works normally */
	char buf[64];
	ut_assert_ok(mcsafe_copy(buf, src, 64, 0));
	ut_assert_err(mcsafe_copy(buf, src + PG, 64, 0), PMEM2_E_IO_FAIL);
	assert_action(&user);
	munmap(src, 2 * PG);
	munmap(dst, 2 * PG);
	close(fd);
	close(fd2);
	signal(SIGBUS, SIG_DFL);
}

Test(ras_mcsafe, default_action_kills_on_foreign_fault,
	.signal = SIGBUS)
{
	int fd, fd2;
	char *src = poisoned(&fd);
	char *dst = poisoned(&fd2);
	signal(SIGBUS, SIG_DFL);
	mcsafe_copy(dst + PG, src, 64, 0);	/* not ours: the process dies */
}

static char *Shared_poison;

static void *
hammer(void *arg)
{
	(void) arg;
	char buf[2 * PG];
	for (int i = 0; i < 2000; i++) {
		int ret = mcsafe_copy(buf, Shared_poison, (i & 1) ? PG : 2 * PG,
			0);
		if (ret != ((i & 1) ? 0 : PMEM2_E_IO_FAIL))
			return (void *)1;
	}
	return NULL;
}

Test(ras_mcsafe, threads_keep_the_handler_exact)
{
	int fd;
	Shared_poison = poisoned(&fd);
	struct sigaction user = install_user();
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, NULL);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		cr_assert_null(r, "thread %d got a wrong result", i);
	}
	cr_assert_eq(User_hits, 0);
	assert_action(&user);
	munmap(Shared_poison, 2 * PG);
	close(fd);
	signal(SIGBUS, SIG_DFL);
}

static atomic_int Stop;

static void *
copier(void *arg)
{
	(void) arg;
	char buf[2 * PG];
	while (!atomic_load(&Stop))
		mcsafe_copy(buf, Shared_poison, 2 * PG, 0);
	return NULL;
}

/*
 * fork while other threads copy under the guard: the child (alone, in no
 * copy) finds the lock free and the program's action in place, and its
 * own copies install and take down our handler as in any process
 */
Test(ras_mcsafe, fork_while_copying)
{
	int fd;
	Shared_poison = poisoned(&fd);
	struct sigaction user = install_user();
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, copier, NULL);
	int bad = 0;
	for (int n = 0; n < 300 && !bad; n++) {
		pid_t pid = fork();
		cr_assert(pid >= 0);
		if (pid == 0) {
			alarm(10);	/* the lock held: a deadlock */
			struct sigaction cur;
			char buf[2 * PG];
			int code = 0;
			sigaction(SIGBUS, NULL, &cur);
			if (cur.sa_sigaction != user.sa_sigaction)
				code = 1;	/* ours left in place */
			else if (mcsafe_copy(buf, Shared_poison, 2 * PG, 0) !=
					PMEM2_E_IO_FAIL)
				code = 2;
			sigaction(SIGBUS, NULL, &cur);
			if (cur.sa_sigaction != user.sa_sigaction)
				code = 3;	/* not taken down after */
			_exit(code);
		}
		int st;
		cr_assert_eq(waitpid(pid, &st, 0), pid);
		bad = !WIFEXITED(st) || WEXITSTATUS(st) != 0;
		cr_expect(!bad, "fork %d: the child %s (status %#x)", n,
			WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM ?
			"hung (the lock was held at the fork)" :
			!WIFEXITED(st) ? "died" :
			WEXITSTATUS(st) == 2 ? "could not copy" :
			"ran with our SIGBUS handler left installed", st);
	}
	atomic_store(&Stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_action(&user);
	munmap(Shared_poison, 2 * PG);
	close(fd);
	signal(SIGBUS, SIG_DFL);
}

Test(ras_mcsafe, file_io_errors)
{
	int fd = ut_tmpfile(PG, O_RDWR);
	struct pmem2_source *src;
	ut_assert_ok(pmem2_source_from_fd(&src, fd));
	char buf[PG];
	memset(buf, 'q', sizeof(buf));
	ut_assert_ok(pmem2_source_pwrite_mcsafe(src, buf, PG, 0));
	memset(buf, 0, sizeof(buf));
	ut_assert_ok(pmem2_source_pread_mcsafe(src, buf, PG, 0));
	cr_assert_eq(buf[PG - 1], 'q');

	Inject = EIO;
	ut_assert_err(pmem2_source_pread_mcsafe(src, buf, 64, 0),
		PMEM2_E_IO_FAIL);
	Inject = EIO;
	ut_assert_err(pmem2_source_pwrite_mcsafe(src, buf, 64, 0),
		PMEM2_E_IO_FAIL);
	Inject = EINTR;	/* retried */
	ut_assert_ok(pmem2_source_pread_mcsafe(src, buf, 64, 0));
	Inject = ENOSPC;
	ut_assert_err(pmem2_source_pwrite_mcsafe(src, buf, 64, 0), -ENOSPC);

	/* PMDK 1.12 lets an offset past the end through; we do not */
	ut_assert_err(pmem2_source_pread_mcsafe(src, buf, 10, PG + 10),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	ut_assert_err(pmem2_source_pwrite_mcsafe(src, buf, 0, PG + 1),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	ut_assert_err(pmem2_source_pread_mcsafe(src, buf, 10, SIZE_MAX - 5),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	pmem2_source_delete(&src);

	struct pmem2_source *anon;
	ut_assert_ok(pmem2_source_from_anon(&anon, PG));
	ut_assert_err(pmem2_source_pread_mcsafe(anon, buf, 1, 0),
		PMEM2_E_SOURCE_TYPE_NOT_SUPPORTED);
	pmem2_source_delete(&anon);
	close(fd);
}
