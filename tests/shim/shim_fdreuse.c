/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_fdreuse.c -- the program takes over the number of the shim's own
 * /proc/self/pagemap descriptor (shim/dirty.c), by each libc call that can
 * do it: close + F_DUPFD, dup2, dup3, close_range + F_DUPFD, closefrom +
 * F_DUPFD.  The number then holds the pagemap of another process, whose
 * address space has nothing where our mapping is: a written-page scan
 * through it would find no page written and the msync would flush
 * nothing.  The shim must notice every time (shim/hooks_fd.c), fall back
 * to flushing every page the process has mapped, and give a new mapping
 * tracking again.
 */
#include <signal.h>
#include <sys/wait.h>

#include <stdbool.h>

#include "shim_test.h"

#define PG 4096
/* pages: more than a small msync (hooks_msync.c, flush_small), which
 * flushes its whole range without asking the kernel */
#define NPG 32

/* fd_link -- where /proc/self/fd/FD points, in got (size n); false if
 * FD is not open */
static bool
fd_link(int fd, char *got, size_t n)
{
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t k = readlink(link, got, n - 1);
	if (k <= 0)
		return false;
	got[k] = 0;
	return true;
}

/* shim_pagemap -- the number of the shim's /proc/self/pagemap, or -1 */
static int
shim_pagemap(void)
{
	char want[64], got[128];
	snprintf(want, sizeof(want), "/proc/%d/pagemap", (int)getpid());
	for (int fd = 1000; fd < 1100; fd++)
		if (fd_link(fd, got, sizeof(got)) && strcmp(got, want) == 0)
			return fd;
	return -1;
}

/* uffds -- how many userfaultfd descriptors this process holds */
static int
uffds(void)
{
	char got[128];
	int n = 0;
	for (int fd = 0; fd < 1100; fd++)
		n += fd_link(fd, got, sizeof(got)) &&
			strstr(got, "userfaultfd") != NULL;
	return n;
}

enum how { CLOSE, DUP2, DUP3, CLOSE_RANGE, CLOSEFROM, NHOW };
static const char *const Names[] = { "close", "dup2", "dup3", "close_range",
	"closefrom" };

/* take_over -- put foreign at number p (the shim's) by way of how */
static void
take_over(enum how how, int p, int foreign)
{
	switch (how) {
	case CLOSE:
		FATAL(close(p) == 0);
		break;
	case DUP2:
		FATAL(dup2(foreign, p) == p);
		return;
	case DUP3:
		FATAL(dup3(foreign, p, O_CLOEXEC) == p);
		return;
	case CLOSE_RANGE:
		FATAL(close_range((unsigned)p, (unsigned)p, 0) == 0);
		break;
	case CLOSEFROM:
		closefrom(p);	/* the shim's userfaultfd goes too */
		break;
	default:
		FATAL(0);
	}
	FATAL(fcntl(foreign, F_DUPFD_CLOEXEC, p) == p);
}

int
main(void)
{
	const char *dax = shim_test_init();
	if (Real_dax || !tracking_expected()) {
		printf("SKIP: written-page tracking (emulated DAX, Linux "
			"6.7+) is what keeps these descriptors\n");
		return SKIP;
	}
	/* another process, an address space with nothing where ours maps */
	pid_t child = fork();
	FATAL(child >= 0);
	if (child == 0) {
		execl("/bin/sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	char cpath[64], path[512];
	snprintf(cpath, sizeof(cpath), "/proc/%d/pagemap", (int)child);
	usleep(100 * 1000);	/* let it exec */
	int fd = make_file(dax, "fdreuse", NPG * PG, 'f', path);

	for (enum how how = 0; how < NHOW; how++) {
		char *d = mmap(NULL, NPG * PG, PROT_READ | PROT_WRITE,
				MAP_SHARED, fd, 0);
		FATAL(d != MAP_FAILED && Gran(d) >= 0);
		/* tracking works: one written page, one page flushed */
		d[3 * PG] = 'a';
		CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == PG);
		int p = shim_pagemap();
		FATAL(p >= 1000);
		int foreign = open(cpath, O_RDONLY | O_CLOEXEC);
		FATAL(foreign >= 0);
		take_over(how, p, foreign);
		close(foreign);
		d[5 * PG] = 'b';
		/* through the foreign pagemap: 0 bytes; the shim must see
		 * that the number is not its own and flush every page this
		 * process has mapped instead (through a pagemap of its own) */
		unsigned long want = mapped_pages(d, NPG) * PG;
		unsigned long f = flushed_by(msync, d, NPG * PG, MS_SYNC);
		if (f != want || want < 2 * PG) {
			fprintf(stderr, "%s: msync flushed %lu bytes, want %lu"
				"\n", Names[how], f, want);
			Failures++;
		}
		CHECK(munmap(d, NPG * PG) == 0);
		/* a new mapping: new descriptors, tracking again */
		unsigned long t = ctr("maps_dirty_tracked");
		d = mmap(NULL, NPG * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
				fd, 0);
		FATAL(d != MAP_FAILED);
		CHECK(ctr("maps_dirty_tracked") == t + 1);
		CHECK(shim_pagemap() >= 1000 && shim_pagemap() != p);
		d[7 * PG] = 'c';
		CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == PG);
		char c;
		CHECK(pread(fd, &c, 1, 5 * PG) == 1 && c == 'b');
		CHECK(munmap(d, NPG * PG) == 0);
		/* the foreign descriptor at p is the program's: leave it be,
		 * as a program would, and go on with the next way */
		printf("%s: ok\n", Names[how]);
	}
	/* only the pagemap descriptor was taken each time: the shim kept
	 * its userfaultfd (and did not leak one per round, as it did) */
	CHECK(uffds() == 1);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(fd);
	unlink(path);
	return finish();
}
