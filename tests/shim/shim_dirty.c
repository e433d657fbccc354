/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_dirty.c -- written-page tracking (shim/dirty.c): with it, msync and
 * fsync flush exactly the pages stored to since their last flush (by the
 * program, by the shim's own mover, by the kernel's read() into the
 * mapping), MS_ASYNC leaves them for the MS_SYNC that waits, and every way
 * of losing the tracking (fork, mremap, the program closing the shim's
 * descriptors) falls back to flushing every page the process has mapped
 * (counted independently, from /proc/self/pagemap).  Without it
 * (old kernel, PMEMSHIM_TRACK=off) every resident page is flushed.
 * Whether tracking is expected is asked of the kernel, not of the shim.
 */
#include <stdint.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "shim_test.h"

#define PG 4096
#define NPG 256		/* file size in pages: all resident (tmpfs) */

static int
fsync_op(void *fdp, size_t len, int fl)
{
	(void) len;
	(void) fl;
	return fsync(*(int *)fdp);
}

/* store one byte into each of the pages listed */
static void
touch(char *d, const int *pages, int n, char c)
{
	for (int i = 0; i < n; i++)
		d[(size_t)pages[i] * PG + 11] = c;
}

/* what op(addr, len, fl) adds to written_page_scans and, in *flushed,
 * to msync_bytes_flushed */
static unsigned long
scans_by(int (*op)(void *, size_t, int), void *addr, size_t len, int fl,
		unsigned long *flushed)
{
	unsigned long s0 = ctr("written_page_scans");
	*flushed = flushed_by(op, addr, len, fl);
	return ctr("written_page_scans") - s0;
}

/*
 * adjacent -- tracked mappings of the file side by side (what tdb leaves
 * when it unmaps with the length it mapped before growing its file: the
 * tail stays, right after the next mapping) are scanned together, one
 * PAGEMAP_SCAN per fsync or msync instead of one each.
 */
enum { M = 8 };		/* pages per mapping */

