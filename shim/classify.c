/* SPDX-License-Identifier: BSD-3-Clause */
/* classify.c -- is a file real DAX, emulated DAX or neither; cached. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
	struct timespec ctime;	/* a new inode with the same number differs */
	enum shim_class cls;
	UT_hash_handle hh;
};

enum pmem2_granularity shim_real_gran = PMEM2_GRANULARITY_INVALID;

/* The cache is only touched by mmap-family hooks, never by memcpy. */
static struct cls_entry *Cache;
static pthread_mutex_t Lock = PTHREAD_MUTEX_INITIALIZER;

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
is_real_dax(int fd, const struct stat *st)
{
	/* a character device first: its statx attributes describe the
	 * /dev node's inode, which says nothing about the device behind it */
	if (S_ISCHR(st->st_mode))
		return region_is_devdax(st->st_rdev) == 1;
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) == 0 &&
			(stx.stx_attributes_mask & STATX_ATTR_DAX))
		/* only stx_attributes says whether this file is DAX: the mask
		 * has the bit on every file system, tmpfs too */
		return (stx.stx_attributes & STATX_ATTR_DAX) != 0;
	return probe_map_sync(fd);
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
classify_uncached(int fd, const struct stat *st)
{
	if (shim_cfg.detect_real && is_real_dax(fd, st))
		return SHIM_REAL_DAX;
	if (S_ISREG(st->st_mode) && under_dax_path(fd))
		return !shim_cfg.detect_real && is_real_dax(fd, st) ?
			SHIM_REAL_DAX : SHIM_EMULATED_DAX;
	return SHIM_NOT_DAX;
}

enum shim_class
shim_classify(int fd, const struct stat *st)
{
	struct cls_key key;
	memset(&key, 0, sizeof(key));
	key.dev = st->st_dev;
	key.ino = st->st_ino;
	struct cls_entry *e;
	pthread_mutex_lock(&Lock);
	HASH_FIND(hh, Cache, &key, sizeof(key), e);
	if (e && e->ctime.tv_sec == st->st_ctim.tv_sec &&
			e->ctime.tv_nsec == st->st_ctim.tv_nsec) {
		enum shim_class c = e->cls;
		pthread_mutex_unlock(&Lock);
		/* ctime ticks coarsely: a rename out of the DAX directory in
		 * the same tick keeps it, so the path is checked again --
		 * a wrong "emulated" would skip a real msync (and with
		 * PMEMSHIM_DAX=off, real DAX is taken only inside it) */
		if ((c == SHIM_EMULATED_DAX || (c == SHIM_REAL_DAX &&
				!shim_cfg.detect_real)) && !under_dax_path(fd))
			c = SHIM_NOT_DAX;
		return c;
	}
	enum shim_class c = classify_uncached(fd, st);
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
		e->ctime = st->st_ctim;
		e->cls = c;
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
