/* SPDX-License-Identifier: BSD-3-Clause */
/* classify.c -- is a file real DAX, emulated DAX or neither; cached. */
#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "shim.h"

/*
 * The class cache must never end the program: uthash's default on a
 * failed allocation is exit(-1).  Without memory a file is classified
 * again at its next mmap, uncached.
 */
static bool Hash_oom;	/* Lock */
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (Hash_oom = true)
#define uthash_malloc(sz) shim_alloc(sz)
#include <uthash.h>

#include "os.h"
#include "region.h"

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

struct cls_key {
	dev_t dev;
	ino_t ino;
};

struct cls_entry {
	struct cls_key key;
	struct timespec birth;	/* {0, 0}: the file system reports none */
	struct timespec ctime;	/* when it was last classified */
	enum shim_class cls;
	bool memfs;		/* emulated, on tmpfs or ramfs (cached) */
	UT_hash_handle hh;
};

enum pmem2_granularity shim_real_gran = PMEM2_GRANULARITY_INVALID;

/* The cache is only touched by mmap-family hooks, never by memcpy. */
static struct cls_entry *Cache;
static pthread_mutex_t Lock FORK_DATA = PTHREAD_MUTEX_INITIALIZER;

/*
 * probe_map_sync -- kernels older than 5.8 do not report STATX_ATTR_DAX;
 * there a one-page MAP_SHARED_VALIDATE|MAP_SYNC mapping is the proof.
 */
static bool
probe_map_sync(int fd)
{
	int prot = PROT_READ;
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && (fl & O_ACCMODE) == O_RDWR)
		prot |= PROT_WRITE;
	void *p = os_mmap(NULL, Pagesize, prot,
			MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
	if (p == MAP_FAILED)
		return false;
	os_munmap(p, Pagesize);
	return true;
}

/* is_real_dax -- devdax or fsdax according to the kernel. */
static bool
is_real_dax(int fd, const struct stat *st, const struct shim_ident *id)
{
	/* a character device first: its statx attributes describe the
	 * /dev node's inode, which says nothing about the device behind it */
	if (S_ISCHR(st->st_mode))
		return region_is_devdax(st->st_rdev) == 1;
	if (id->dax >= 0)
		return id->dax;
	return probe_map_sync(fd);
}

int
shim_fstat(int fd, struct stat *st, struct shim_ident *id)
{
	struct statx x;
	memset(id, 0, sizeof(*id));
	id->dax = -1;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_BTIME,
			&x) != 0 || (x.stx_mask & STATX_BASIC_STATS) !=
			STATX_BASIC_STATS)
		return fstat(fd, st);
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(x.stx_dev_major, x.stx_dev_minor);
	st->st_ino = x.stx_ino;
	st->st_mode = x.stx_mode;
	st->st_nlink = x.stx_nlink;
	st->st_uid = x.stx_uid;
	st->st_gid = x.stx_gid;
	st->st_rdev = makedev(x.stx_rdev_major, x.stx_rdev_minor);
	st->st_size = (off_t)x.stx_size;
	st->st_blksize = x.stx_blksize;
	st->st_blocks = (blkcnt_t)x.stx_blocks;
	st->st_atim.tv_sec = x.stx_atime.tv_sec;
	st->st_atim.tv_nsec = x.stx_atime.tv_nsec;
	st->st_mtim.tv_sec = x.stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = x.stx_mtime.tv_nsec;
	st->st_ctim.tv_sec = x.stx_ctime.tv_sec;
	st->st_ctim.tv_nsec = x.stx_ctime.tv_nsec;
	if (x.stx_mask & STATX_BTIME) {
		id->birth.tv_sec = x.stx_btime.tv_sec;
		id->birth.tv_nsec = x.stx_btime.tv_nsec;
	}
	/* only stx_attributes says whether this file is DAX: the mask has
	 * the bit on every file system, tmpfs too */
	if (x.stx_attributes_mask & STATX_ATTR_DAX)
		id->dax = (x.stx_attributes & STATX_ATTR_DAX) != 0;
	return 0;
}

/*
 * under_dax_path -- is the file (by its /proc/self/fd link, which follows
 * renames) inside one of the PMEMSHIM_DAX_PATHS directories?
 */