static void
adjacent(int fd)
{
	char *r = mmap(NULL, 3 * M * PG, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FATAL(r != MAP_FAILED);
	char *m[3];		/* m[i] maps file pages [4i, 4i + M) */
	for (int i = 0; i < 3; i++) {
		m[i] = mmap(r + i * M * PG, M * PG, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_FIXED, fd, (off_t)i * 4 * PG);
		FATAL(m[i] == r + i * M * PG && registered(m[i]));
	}
	unsigned long fl;
	CHECK(scans_by(fsync_op, &fd, 0, 0, &fl) == 1 && fl == 0);
	m[0][1 * PG] = 'a';
	m[1][2 * PG] = 'b';	/* file page 6 */
	m[2][3 * PG] = 'c';	/* file page 11 */
	CHECK(scans_by(fsync_op, &fd, 0, 0, &fl) == 1 && fl == 3 * PG);
	/* msync of m[0] (file pages 0-7): its own pages, all of them
	 * without a scan (a small msync: hooks_msync.c, flush_small),
	 * then the same file pages elsewhere: m[1]'s first half (one
	 * scan); m[2] maps pages 8-15 and is not visited.  msync of m[2]:
	 * its own, then m[1]'s second half, where nothing was written */
	m[0][1 * PG] = 'a';
	m[1][2 * PG] = 'b';
	m[2][3 * PG] = 'c';
	CHECK(scans_by(msync, m[0], M * PG, MS_SYNC, &fl) == 1 &&
		fl == (M + 1) * PG);
	CHECK(scans_by(msync, m[2], M * PG, MS_SYNC, &fl) == 1 &&
		fl == M * PG);

	CHECK(munmap(r, 3 * M * PG) == 0);
}

/* close_all_but -- close every descriptor from 3 up but fd (the shim's
 * too: its mappings lose their tracking), then hand the numbers back to
 * the program's own files */
static void
close_all_but(int fd)
{
	struct rlimit rl;
	FATAL(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	for (int i = 3; i < (int)rl.rlim_cur && i < 65536; i++)
		if (i != fd)
			close(i);
	for (int i = 0; i < 8; i++)
		(void) open("/dev/null", O_RDONLY);
}

/*
 * adjacent_lost -- two adjacent mappings lose their tracking (the
 * program closed the shim's descriptors), a third made next to them has
 * it: the scan over the three fails, every page this process has mapped
 * in all it covered is flushed (it may have protected pages it never
 * listed), and only the two fall back to their mapped pages: the one
 * page stored to in each (not every page of the file, as mincore
 * would have it).
 */
static void
adjacent_lost(int fd)
{
	char *r = mmap(NULL, 3 * M * PG, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FATAL(r != MAP_FAILED);
	char *m[3];
	for (int i = 0; i < 3; i++) {
		if (i == 2)
			close_all_but(fd);
		m[i] = mmap(r + i * M * PG, M * PG, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_FIXED, fd, (off_t)i * 4 * PG);
		FATAL(m[i] == r + i * M * PG && registered(m[i]));
	}
	unsigned long fl;
	m[0][1 * PG] = 'd';
	m[2][3 * PG] = 'e';
	CHECK(mapped_pages(r, 3 * M) == 2);
	CHECK(scans_by(fsync_op, &fd, 0, 0, &fl) >= 1 && fl == 2 * PG);
	m[0][1 * PG] = 'f';
	m[2][3 * PG] = 'g';
	CHECK(scans_by(fsync_op, &fd, 0, 0, &fl) == 1 && fl == 2 * PG);
	/* a page of a lost mapping that is only read is flushed too: its
	 * tracking cannot tell */
	volatile char c = m[1][5 * PG];
	(void) c;
	unsigned long want = mapped_pages(r, 3 * M);
	CHECK(want >= 3);
	CHECK(scans_by(fsync_op, &fd, 0, 0, &fl) == 1 &&
		fl == (want - 1) * PG);
	char back[1];
	CHECK(pread(fd, back, 1, 1 * PG) == 1 && back[0] == 'f');
	CHECK(pread(fd, back, 1, 11 * PG) == 1 && back[0] == 'g');
	CHECK(munmap(r, 3 * M * PG) == 0);
}

/* vm_pte_kb -- this process's page tables, in KiB */
static long
vm_pte_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	FATAL(f != NULL);
	char line[256];
	long kb = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPTE: %ld", &kb) == 1)
			break;
	fclose(f);
	FATAL(kb >= 0);
	return kb;
}

/*
 * past_eof -- a mapping far larger than its file (tcamgr maps 64 MiB of
 * a 0.5 MiB file): only the pages inside the file are protected when it
 * is made (a file of more than 2 MiB: see dirty.c), and no msync fills
 * the page tables of the rest with protection markers (64 MiB of them are
 * 128 KiB of page tables, VmPTE).  The pages the file grows into are
 * found when written, and a page there that was only read is flushed once
 * (it was never protected).  The file starts at 3 MiB: its protected part
 * is scanned by the kernel's "written only" path (more than 2 MiB), the
 * rest by the other one.
 */
static void
past_eof(const char *dax)
{
	const size_t big = 64u << 20, mib = 1u << 20;
	char path[512];
	int fd = make_file(dax, "past-eof", 3 * mib, 'e', path);
	/* the shim's first mapping of a file allocates (its class cache
	 * entry), which under ASan can map a new allocator region and its
	 * page tables: not what is measured here (markers over the 64 MiB
	 * would be 128 KiB; 8-12 KiB are made, 20-28 under ASan) */
	char *once = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(once != MAP_FAILED && munmap(once, PG) == 0);
	long pte0 = vm_pte_kb();
	char *m = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(m != MAP_FAILED && registered(m));
	unsigned long fl;
	CHECK(scans_by(msync, m, big, MS_SYNC, &fl) == 2 && fl == 0);
	/* more than 2 MiB of file: protected up front, a load is no store */
	volatile char ld = m[2 * mib];
	(void) ld;
	CHECK(flushed_by(msync, m, big, MS_SYNC) == 0);
	m[PG] = 'x';
	m[3 * mib - PG] = 'x';
	CHECK(scans_by(msync, m, big, MS_SYNC, &fl) == 2 && fl == 2 * PG);
	CHECK(flushed_by(msync, m, big, MS_SYNC) == 0);
	CHECK(vm_pte_kb() - pte0 < 64);
	FATAL(ftruncate(fd, 5 * mib) == 0);
	m[4 * mib + 5] = 'y';		/* past the old end */
	CHECK(flushed_by(msync, m, big, MS_SYNC) == PG);
	volatile char c = m[4 * mib + 3 * PG];	/* a load there */
	(void) c;
	CHECK(flushed_by(msync, m, big, MS_SYNC) == PG);
	CHECK(flushed_by(msync, m, big, MS_SYNC) == 0);
	m[4 * mib + 7] = 'z';
	m[2 * PG] = 'w';
	CHECK(flushed_by(fsync_op, &fd, 0, 0) == 2 * PG);
	CHECK(flushed_by(msync, m, big, MS_SYNC) == 0);
	CHECK(vm_pte_kb() - pte0 < 64);
	char back[1];
	CHECK(pread(fd, back, 1, 4 * mib + 7) == 1 && back[0] == 'z');
	CHECK(munmap(m, big) == 0);
	close(fd);
	unlink(path);
}

int
main(void)
{
	const char *dax = shim_test_init();
	/* tracking is for emulated DAX; "resident" differs on real DAX */
	if (Real_dax) {
		printf("SKIP: written-page tracking is for emulated DAX "
			"only\n");
		return SKIP;
	}
	int track = tracking_expected();
	const char *al = getenv("PMEMSHIM_ALIAS");
	int alias = track && !(al && strcmp(al, "off") == 0);
	printf("written-page tracking expected: %s, mover alias: %s\n",
		track ? "yes" : "no", alias ? "yes" : "no");
	char path[512];
	int fd = make_file(dax, "dirty", NPG * PG, 'd', path);
	unsigned long tracked0 = ctr("maps_dirty_tracked");
	char *d = mmap(NULL, NPG * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			fd, 0);
	FATAL(d != MAP_FAILED && Gran(d) >= 0);
	CHECK(ctr("maps_dirty_tracked") - tracked0 == (unsigned long)track);

	if (!track) {
		/* every resident page, written or not */
		CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == NPG * PG);
		d[5] = 'x';
		CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == NPG * PG);
		munmap(d, NPG * PG);
		close(fd);
		unlink(path);
		return finish();
	}

	past_eof(dax);

	/* nothing stored yet: nothing to flush, however big the range */
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == 0);
	/* a file of 2 MiB or less is not protected up front (dirty.c):
	 * a page first mapped by a load is flushed once, never again */
	volatile char ld = d[50 * PG];
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == PG);
	ld = d[50 * PG];
	(void) ld;
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == 0);
	const int three[] = { 0, 77, 255 };
	touch(d, three, 3, 'a');
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == 3 * PG);
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == 0);
	/* a range that excludes the written page does not take it */
	d[200 * PG] = 'b';
	CHECK(flushed_by(msync, d, 100 * PG, MS_SYNC) == 0);
	CHECK(flushed_by(msync, d + 200 * PG, PG, MS_SYNC) == PG);
	/* an msync of so few pages (REPROTECT_MIN, hooks_msync.c) flushes
	 * all of them without a scan (flush_small) and leaves them
	 * written: the next one flushes the page again.  Its CLWBs map the
	 * pages of its range this process had not mapped, and a page first
	 * mapped by a load counts as written once.  An msync of a larger
	 * range protects them, and then nothing is left */
	unsigned long un = ctr("msyncs_flushed_unscanned");
	unsigned long sc = ctr("written_page_scans");
	CHECK(flushed_by(msync, d + 200 * PG, PG, MS_SYNC) == PG);
	CHECK(flushed_by(msync, d + 192 * PG, 16 * PG, MS_SYNC) == 16 * PG);
	CHECK(ctr("msyncs_flushed_unscanned") == un + 2 &&
		ctr("written_page_scans") == sc);
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == 16 * PG);
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == 0);
	/* one page more is a scan: what it finds written */
	d[200 * PG] = 'b';
	CHECK(flushed_by(msync, d + 192 * PG, 17 * PG, MS_SYNC) == PG);
	CHECK(ctr("msyncs_flushed_unscanned") == un + 2 &&
		ctr("written_page_scans") == sc + 3);

	/* the shim's own mover (non-temporal stores) is a store too, for
	 * the first 15 copies into a mapping; from the 16th on it writes
	 * through its alias (shim/alias.c): the copy is in memory when
	 * memcpy returns and the program's pages stay protected, so the
	 * msync has nothing to flush */
	static char src[16 * PG];
	memset(src, 'm', sizeof(src));
	volatile size_t n = sizeof(src);
	unsigned long via = ctr("bytes_moved_through_alias");
	for (int i = 0; i < 15; i++) {
		memcpy(d + 16 * PG, src, n);
		CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == 16 * PG);
	}
	CHECK(ctr("bytes_moved_through_alias") == via);
	memcpy(d + 16 * PG, src, n);
	CHECK(ctr("bytes_moved_through_alias") - via == (alias ? n : 0));
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) ==
		(alias ? 0 : 16 * PG));
	/* again, after that msync protected the pages once more: through
	 * the alias (mapped by the first copy) no fault at all, directly
	 * one per page */
	struct rusage r0, r1;
	getrusage(RUSAGE_SELF, &r0);
	memcpy(d + 16 * PG, src, n);
	getrusage(RUSAGE_SELF, &r1);
	CHECK((r1.ru_minflt - r0.ru_minflt < 4) == alias);
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) ==
		(alias ? 0 : 16 * PG));
	char back[PG];
	CHECK(pread(fd, back, PG, 31 * PG) == PG && back[0] == 'm' &&
		back[PG - 1] == 'm' && d[16 * PG] == 'm');
	/* the program's own store to a page the mover wrote is recorded */
	d[20 * PG + 5] = 'w';
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == PG);
	/* where the mover copies through its alias, even a one-page msync
	 * protects the page again (it would be flushed after every copy);
	 * without the alias it stays written, as above */
	d[21 * PG + 5] = 'x';
	CHECK(flushed_by(msync, d + 21 * PG, PG, MS_SYNC) == PG);
	CHECK(flushed_by(msync, d + 21 * PG, PG, MS_SYNC) == (alias ? 0 : PG));
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == (alias ? 0 : PG));
	/* memmove within the mapping, both ways, through the alias: the
	 * source moves with the destination (overlap is by address) */
	for (int i = 0; i < 16 * PG; i++)
		d[16 * PG + i] = (char)(i * 7 + i / 4096);
	memmove(d + 16 * PG + 100, d + 16 * PG, 8 * PG);
	memmove(d + 24 * PG, d + 24 * PG + 300, 4 * PG);
	for (int i = 0; i < 16 * PG; i++) {
		int j = i >= 8 * PG && i < 12 * PG ? i + 300 :
			i >= 100 && i < 100 + 8 * PG ? i - 100 : i;
		if (d[16 * PG + i] != (char)(j * 7 + j / 4096)) {
			CHECK(!"memmove within the mapping");
			break;
		}
	}
	(void) flushed_by(msync, d, NPG * PG, MS_SYNC);

	/* the kernel writing into the mapping (read(2)) is recorded too */
	char srcp[512];
	int src_fd = make_file(plain_dir(), "dirty-src", PG, 'r', srcp);
	CHECK(pread(src_fd, d + 40 * PG, PG, 0) == PG);
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == PG);
	close(src_fd);
	unlink(srcp);
	rmdir(plain_dir());

	/* MS_ASYNC starts the flush but keeps the page for MS_SYNC */
	d[9 * PG] = 'c';
	CHECK(flushed_by(msync, d, NPG * PG, MS_ASYNC) == PG);
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == PG);
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == 0);

	/* fsync flushes the written pages of the file's mappings */
	const int two[] = { 3, 4 };
	touch(d, two, 2, 'f');
	CHECK(flushed_by(fsync_op, &fd, 0, 0) == 2 * PG);
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == 0);

	/* a bulk writer that msyncs what it just wrote gains nothing and
	 * pays a fault per page: after 4 such flushes in a row tracking is
	 * dropped, and rewriting no longer faults */
	unsigned long dropped = ctr("maps_dirty_tracking_dropped");
	for (int i = 0; i < 4; i++) {
		memset(d + 64 * PG, 'A' + i, 64 * PG);
		CHECK(flushed_by(msync, d + 64 * PG, 64 * PG, MS_SYNC) ==
			64 * PG);
	}
	CHECK(ctr("maps_dirty_tracking_dropped") == dropped + 1);
	/* from now on: every resident page of the range (mincore: the
	 * pages are mostly written, so mapped, and mincore asks less of the
	 * kernel than a scan for mapped pages), and no write protection
	 * after it (a first store may still fault once, to make its
	 * read-only entry writable) */
	for (int p = 64; p < 128; p++)
		d[(size_t)p * PG] = 'C';
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == NPG * PG);
	getrusage(RUSAGE_SELF, &r0);
	for (int p = 64; p < 128; p++)
		d[(size_t)p * PG] = 'B';
	getrusage(RUSAGE_SELF, &r1);
	CHECK(r1.ru_minflt == r0.ru_minflt);
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == NPG * PG);
	CHECK(pread(fd, back, PG, 65 * PG) == PG && back[0] == 'B' &&
		back[1] == 'D');
	munmap(d, NPG * PG);
	d = mmap(NULL, NPG * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(d != MAP_FAILED);

	/* fork: the child's mapping has no tracking, the parent's keeps
	 * it.  The kernel gives the child no page-table entries for a
	 * shared file mapping: the child flushes the one page it stored to
	 * (mincore would have it flush the whole file; and so would its
	 * exit, for every child) */
	pid_t pid = fork();
	FATAL(pid >= 0);
	if (pid == 0) {
		d[100 * PG] = 'K';
		CHECK(mapped_pages(d, NPG) == 1);
		CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == PG);
		d[102 * PG] = 'M';
		CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == 2 * PG);
		/* a mapping the child makes is tracked again (and the
		 * untracked one goes: msync of e would flush it all too) */
		CHECK(munmap(d, NPG * PG) == 0);
		unsigned long t = ctr("maps_dirty_tracked");
		char *e = mmap(NULL, NPG * PG, PROT_READ | PROT_WRITE,
				MAP_SHARED, fd, 0);
		FATAL(e != MAP_FAILED);
		CHECK(ctr("maps_dirty_tracked") == t + 1);
		e[101 * PG] = 'L';
		CHECK(flushed_by(msync, e, NPG * PG, MS_SYNC) == PG);
		_exit(Failures);
	}
	int st;
	FATAL(waitpid(pid, &st, 0) == pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fprintf(stderr, "child: %s %d\n", WIFEXITED(st) ? "exit" :
			"signal", WIFEXITED(st) ? WEXITSTATUS(st) :
			WTERMSIG(st));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(d[100 * PG] == 'K' && d[101 * PG] == 'L');
	/* the parent had never mapped those two: its loads count */
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == 2 * PG);
	d[7 * PG] = 'p';
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == PG);

	/* a middle unmap splits the mapping: both parts stay tracked */
	CHECK(munmap(d + 128 * PG, PG) == 0);
	const int ends[] = { 127, 129 };
	touch(d, ends, 2, 's');
	CHECK(flushed_by(msync, d, 128 * PG, MS_SYNC) == PG);
	CHECK(flushed_by(msync, d + 129 * PG, 127 * PG, MS_SYNC) == PG);
	CHECK(munmap(d, NPG * PG) == 0);

	adjacent(fd);

	/* mremap: the kernel drops the registration, so every resident
	 * page of the result is flushed */
	d = mmap(NULL, NPG * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(d != MAP_FAILED);
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == 0);
	FATAL(ftruncate(fd, 2 * NPG * PG) == 0);
	char *g = mremap(d, NPG * PG, 2 * NPG * PG, MREMAP_MAYMOVE);
	FATAL(g != MAP_FAILED && Gran(g) >= 0);
	g[3] = 'r';
	unsigned long want = mapped_pages(g, 2 * NPG);
	CHECK(want >= 1);
	CHECK(flushed_by(msync, g, 2 * NPG * PG, MS_SYNC) == want * PG);
	CHECK(munmap(g, 2 * NPG * PG) == 0);
	FATAL(ftruncate(fd, NPG * PG) == 0);

	/* the program's own userfaultfd over a tracked mapping: a range
	 * belongs to one userfaultfd at most, and without the shim the
	 * program's UFFDIO_REGISTER succeeds, so it must with the shim too
	 * (it got EBUSY); the mapping then falls back to every resident
	 * page.  A bad pointer still gets the kernel's EFAULT. */
	char *own = mmap(NULL, NPG * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			0);
	FATAL(own != MAP_FAILED);
	int u = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (u >= 0) {
		unsigned long dr = ctr("maps_dirty_tracking_dropped");
		struct uffdio_api api = { .api = UFFD_API };
		CHECK(ioctl(u, UFFDIO_API, &api) == 0);
		struct uffdio_register reg = {
			.range = { (uintptr_t)own + PG, 2 * PG },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};
		CHECK(ioctl(u, UFFDIO_REGISTER, &reg) == 0);
		CHECK(ctr("maps_dirty_tracking_dropped") ==
			dr + (unsigned long)track);
		own[5 * PG] = 'u';
		want = mapped_pages(own, NPG);
		CHECK(want >= 1);
		CHECK(flushed_by(msync, own, NPG * PG, MS_SYNC) == want * PG);
		errno = 0;
		CHECK(ioctl(u, UFFDIO_REGISTER, (void *)8) == -1 &&
			errno == EFAULT);
		CHECK(ioctl(u, UFFDIO_UNREGISTER, &reg.range) == 0);
		close(u);
	} else {
		printf("no userfaultfd here (%s): own-registration case "
			"skipped\n", strerror(errno));
	}
	CHECK(munmap(own, NPG * PG) == 0);

	/* the program closes every descriptor but its own: the shim's are
	 * gone, its mapping falls back, a new mapping gets new ones */
	d = mmap(NULL, NPG * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(d != MAP_FAILED);
	close_all_but(fd);
	d[1] = 'z';
	want = mapped_pages(d, NPG);
	CHECK(want >= 1);
	CHECK(flushed_by(msync, d, NPG * PG, MS_SYNC) == want * PG);
	/* such a mapping flushes its mapped pages: one madvise takes out
	 * of its page table is flushed before (never tracked, it would be
	 * flushed later anyway: tmpfs keeps the page) */
	unsigned long mf = ctr("madvise_flushes");
	unsigned long b0 = ctr("msync_bytes_flushed");
	d[9 * PG] = 'm';
	CHECK(madvise(d + 9 * PG, PG, MADV_DONTNEED) == 0);
	CHECK(ctr("madvise_flushes") == mf + (unsigned long)track);
	CHECK(ctr("msync_bytes_flushed") == b0 + (track ? PG : 0));
	CHECK(d[9 * PG] == 'm');
	CHECK(munmap(d, NPG * PG) == 0);
	unsigned long t = ctr("maps_dirty_tracked");
	char *e = mmap(NULL, NPG * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			0);
	FATAL(e != MAP_FAILED);
	CHECK(ctr("maps_dirty_tracked") == t + 1);
	e[2 * PG] = 'y';
	CHECK(flushed_by(msync, e, NPG * PG, MS_SYNC) == PG);
	char c;
	CHECK(pread(fd, &c, 1, 2 * PG) == 1 && c == 'y');
	munmap(e, NPG * PG);
	adjacent_lost(fd);
	close(fd);
	unlink(path);
	return finish();
}
