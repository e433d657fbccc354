/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_fork.c -- a child writes and msyncs through the inherited mapping
 * and leaves with _exit; the parent sees the data in the file, and both
 * keep a working registry.  A range given MADV_DONTFORK is out of the
 * child's registry, and only that range.
 */
#include <sys/wait.h>

#include "shim_test.h"

int
main(void)
{
	const char *dax = shim_test_init();
	size_t len = 16 * 4096;
	char path[512];
	int fd = make_file(dax, "fork", len, 0, path);
	char *d = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(d != MAP_FAILED && Gran(d) >= 0);
	for (int round = 0; round < 3; round++) {
		pid_t pid = fork();
		FATAL(pid >= 0);
		if (pid == 0) {
			unsigned long u = ctr("msync_user_space");
			volatile size_t n = 8192;
			char buf[8192];
			memset(buf, 'a' + round, sizeof(buf));
			memcpy(d + round * 8192, buf, n);
			int ok = msync(d, len, MS_SYNC) == 0 &&
				ctr("msync_user_space") == u + 1 &&
				Gran(d) >= 0;
			/* a mapping made in the child is the child's */
			char *e = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					MAP_SHARED, fd, 0);
			ok = ok && e != MAP_FAILED && Gran(e) >= 0 &&
				munmap(e, 4096) == 0 && Gran(e) == -1;
			_exit(ok ? 0 : 1);
		}
		int st;
		FATAL(waitpid(pid, &st, 0) == pid);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		char buf[8192];
		CHECK(pread(fd, buf, sizeof(buf), round * 8192) ==
			(ssize_t)sizeof(buf));
		CHECK(buf[0] == 'a' + round && buf[8191] == 'a' + round);
		CHECK(d[round * 8192] == 'a' + round);
	}
	CHECK(Gran(d) >= 0 && msync(d, len, MS_SYNC) == 0);

	/*
	 * MADV_DONTFORK: the child has no mapping there, and its registry
	 * must not say otherwise.  A regular file the child maps at that
	 * address must get the kernel's msync: it used to get a cache flush
	 * (the registry still listed the parent's DAX mapping), and its data
	 * never reached the disk.  The child drops that page only: the rest
	 * of the mapping is still its own to serve (on fsdax a MAP_SYNC
	 * mapping, whose stores the kernel's msync would never flush; it
	 * used to drop the whole mapping).  The parent keeps it all.
	 */
	/* an unaligned MADV_DONTFORK is refused by the kernel: it marks
	 * nothing, the child keeps the whole mapping */
	errno = 0;
	CHECK(madvise(d + 1, 4096, MADV_DONTFORK) == -1 && errno == EINVAL);
	pid_t kid = fork();
	FATAL(kid >= 0);
	if (kid == 0)
		_exit(Gran(d) >= 0 && Gran(d + 4096) >= 0 ? 0 : 1);
	int kst;
	FATAL(waitpid(kid, &kst, 0) == kid);
	CHECK(WIFEXITED(kst) && WEXITSTATUS(kst) == 0);

	char rpath[512];
	int rfd = make_file(plain_dir(), "fork-regular", len, 'r', rpath);
	CHECK(madvise(d + 4096, 4096, MADV_DONTFORK) == 0);
	pid_t pid = fork();
	FATAL(pid >= 0);
	if (pid == 0) {
		int ok = Gran(d) >= 0 && Gran(d + 4096) == -1 &&
			Gran(d + 2 * 4096) >= 0 && sync_unserved() == 0;
		unsigned long u = ctr("msync_user_space");
		char *r = mmap(d + 4096, 4096, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_FIXED_NOREPLACE, rfd, 0);
		int placed = r == d + 4096;
		if (placed) {
			r[0] = 'k';
			ok = ok && Gran(r) == -1 && msync(r, 4096, MS_SYNC) == 0;
		} else if (r != MAP_FAILED) {
			munmap(r, 4096);	/* valgrind: only a hint */
		}
		d[0] = 'q';
		d[2 * 4096] = 'Q';
		ok = ok && msync(d, 4096, MS_SYNC) == 0 &&
			msync(d + 2 * 4096, 4096, MS_SYNC) == 0 &&
			ctr("msync_user_space") == u + 2;
		_exit(!ok ? 1 : placed ? 0 : 2);
	}
	int st;
	FATAL(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && (WEXITSTATUS(st) == 0 ||
		WEXITSTATUS(st) == 2));
	CHECK(Gran(d) >= 0 && Gran(d + 4096) >= 0);
	char c;
	CHECK(pread(fd, &c, 1, 0) == 1 && c == 'q');
	CHECK(pread(fd, &c, 1, 2 * 4096) == 1 && c == 'Q');
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		CHECK(pread(rfd, &c, 1, 0) == 1 && c == 'k');
	else
		printf("MAP_FIXED_NOREPLACE not honoured here: the regular "
			"file was not placed over the dropped range\n");
	/* MADV_DOFORK over the whole mapping: children have it again */
	CHECK(madvise(d, len, MADV_DOFORK) == 0);
	pid = fork();
	FATAL(pid >= 0);
	if (pid == 0)
		_exit(Gran(d + 4096) >= 0 ? 0 : 1);
	FATAL(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(rfd);
	unlink(rpath);
	rmdir(plain_dir());
	munmap(d, len);
	close(fd);
	unlink(path);
	return finish();
}