static bool
under_dax_path(int fd)
{
	if (!shim_cfg.npaths)
		return false;
	char link[64], path[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	for (size_t i = 0; i < shim_cfg.npaths; i++) {
		const char *d = shim_cfg.paths[i];
		size_t l = strlen(d);
		if (strncmp(path, d, l) == 0 &&
				(path[l] == '/' || (l == 1 && d[0] == '/')))
			return true;
	}
	return false;
}

/*
 * classify_uncached -- PMEMSHIM_DAX=off stops the search for DAX outside
 * PMEMSHIM_DAX_PATHS, not the kernel's word about a file inside them: a
 * listed file on real DAX is real DAX.  Taken as emulated, it would be
 * mapped without MAP_SYNC (its block allocations not durable at msync),
 * not flushed before truncate drops its page-table entries, and tracked
 * with userfaultfd write protection, which Linux 6.12 gets wrong on DAX:
 * the first load after protecting an fsdax mapping faults forever, device
 * DAX raises SIGBUS, and stores to a huge-page DAX mapping are not
 * reported written (seen in the QEMU guest; see dirty.c).
 */
static enum shim_class
classify_uncached(int fd, const struct stat *st, const struct shim_ident *id)
{
	if (shim_cfg.detect_real && is_real_dax(fd, st, id))
		return SHIM_REAL_DAX;
	if (S_ISREG(st->st_mode) && under_dax_path(fd))
		return !shim_cfg.detect_real && is_real_dax(fd, st, id) ?
			SHIM_REAL_DAX : SHIM_EMULATED_DAX;
	return SHIM_NOT_DAX;
}

/* on_memfs -- is fd's file on tmpfs or ramfs (nothing there is durable) */
static bool
on_memfs(int fd)
{
	struct statfs f;
	return fstatfs(fd, &f) == 0 && ((unsigned long)f.f_type ==
		TMPFS_MAGIC || (unsigned long)f.f_type == RAMFS_MAGIC);
}

static bool
ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/*
 * cached -- what the cache entry e may still say about the file (st, id),
 * or -1: classify it again.  *path: the answer stands only while the
 * file is under a DAX directory (the caller reads the path, outside the
 * lock), else it is SHIM_NOT_DAX.
 *
 * The same inode: same birth time where the file system reports one
 * (ext4, xfs, btrfs, tmpfs), else the same ctime, which every store
 * through a shared mapping changes (a write fault updates mtime and
 * ctime), so a file being written is classified afresh at each mmap.
 *
 * Then by class, each answer the cheap way that is still safe:
 *  - not DAX: kept while ctime is unchanged or equal to mtime (the last
 *    change of the inode was a write of data, which moves no file into a
 *    DAX directory); a wrong "not DAX" would only hand the file to the
 *    kernel, which is always durable.  Real DAX is read from this very
 *    statx, never from the cache;
 *  - real DAX: the statx says it again, where it reports the attribute
 *    (a device: its rdev is its identity);
 *  - emulated: on a disk file system, the path is read again every time:
 *    ctime ticks coarsely on older kernels, and a rename out of the DAX
 *    directory must not keep the file DAX (a wrong "emulated" would skip
 *    a real msync; with PMEMSHIM_DAX=off, real DAX too is taken only
 *    inside the directory).  On a memory file system (tmpfs, ramfs) the
 *    answer is kept for the life of the inode (its birth time): there the
 *    kernel's msync and fsync write nothing anywhere, so a file moved out
 *    and still served in user space loses nothing, and the readlink
 *    (3-4 us, most of the cost of a cached mmap) is saved.
 */
static int
cached(const struct cls_entry *e, const struct stat *st,
		const struct shim_ident *id, bool *path)
{
	*path = false;
	bool birth = id->birth.tv_sec || id->birth.tv_nsec;
	if (birth ? !ts_eq(e->birth, id->birth) : !ts_eq(e->ctime,
			st->st_ctim))
		return -1;
	bool real_now = shim_cfg.detect_real && id->dax == 1 &&
		S_ISREG(st->st_mode);
	switch (e->cls) {
	case SHIM_NOT_DAX:
		if (real_now || !(ts_eq(e->ctime, st->st_ctim) ||
				ts_eq(st->st_mtim, st->st_ctim)))
			return -1;
		return SHIM_NOT_DAX;
	case SHIM_REAL_DAX:
		/* before Linux 5.8 statx reports no DAX attribute (-1): the
		 * MAP_SYNC probe that found it is not made again */
		if (S_ISREG(st->st_mode) && id->dax == 0)
			return -1;
		*path = !shim_cfg.detect_real;
		return SHIM_REAL_DAX;
	case SHIM_EMULATED_DAX:
		if (real_now)
			return -1;
		*path = !(e->memfs && birth);
		return SHIM_EMULATED_DAX;
	}
	return -1;
}

enum shim_class
shim_classify(int fd, const struct stat *st, const struct shim_ident *id)
{
	struct cls_key key;
	memset(&key, 0, sizeof(key));
	key.dev = st->st_dev;
	key.ino = st->st_ino;
	struct cls_entry *e;
	pthread_mutex_lock(&Lock);
	HASH_FIND(hh, Cache, &key, sizeof(key), e);
	bool path;
	int hit = e ? cached(e, st, id, &path) : -1;
	if (hit >= 0) {
		pthread_mutex_unlock(&Lock);
		return path && !under_dax_path(fd) ? SHIM_NOT_DAX :
			(enum shim_class)hit;
	}
	enum shim_class c = classify_uncached(fd, st, id);
	shim_count(ST_CLASSIFIED, 1);
	if (!e) {
		e = shim_alloc(sizeof(*e));
		if (e) {
			memset(e, 0, sizeof(*e));
			e->key = key;
			HASH_ADD(hh, Cache, key, sizeof(key), e);
			if (Hash_oom) {
				Hash_oom = false;
				free(e);
				e = NULL;
			}
		}
	}
	if (e) {
		e->birth = id->birth;
		e->ctime = st->st_ctim;
		e->cls = c;
		e->memfs = c == SHIM_EMULATED_DAX && on_memfs(fd);
	}
	pthread_mutex_unlock(&Lock);
	shim_log(2, "file %lu:%lu is %s", (unsigned long)st->st_dev,
		(unsigned long)st->st_ino, c == SHIM_REAL_DAX ? "real DAX" :
		c == SHIM_EMULATED_DAX ? "emulated DAX" : "not DAX");
	return c;
}

void
shim_classify_atfork(int phase)
{
	shim_mutex_atfork(&Lock, phase);
}
