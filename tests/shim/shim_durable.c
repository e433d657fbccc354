/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_durable.c -- stores made through a shim mapping and never msynced
 * are flushed whenever the kernel, without the shim, would still have
 * written them back: before munmap, mmap(MAP_FIXED), a shrinking mremap
 * or mprotect(PROT_NONE) takes them out of the shim's hands, at sync,
 * syncfs and sync_file_range, at exec, exit, quick_exit and _exit (not
 * in a vfork child: its parent keeps the mappings).  The kernel never
 * flushes them itself (tmpfs: no CPU-cache flush at all; fsdax: MAP_SYNC
 * faults leave the page clean), so a program that unmaps (or exits) and
 * then fsyncs, or calls sync(1), would lose them without these flushes.
 *
 * Seen through the shim's counters: msync_bytes_flushed must grow by the
 * pages written (tracked), the pages in the file range (untracked emulated
 * DAX: tmpfs has them all), at least the written pages (real DAX: the
 * pages this process mapped), or the whole range (BYTE granularity).
 */
#include <stdbool.h>
#include <sys/wait.h>

#include "shim_test.h"

#define PG 4096UL

static int Byte;	/* the directory's mappings are BYTE granularity */
static int Tracked;	/* emulated DAX with written-page tracking */

/* ok -- a flush of range pages, written of them since their last flush */
static int
ok(unsigned long got, unsigned long written, unsigned long range)
{
	if (Byte)
		return got == range * PG;
	if (!Real_dax)
		return got == (Tracked ? written : range) * PG;
	return got >= written * PG && got <= range * PG;
}

/* grew -- counter c's growth since *c0, which it then sets to now */
static unsigned long
grew(const char *c, unsigned long *c0)
{
	unsigned long v = ctr(c), d = v - *c0;
	*c0 = v;
	return d;
}

static char *
map(int fd, size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(p != MAP_FAILED && registered(p));
	return p;
}

/* exit_child -- stores to 3 of 8 pages, then exit() with no msync */
static int
exit_child(const char *dax)
{
	int fd = make_file(dax, "exit", 8 * PG, 'e', NULL);
	char *p = map(fd, 8 * PG);
	p[0] = p[2 * PG] = p[7 * PG + 5] = 'X';
	exit(0);
}

/*
 * quick_exit_child -- stores to 2 of 8 pages, registers a handler that
 * stores to a third, then quick_exit(): no munmap, no destructor, and
 * libc's own _exit, which the shim's _exit hook never sees
 */
static char *Quick_p;

static void
quick_store(void)
{
	Quick_p[5 * PG + 7] = 'H';
}

static int
quick_exit_child(const char *dax)
{
	int fd = make_file(dax, "quick", 8 * PG, 'q', NULL);
	Quick_p = map(fd, 8 * PG);
	Quick_p[0] = Quick_p[2 * PG] = 'Q';
	FATAL(at_quick_exit(quick_store) == 0);
	quick_exit(0);
}

/*
 * fork_child -- a fork's child stores to one page of the 8 its parent
 * mapped and leaves with exit() or, if quick, _exit() (no destructor):
 * the flush at its end covers that page (the parent's tracking never
 * sees the child's stores), and only that page where the parent's
 * mapping was tracked: the child has no page-table entries for the rest
 */
static int
fork_child(const char *dax, bool quick)
{
	int fd = make_file(dax, "fork", 8 * PG, 'f', NULL);
	char *p = map(fd, 8 * PG);
	/* the parent's own flush: not in the child's report, which counts
	 * from zero */
	p[0] = 'P';
	CHECK(msync(p, 8 * PG, MS_SYNC) == 0);
	pid_t pid = fork();
	FATAL(pid >= 0);
	if (pid == 0) {
		p[2 * PG] = 'F';
		if (quick)
			_exit(0);
		exit(0);
	}
	int st;
	FATAL(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return finish();
}

/*
 * stat_of -- counter name in the nth report (0: the first) of the
 * PMEMSHIM_STATS file path, or -1
 */
static long
stat_of(const char *path, int nth, const char *name)
{
	FILE *f = fopen(path, "r");
	char line[256], key[128];
	long v = -1, n;
	int report = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "pmemshim: stats pid", 19) == 0)
			report++;
		if (report == nth && sscanf(line, "pmemshim: %127s %ld", key,
				&n) == 2 && strcmp(key, name) == 0)
			v = n;
	}
	fclose(f);
	return v;
}

