/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * early_lib.c -- a library of the program: its constructor runs BEFORE the
 * preloaded shim's, its destructor AFTER the shim's.  Both copy, map, msync
 * and unmap a DAX file through the hooks, in the test's DAX directory
 * (shim_test_dir: emulated or real DAX).
 */
#include "shim_test.h"

__attribute__((visibility("default"))) int early_result = -1;	/* 0: the constructor's work was right */

static int
work(const char *tag)
{
	int real;
	const char *d = shim_test_dir(&real);
	if (!d)
		return 1;
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", d, tag);
	mkdir_p(d);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, 8192))
		return 1;
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return 1;
	char buf[4096];
	volatile size_t n = sizeof(buf);
	for (int i = 0; i < 300; i++) {	/* hundreds of early memcpy */
		memset(buf, i, sizeof(buf));
		memcpy(m + (i % 2) * 4096, buf, n);
		memmove(buf + 1, buf, n - 1);
	}
	int ok = msync(m, 8192, MS_SYNC) == 0;
	char c = 0;
	ok = ok && pread(fd, &c, 1, 4096) == 1 && c == (char)299;
	ok = ok && munmap(m, 8192) == 0;
	close(fd);
	unlink(path);
	return ok ? 0 : 1;
}

__attribute__((constructor)) static void
early_ctor(void)
{
	early_result = work("early");
}

__attribute__((destructor)) static void
late_dtor(void)
{
	/* after the shim's destructor: a failure is reported by exit code */
	if (work("late"))
		_exit(3);
}
