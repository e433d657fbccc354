/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_rename.c -- a mapped file renamed over another (how tdb and others
 * replace a database) keeps being served; the replaced file's inode, once
 * reused, is classified afresh; a file moved out of the (emulated) DAX
 * directory is not DAX for new mappings.
 */
#include "shim_test.h"

#define PG 4096

int
main(void)
{
	const char *dax = shim_test_init();
	const char *plain = plain_dir();
	char a[512], b[512], out[512];
	int fa = make_file(dax, "a.tmp", 4 * PG, 'a', a);
	int fb = make_file(dax, "b.db", 4 * PG, 'b', b);
	char *ma = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fa,
			0);
	char *mb = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fb,
			0);
	FATAL(ma != MAP_FAILED && mb != MAP_FAILED);
	CHECK(Gran(ma) >= 0 && Gran(mb) >= 0);
	FATAL(rename(a, b) == 0);	/* a replaces b */
	ma[10] = 'R';
	CHECK(msync(ma, 4 * PG, MS_SYNC) == 0);
	mb[10] = 'S';			/* the old b, now unlinked */
	CHECK(msync(mb, 4 * PG, MS_SYNC) == 0);
	int fn = open(b, O_RDWR);
	FATAL(fn >= 0);
	char c;
	CHECK(pread(fn, &c, 1, 10) == 1 && c == 'R');
	char *mn = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fn,
			0);
	FATAL(mn != MAP_FAILED && Gran(mn) >= 0 && mn[10] == 'R');
	munmap(mn, 4 * PG);

	/*
	 * moved out of the DAX directory: new mappings are not DAX.  Only
	 * emulated DAX has a directory to leave: a real DAX file cannot be
	 * renamed onto another file system (EXDEV).
	 */
	if (Real_dax) {
		printf("real DAX: no move out of the DAX directory\n");
		snprintf(out, sizeof(out), "%s", b);
	} else {
		snprintf(out, sizeof(out), "%s/moved", plain);
		FATAL(rename(b, out) == 0);
		char *mo = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
				MAP_SHARED, fn, 0);
		FATAL(mo != MAP_FAILED);
		CHECK(Gran(mo) == -1);
		munmap(mo, 4 * PG);
	}
	CHECK(Gran(ma) >= 0);	/* the existing mapping is unchanged */
	munmap(ma, 4 * PG);
	munmap(mb, 4 * PG);
	close(fa);
	close(fb);
	close(fn);
	unlink(out);
	rmdir(plain);
	return finish();
}