/* run_with_stats -- argv0 mode, with PMEMSHIM_STATS=stats; its status */
static int
run_with_stats(const char *argv0, const char *mode, const char *stats)
{
	static char env[700];
	unlink(stats);
	snprintf(env, sizeof(env), "PMEMSHIM_STATS=%s", stats);
	return run_self(argv0, mode, env, NULL, NULL);
}

/* logged_bytes -- the bytes of the log line "<why>: N bytes flushed" */
static long
logged_bytes(const char *path, const char *why)
{
	FILE *f = fopen(path, "r");
	char line[512];
	long v = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		const char *w = strstr(line, "]: ");
		size_t n = strlen(why);
		if (w && strncmp(w + 3, why, n) == 0 && w[3 + n] == ':')
			v = strtol(w + 4 + n, NULL, 10);
	}
	fclose(f);
	return v;
}

int
main(int argc, char **argv)
{
	const char *dax = shim_test_init();
	if (argc > 1 && strcmp(argv[1], "exit-child") == 0)
		return exit_child(dax);
	if (argc > 1 && strcmp(argv[1], "quick-exit-child") == 0)
		return quick_exit_child(dax);
	if (argc > 1 && strcmp(argv[1], "fork-child") == 0)
		return fork_child(dax, false);
	if (argc > 1 && strcmp(argv[1], "fork-child-exit") == 0)
		return fork_child(dax, true);
	Tracked = !Real_dax && tracking_expected();
	unsigned long fl = ctr("msync_bytes_flushed");
	unsigned long uf = ctr("unmap_flushes");
	unsigned long sf = ctr("sync_flushes");
	int fd = make_file(dax, "durable", 16 * PG, 'd', NULL);
	int fd2 = make_file(dax, "durable2", 4 * PG, 'e', NULL);

	/* munmap of the whole mapping: its two written pages */
	char *p = map(fd, 8 * PG);
	Byte = Gran(p) == 0;
	p[1 * PG] = p[3 * PG + 100] = 'U';
	CHECK(munmap(p, 8 * PG) == 0);
	CHECK(grew("unmap_flushes", &uf) == 1);
	CHECK(ok(grew("msync_bytes_flushed", &fl), 2, 8));

	/* a partial munmap flushes the part that goes, and only that */
	p = map(fd, 8 * PG);
	p[0] = p[5 * PG] = 'P';
	CHECK(munmap(p + 4 * PG, 4 * PG) == 0);
	CHECK(grew("unmap_flushes", &uf) == 1);
	CHECK(ok(grew("msync_bytes_flushed", &fl), 1, 4));
	/* page 0 still due: an msync of so few pages flushes all of them
	 * without asking which were written (hooks_msync.c, flush_small) */
	CHECK(msync(p, 4 * PG, MS_SYNC) == 0);
	CHECK(grew("msync_bytes_flushed", &fl) == 4 * PG);
	/* and leaves them written (REPROTECT_MIN): page 0, and pages 1-3,
	 * which its CLWBs mapped (a page first mapped by a load counts as
	 * written once, dirty.c) where a flush touches memory (not under
	 * valgrind or TCG: flush_faults).  The next flush takes them again; an
	 * fsync protects them (at BYTE granularity it only fences,
	 * uncounted), and then the munmap has nothing left to flush */
	CHECK(fsync(fd) == 0);
	unsigned long fs = grew("msync_bytes_flushed", &fl);
	CHECK(Byte ? fs == 0 : ok(fs, flush_faults() ? 4 : 1, 4));
	CHECK(munmap(p, 4 * PG) == 0);
	CHECK(ok(grew("msync_bytes_flushed", &fl), 0, 4));
	uf = ctr("unmap_flushes");

	/* mmap(MAP_FIXED) over a written page */
	p = map(fd, 8 * PG);
	p[6 * PG] = 'F';
	char *a = mmap(p + 6 * PG, PG, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(a == p + 6 * PG && !registered(a));
	CHECK(grew("unmap_flushes", &uf) == 1);
	CHECK(ok(grew("msync_bytes_flushed", &fl), 1, 1));

	/* mremap that shrinks: the part cut off */
	p[2 * PG] = p[5 * PG] = 'R';
	char *r = mremap(p, 6 * PG, 4 * PG, 0);
	CHECK(r == p && registered(p + 3 * PG) && !registered(p + 4 * PG));
	CHECK(grew("unmap_flushes", &uf) == 1);
	CHECK(ok(grew("msync_bytes_flushed", &fl), 1, 2));

	/* mprotect without read access: the range leaves the shim (its
	 * msync is the kernel's from then on, see shim_protect.c) */
	unsigned long k0 = ctr("msync_passed_on");
	p[3 * PG] = 'N';
	CHECK(mprotect(p + 3 * PG, PG, PROT_NONE) == 0);
	CHECK(grew("unmap_flushes", &uf) == 1);
	CHECK(ok(grew("msync_bytes_flushed", &fl), 1, 1));
	CHECK(!registered(p + 3 * PG));
	CHECK(msync(p + 3 * PG, PG, MS_SYNC) == 0);
	CHECK(ctr("msync_passed_on") == k0 + 1);
	/* access back: a store after it is the shim's to flush again (the
	 * kernel's msync would not flush it on fsdax) */
	CHECK(mprotect(p + 3 * PG, PG, PROT_READ | PROT_WRITE) == 0);
	CHECK(registered(p + 3 * PG));
	p[3 * PG + 1] = 'n';
	CHECK(munmap(p + 3 * PG, PG) == 0);
	CHECK(grew("unmap_flushes", &uf) == 1);
	CHECK(ok(grew("msync_bytes_flushed", &fl), 1, 1));
	munmap(p + 6 * PG, 2 * PG);	/* the anonymous page and the last */
	munmap(p, 6 * PG);
	fl = ctr("msync_bytes_flushed");
	uf = ctr("unmap_flushes");

	/* sync: every shim mapping, of every file */
	p = map(fd, 8 * PG);
	char *q = map(fd2, 4 * PG);
	p[0] = p[7 * PG] = q[PG] = 'S';
	sync();
	CHECK(grew("sync_flushes", &sf) == 1);
	CHECK(ok(grew("msync_bytes_flushed", &fl), 3, 12));
	/* syncfs of another file system leaves them alone ... */
	int proc = open("/proc", O_RDONLY | O_DIRECTORY);
	FATAL(proc >= 0);
	q[2 * PG] = 'T';
	CHECK(syncfs(proc) == 0);
	CHECK(grew("sync_flushes", &sf) == 0);
	CHECK(grew("msync_bytes_flushed", &fl) == 0);
	close(proc);
	/* ... and of theirs flushes them */
	CHECK(syncfs(fd) == 0);
	CHECK(grew("sync_flushes", &sf) == 1);
	CHECK(ok(grew("msync_bytes_flushed", &fl), 1, 12));

	/* sync_file_range: the file's range, when asked to write */
	p[2 * PG] = p[6 * PG] = 'W';
	CHECK(sync_file_range(fd, 0, 4 * PG, SYNC_FILE_RANGE_WAIT_BEFORE) == 0);
	CHECK(grew("sync_flushes", &sf) == 0);
	CHECK(grew("msync_bytes_flushed", &fl) == 0);
	CHECK(sync_file_range(fd, 0, 4 * PG, SYNC_FILE_RANGE_WRITE) == 0);
	CHECK(grew("sync_flushes", &sf) == 1);
	CHECK(ok(grew("msync_bytes_flushed", &fl), 1, 4));
	/* length 0: to the end of the file (the mapping's 8 pages) */
	CHECK(sync_file_range(fd, 2 * PG, 0, SYNC_FILE_RANGE_WRITE) == 0);
	CHECK(grew("sync_flushes", &sf) == 1);
	CHECK(ok(grew("msync_bytes_flushed", &fl), 1, 6));
	/* a range in bytes: the whole pages it touches (5 and 6; an
	 * unaligned start used to find nothing to flush) */
	p[6 * PG] = 'W';
	CHECK(sync_file_range(fd, 5 * PG + 100, PG, SYNC_FILE_RANGE_WRITE) ==
		0);
	CHECK(grew("sync_flushes", &sf) == 1);
	CHECK(ok(grew("msync_bytes_flushed", &fl), 1, 2));
	/* the kernel's answer to bad arguments is kept */
	errno = 0;
	CHECK(sync_file_range(fd, -1, PG, SYNC_FILE_RANGE_WRITE) == -1 &&
		errno == EINVAL);
	CHECK(grew("sync_flushes", &sf) == 0);
	munmap(p, 8 * PG);
	munmap(q, 4 * PG);

	/* exec: the process image goes with no munmap and no destructor.
	 * Every form flushes first; one that fails shows it */
	p = map(fd, 8 * PG);
	unsigned long ef = ctr("exec_flushes");
	fl = ctr("msync_bytes_flushed");
	extern char **environ;
	char *const args[] = { "x", NULL };
	const char *nopath = "/nonexistent/pmemshim-no-such-program";
	const char *noname = "pmemshim-no-such-program";
	for (int i = 0; i < 9; i++) {
		p[(size_t)(i % 8) * PG] = 'X';
		errno = 0;
		int r = i == 0 ? execve(nopath, args, environ) :
			i == 1 ? execv(nopath, args) :
			i == 2 ? execvp(noname, args) :
			i == 3 ? execvpe(noname, args, environ) :
			i == 4 ? execl(nopath, "x", (char *)NULL) :
			i == 5 ? execlp(noname, "x", (char *)NULL) :
			i == 6 ? execle(nopath, "x", (char *)NULL, environ) :
			i == 7 ? execveat(AT_FDCWD, nopath, args, environ, 0) :
			fexecve(-1, args, environ);
		CHECK(r == -1 && (i == 8 ? errno != 0 : errno == ENOENT));
		if (grew("exec_flushes", &ef) != 1 ||
				!ok(grew("msync_bytes_flushed", &fl), 1, 8)) {
			fprintf(stderr, "exec form %d: no flush first\n", i);
			Failures++;
		}
	}
	/* and the list forms still pass their arguments right */
	for (int i = 0; i < 3; i++) {
		pid_t c = fork();
		FATAL(c >= 0);
		if (c == 0) {
			char *env[] = { "CODE=45", NULL };
			if (i == 0)
				execl("/bin/sh", "sh", "-c", "exit 43", (char *)NULL);
			else if (i == 1)
				execlp("sh", "sh", "-c", "exit 44", (char *)NULL);
			else
				execle("/bin/sh", "sh", "-c", "exit $CODE",
					(char *)NULL, env);
			_exit(127);
		}
		int st;
		FATAL(waitpid(c, &st, 0) == c);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 43 + i);
	}
	munmap(p, 8 * PG);
	fl = ctr("msync_bytes_flushed");

	/* exit: a program that stores and exits with no msync */
	char stats[600];
	snprintf(stats, sizeof(stats), "%s/exit.stats", dax);
	CHECK(run_with_stats(argv[0], "exit-child", stats) == 0);
	long b = stat_of(stats, 0, "msync_bytes_flushed");
	CHECK(stat_of(stats, 0, "exit_flushes") == 1);
	CHECK(b >= 0 && ok((unsigned long)b, 3, 8));
	/* quick_exit: the flush and the report come after the program's
	 * handlers, whose store is flushed too */
	CHECK(run_with_stats(argv[0], "quick-exit-child", stats) == 0);
	b = stat_of(stats, 0, "msync_bytes_flushed");
	CHECK(stat_of(stats, 0, "exit_flushes") == 1);
	CHECK(b >= 0 && ok((unsigned long)b, 3, 8));
	/* and a fork's child: its report comes first, its parent's after */
	CHECK(run_with_stats(argv[0], "fork-child", stats) == 0);
	b = stat_of(stats, 0, "msync_bytes_flushed");
	CHECK(stat_of(stats, 0, "exit_flushes") == 1);
	CHECK(b >= 0 && ok((unsigned long)b, 1, 8));
	CHECK(stat_of(stats, 1, "exit_flushes") == 1);
	unlink(stats);
	/* ... and one that leaves with _exit: no report, but the log */
	char log[600];
	snprintf(log, sizeof(log), "%s/exit.log", dax);
	CHECK(run_self(argv[0], "fork-child-exit", "PMEMSHIM_LOG=2", NULL,
		log) == 0);
	b = logged_bytes(log, "_exit");
	CHECK(b >= 0 && ok((unsigned long)b, 1, 8));
	unlink(log);

	/* a vfork child shares its parent's memory and mappings: its exec
	 * and _exit end none of them, and flush none (the parent's
	 * counters, which it shares, show it) */
	p = map(fd, 8 * PG);
	p[PG] = 'V';
	fl = ctr("msync_bytes_flushed");
	ef = ctr("exec_flushes");
	unsigned long xf = ctr("exit_flushes");
	pid_t v = vfork();
	FATAL(v >= 0);
	if (v == 0) {
		execve(nopath, args, environ);
		_exit(9);
	}
	int vst;
	FATAL(waitpid(v, &vst, 0) == v);
	CHECK(WIFEXITED(vst) && WEXITSTATUS(vst) == 9);
	CHECK(ctr("exec_flushes") == ef && ctr("exit_flushes") == xf &&
		ctr("msync_bytes_flushed") == fl);
	munmap(p, 8 * PG);

	close(fd);
	close(fd2);
	return finish();
}
