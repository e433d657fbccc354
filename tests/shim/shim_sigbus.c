/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_sigbus.c -- SIGBUS under the shim:
 * - race: another process shrinks and regrows the file while this one
 *   stores and msyncs the whole mapping.  A flush that meets a page cut
 *   off in between must skip it (the program lives, msync returns 0), and
 *   the program's own stores past the end still reach its own handler.
 *   Through written-page tracking (this process stores) and, with
 *   PMEMSHIM_TRACK=off (variant shim_sigbus_mincore), through mincore (the
 *   other process writes the pages, which makes them resident);
 * - small: an msync of a few pages flushes them without asking the
 *   kernel which are there (hooks_msync.c, flush_small); past the file's
 *   end the guard cuts it short, and the mapping asks from then on.  With
 *   the guard gone (after view), every msync asks: one past the end would
 *   kill the program;
 * - view: the program's SIGBUS action is its own: what sigaction,
 *   signal, sysv_signal answer; its handler gets its faults and signals
 *   sent with kill; SA_RESETHAND and SIG_IGN keep their meaning; SIG_DFL
 *   still kills by SIGBUS.
 */
#include <setjmp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "shim_test.h"

#define PG 4096
#define NP 64

static sigjmp_buf Env;
static volatile sig_atomic_t Hits, Last_code;
/* in race: set around our own stores; a fault outside them came from
 * inside a hooked call (a flush's SIGBUS handed to the program) */
static volatile sig_atomic_t Racing, In_store, Stray;
static void *volatile Last_addr;

static void
on_bus(int sig, siginfo_t *si, void *uc)
{
	(void) sig; (void) uc;
	Hits++;
	if (Racing && !In_store)
		Stray++;
	Last_code = si->si_code;
	Last_addr = si->si_addr;
	siglongjmp(Env, 1);
}

static void
on_bus_plain(int sig)
{
	(void) sig;
	Hits++;
}

static struct sigaction
install(void (*h)(int, siginfo_t *, void *))
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = h;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	FATAL(sigaction(SIGBUS, &sa, &old) == 0);
	return old;
}

/* kernel_action -- what the kernel has, past every library's hook */
static void *
kernel_action(void)
{
	struct { void *h; unsigned long flags; void *restorer; uint64_t m; } k;
	FATAL(syscall(SYS_rt_sigaction, SIGBUS, NULL, &k, 8) == 0);
	return k.h;
}

static double
now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*
 * race -- a child shrinks the file to one page and grows it back (writing
 * the pages when writes is set) for secs seconds; meanwhile this process
 * stores to every page (under its own handler: a page past the end is
 * its own fault) and msyncs all of the mapping.  Returns the flush runs
 * cut short.
 */
static unsigned long
race(const char *dir, int writes, double secs)
{
	int fd = make_file(dir, "race", NP * PG, 'a', NULL);
	char *p = mmap(NULL, NP * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
		fd, 0);
	FATAL(p != MAP_FAILED);
	struct sigaction prev = install(on_bus);
	pid_t pid = fork();
	FATAL(pid >= 0);
	if (pid == 0) {
		munmap(p, NP * PG);	/* its truncates need no flush */
		char buf[PG];
		memset(buf, 'c', sizeof(buf));
		for (double end = now() + secs; now() < end;) {
			if (ftruncate(fd, PG) || ftruncate(fd, NP * PG))
				_exit(2);
			for (int k = 1; writes && k < NP; k++)
				if (pwrite(fd, buf, PG, (off_t)k * PG) != PG)
					_exit(3);
		}
		_exit(0);
	}
	unsigned long cut = ctr("flushes_cut_short");
	Racing = 1;
	long rounds = 0, own = 0;
	int st;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		volatile int k = 0;
		if (sigsetjmp(Env, 1)) {
			own++;		/* past the end: its own fault */
		} else {
			In_store = 1;
			for (; !writes && k < NP; k++)
				p[k * PG + (rounds & 63)] = (char)rounds;
		}
		In_store = 0;
		if (sigsetjmp(Env, 1) == 0)
			CHECK(msync(p, NP * PG, MS_SYNC) == 0);
		rounds++;
	}
	Racing = 0;
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(Stray == 0);	/* the program's handler, called from msync */
	unsigned long got = ctr("flushes_cut_short") - cut;
	printf("race (%s): %ld msyncs, %ld stores of ours past the end, "
		"%lu flush runs cut short\n", writes ? "the other process "
		"writes" : "we store", rounds, own, got);
	CHECK(rounds > 0);
	/* none at BYTE granularity, where nothing is flushed */
	int flushes = Gran(p) != 0;
	sigaction(SIGBUS, &prev, NULL);
	munmap(p, NP * PG);
	close(fd);
	return flushes ? got : 1;
}

