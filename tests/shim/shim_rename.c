/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_rename.c -- a mapped file renamed over another (how tdb and others
 * replace a database) keeps being served; the replaced file's inode, once
 * reused, is classified afresh; a file moved out of the (emulated) DAX
 * directory is not DAX for new mappings; the classification cache.
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include "shim_test.h"

#define PG 4096

/* nap -- past a coarse ctime tick (4 ms at HZ=250) */
static void
nap(void)
{
	struct timespec t = { 0, 20 * 1000 * 1000 };
	nanosleep(&t, NULL);
}

/* on_memfs -- is dir on tmpfs or ramfs? */
static bool
on_memfs(const char *dir)
{
	struct statfs f;
	FATAL(statfs(dir, &f) == 0);
	return (unsigned long)f.f_type == TMPFS_MAGIC ||
		(unsigned long)f.f_type == RAMFS_MAGIC;
}

/* new_gran -- the granularity a new 4-page mapping of fd gets (-1: not
 * taken over) */
static int
new_gran(int fd)
{
	char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			0);
	FATAL(m != MAP_FAILED);
	int g = Gran(m);
	FATAL(munmap(m, 4 * PG) == 0);
	return g;
}

/*
 * remap_written -- write fd's file (through a mapping and pwrite, which
 * both move its ctime), then map it again: returns how many
 * classifications that new mapping cost; *gran: its granularity.
 */
static unsigned long
remap_written(int fd, int *gran)
{
	struct stat a, b;
	FATAL(fstat(fd, &a) == 0);
	nap();
	char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			0);
	FATAL(m != MAP_FAILED);
	m[1] = 'w';
	FATAL(munmap(m, 4 * PG) == 0);
	FATAL(pwrite(fd, "p", 1, 2) == 1);
	FATAL(fstat(fd, &b) == 0);
	FATAL(a.st_ctim.tv_sec != b.st_ctim.tv_sec ||
		a.st_ctim.tv_nsec != b.st_ctim.tv_nsec);
	unsigned long n = ctr("files_classified");
	*gran = new_gran(fd);
	return ctr("files_classified") - n;
}

/*
 * reclassified -- how many classifications a mapping of fd's file costs
 * after a write: none where the file system reports birth times (an
 * inode is known by it), one where it reports none and the ctime must do
 * (every write moves ctime)
 */
static unsigned long
reclassified(int fd)
{
	struct statx x;
	FATAL(statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &x) == 0);
	return (x.stx_mask & STATX_BTIME) ? 0 : 1;
}

/*
 * cache -- the classification cache (classify.c) answers for a file that
 * was written since its last mmap, DAX or not; a file renamed into the
 * DAX directory is classified again, and is DAX.
 */
static void
cache(const char *dax, const char *plain)
{
	char p[512], in[512];
	int g;
	int fd = make_file(dax, "cached-dax", 4 * PG, 'c', p);
	CHECK(remap_written(fd, &g) == reclassified(fd) && g >= 0);
	close(fd);
	unlink(p);
	fd = make_file(plain, "cached", 4 * PG, 'c', p);
	CHECK(remap_written(fd, &g) == reclassified(fd) && g == -1);
	if (Real_dax) {		/* no rename across file systems */
		unlink(p);
	} else {
		nap();		/* the rename's ctime differs from mtime */
		snprintf(in, sizeof(in), "%s/cached", dax);
		FATAL(rename(p, in) == 0);
		unsigned long n = ctr("files_classified");
		CHECK(new_gran(fd) >= 0);
		CHECK(ctr("files_classified") == n + 1);
		unlink(in);
	}
	close(fd);
}

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
	 * moved out of the DAX directory.  Only emulated DAX has a directory
	 * to leave: a real DAX file cannot be renamed onto another file
	 * system (EXDEV).  On a disk file system new mappings are not DAX
	 * (the kernel's msync must write them back); on tmpfs or ramfs,
	 * where nothing is durable, the inode stays emulated DAX for its
	 * life, without being classified again (classify.c: cached).
	 */
	if (Real_dax) {
		printf("real DAX: no move out of the DAX directory\n");
		snprintf(out, sizeof(out), "%s", b);
	} else {
		snprintf(out, sizeof(out), "%s/moved", plain);
		bool mem = on_memfs(dax);
		printf("moved out of the DAX directory, on %s\n", mem ?
			"a memory file system" : "a disk file system");
		nap();
		FATAL(rename(b, out) == 0);
		unsigned long n = ctr("files_classified");
		int g = new_gran(fn);
		CHECK(mem ? g >= 0 && ctr("files_classified") == n : g == -1);
	}
	CHECK(Gran(ma) >= 0);	/* the existing mapping is unchanged */
	munmap(ma, 4 * PG);
	munmap(mb, 4 * PG);
	close(fa);
	close(fb);
	close(fn);
	unlink(out);
	cache(dax, plain);
	rmdir(plain);
	return finish();
}
