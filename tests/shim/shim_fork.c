/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_fork.c -- a child writes and msyncs through the inherited mapping
 * and leaves with _exit; the parent sees the data in the file, and both
 * keep a working registry.
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
	munmap(d, len);
	close(fd);
	unlink(path);
	return finish();
}