/*
 * small -- msyncs of at most 16 pages of a mapping larger than its file,
 * with our guard in the kernel (guarded) or replaced (view's end)
 */
static void
small(const char *dir, int guarded)
{
	int fd = make_file(dir, "small", 4 * PG, 's', NULL);
	char *p = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
		fd, 0);
	FATAL(p != MAP_FAILED);
	/* at BYTE granularity nothing is flushed, asked or not; under
	 * valgrind or QEMU's TCG a flush past the end does not fault */
	int blind = guarded && Gran(p) != 0;
	int faults = blind && flush_faults();
	unsigned long un = ctr("msyncs_flushed_unscanned"),
		past = ctr("small_msyncs_past_end");
	p[0] = 'x';
	unsigned long fl = ctr("msync_bytes_flushed");
	CHECK(msync(p, 4 * PG, MS_SYNC) == 0);
	CHECK(ctr("msync_bytes_flushed") - fl == 4 * PG ||
		(!blind && Gran(p) != 0));
	CHECK(ctr("msyncs_flushed_unscanned") == (un += blind));
	/* past the end: cut short, then asked; not the program's fault */
	struct sigaction prev = install(on_bus);
	Hits = 0;
	if (!guarded)
		signal(SIGBUS, SIG_DFL);	/* a fault would kill */
	p[PG] = 'y';
	CHECK(msync(p, 16 * PG, MS_SYNC) == 0);
	CHECK(Hits == 0);
	CHECK(ctr("msyncs_flushed_unscanned") == (un += blind - faults) &&
		ctr("small_msyncs_past_end") == (past += faults));
	/* and this mapping asks from now on: no fault to cut it short */
	CHECK(msync(p, 4 * PG, MS_SYNC) == 0);
	CHECK(msync(p, 16 * PG, MS_SYNC) == 0);
	CHECK(ctr("msyncs_flushed_unscanned") == (un += 2 * (blind - faults))
		&& ctr("small_msyncs_past_end") == past);
	char c[2];
	CHECK(pread(fd, c, 1, 0) == 1 && pread(fd, c + 1, 1, PG) == 1 &&
		c[0] == 'x' && c[1] == 'y');
	/* a mapping of its own size is flushed unasked again */
	CHECK(munmap(p, 16 * PG) == 0);
	p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(p != MAP_FAILED);
	CHECK(msync(p, 4 * PG, MS_SYNC) == 0);
	CHECK(ctr("msyncs_flushed_unscanned") == un + blind);
	sigaction(SIGBUS, &prev, NULL);
	munmap(p, 4 * PG);
	close(fd);
}

