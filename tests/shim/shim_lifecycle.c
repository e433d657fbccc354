/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_lifecycle.c -- calls before the shim's constructor and after its
 * destructor (early_lib.so), the stats report with stderr closed and its
 * descriptor reused by a data file (must not be written into), and
 * PMEMSHIM_FILTER leaving a program alone.
 */
#include <sys/wait.h>

#include "shim_test.h"

extern int early_result;

int
main(int argc, char **argv)
{
	const char *dax = shim_test_init();
	char path[512];
	if (argc > 1 && strcmp(argv[1], "closed-stderr") == 0) {
		/* fd 2 closed, then reused by a data file */
		close(2);
		snprintf(path, sizeof(path), "%s/data-on-fd2", dax);
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd != 2 || write(fd, "DATA", 4) != 4)
			return 1;
		int m = make_file(dax, "x", 4096, 'x', NULL);
		char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				MAP_SHARED, m, 0);
		p[0] = 1;
		msync(p, 4096, MS_SYNC);
		exit(0);	/* the stats report runs now */
	}
	if (argc > 1 && strcmp(argv[1], "filtered") == 0) {
		int m = make_file(dax, "f", 4096, 'f', NULL);
		char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				MAP_SHARED, m, 0);
		return p != MAP_FAILED && Gran(p) == -1 ? 0 : 1;
	}

	CHECK(early_result == 0);
	CHECK(ctr("maps_taken_over") >= 1);	/* the early mapping */
	CHECK(ctr("msync_user_space") >= 1);

	/* stderr closed and reused: the report must not land in the file */
	CHECK(run_self(argv[0], "closed-stderr", "PMEMSHIM_STATS=1", NULL,
		NULL) == 0);
	snprintf(path, sizeof(path), "%s/data-on-fd2", dax);
	char buf[64] = { 0 };
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 4 &&
		memcmp(buf, "DATA", 4) == 0);
	close(fd);
	unlink(path);

	/* filter: a name that is not ours leaves the program alone */
	CHECK(run_self(argv[0], "filtered", "PMEMSHIM_FILTER=nosuchprog:other",
		NULL, NULL) == 0);
	/* ... and our own name takes it over (the "filtered" check fails) */
	CHECK(run_self(argv[0], "filtered", "PMEMSHIM_FILTER=x:shim_lifecycle",
		NULL, NULL) == 1);
	/*
	 * a bad value is reported and the default used, never a crash;
	 * PMEMSHIM_DAX=off keeps PMEMSHIM_DAX_PATHS (taken over) but turns
	 * real-DAX detection off (left alone)
	 */
	CHECK(run_self(argv[0], "filtered", "PMEMSHIM_GRANULARITY=bogus",
		"PMEMSHIM_DAX=off", NULL) == (Real_dax ? 0 : 1));
	return finish();
}