/* view -- the program sees and gets its own SIGBUS actions */
static void
view(const char *dir)
{
	struct sigaction q;
	/* the file's second page cut off: a store there is the program's */
	int fd = make_file(dir, "view", 2 * PG, 'v', NULL);
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
		fd, 0);
	FATAL(p != MAP_FAILED);
	p[0] = 1;
	CHECK(msync(p, PG, MS_SYNC) == 0);	/* a flush: ours installed */
	/* at BYTE granularity (eADR) nothing is flushed, nor installed:
	 * the program's actions go straight to the kernel */
	int flushes = Gran(p) != 0;
	void *ours = kernel_action();
	CHECK(flushes ? ours != SIG_DFL : ours == SIG_DFL);
	CHECK(sigaction(SIGBUS, NULL, &q) == 0 && q.sa_handler == SIG_DFL);

	struct sigaction prev = install(on_bus);
	CHECK(prev.sa_handler == SIG_DFL);
	CHECK(!flushes || kernel_action() == ours);
	CHECK(sigaction(SIGBUS, NULL, &q) == 0 &&
		q.sa_sigaction == on_bus && (q.sa_flags & SA_SIGINFO));
	FATAL(ftruncate(fd, PG) == 0);
	Hits = 0;
	if (sigsetjmp(Env, 1) == 0)
		p[PG + 5] = 1;
	CHECK(Hits == 1 && Last_addr == p + PG + 5 && Last_code > 0);
	CHECK(msync(p, 2 * PG, MS_SYNC) == 0);
	/* sent, not a fault: to the program's handler too */
	if (sigsetjmp(Env, 1) == 0)
		kill(getpid(), SIGBUS);
	CHECK(Hits == 2 && Last_code == SI_USER);

	/* signal(): the old one back, the new one called */
	sighandler_t was = signal(SIGBUS, on_bus_plain);
	CHECK((void *)was == (void *)on_bus);
	raise(SIGBUS);
	CHECK(Hits == 3);
	/* sysv_signal: one shot, then the default */
	CHECK(sysv_signal(SIGBUS, on_bus_plain) == on_bus_plain);
	raise(SIGBUS);
	CHECK(Hits == 4);
	CHECK(sigaction(SIGBUS, NULL, &q) == 0 && q.sa_handler == SIG_DFL);
	/* ignored: a signal sent is dropped */
	CHECK(signal(SIGBUS, SIG_IGN) == SIG_DFL);
	raise(SIGBUS);
	CHECK(Hits == 4);
	CHECK(!flushes || kernel_action() == ours);	/* all along */

	/* the default kills by SIGBUS, for a fault and for a signal sent */
	for (int sent = 0; sent < 2; sent++) {
		pid_t pid = fork();
		FATAL(pid >= 0);
		if (pid == 0) {
			signal(SIGBUS, SIG_DFL);
			if (sent)
				raise(SIGBUS);
			else
				p[PG + 5] = 1;
			_exit(0);
		}
		int st;
		CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) &&
			WTERMSIG(st) == SIGBUS);
	}
	/* replaced behind the shim's back: it steps aside */
	struct { void *h; unsigned long flags; void *restorer; uint64_t m; }
		k = { (void *)SIG_DFL, 0, NULL, 0 };
	FATAL(syscall(SYS_rt_sigaction, SIGBUS, &k, NULL, 8) == 0);
	CHECK(signal(SIGBUS, on_bus_plain) == SIG_DFL);
	CHECK(kernel_action() == (void *)on_bus_plain);
	raise(SIGBUS);
	CHECK(Hits == 5);
	signal(SIGBUS, SIG_DFL);
	munmap(p, 2 * PG);
	close(fd);
}

int
main(int argc, char **argv)
{
	const char *dir = shim_test_init();
	/* before any flush, nothing of ours is installed */
	CHECK(kernel_action() == SIG_DFL);
	double secs = argc > 1 ? atof(argv[1]) : 1;
	const char *t = getenv("PMEMSHIM_TRACK");
	/* a truncate landing between a scan and its flush: from 0 to
	 * thousands a second here, so up to 10 tries; not promised on real
	 * DAX under TCG, nor under valgrind (flush_faults) */
	int tries = Real_dax || !flush_faults() ? 1 : 10;
	unsigned long cut = 0;
	for (int i = 0; i < tries && !cut; i++)
		cut = race(dir, t && strcmp(t, "off") == 0, secs);
	CHECK(cut > 0 || tries == 1);
	small(dir, 1);
	view(dir);
	small(dir, 0);
	return finish();
}
