/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dirty.c -- which pages of an emulated-DAX mapping were written since
 * they were last flushed.
 *
 * mincore(2) cannot tell: on tmpfs every page of the file is resident, so
 * a program that msyncs its whole mapping after changing two pages would
 * pay a cache-line walk of the whole file.  Linux 6.7 added what is
 * needed: a userfaultfd registered in write-protect mode with
 * UFFD_FEATURE_WP_ASYNC makes the kernel resolve the first store to a
 * protected page by itself (a minor fault, no message, no handler
 * thread), and the PAGEMAP_SCAN ioctl on /proc/self/pagemap lists the
 * pages written since and write-protects them again in the same walk.
 *
 * Safety rests on one direction only: a store always clears the page's
 * protection, so a written page is always listed.  Everything that loses
 * the tracking of a mapping -- fork (the child's mappings have no
 * userfaultfd), mremap (the kernel drops the registration unless asked
 * otherwise), the program closing our descriptor -- makes PAGEMAP_SCAN
 * fail with EPERM (PM_SCAN_CHECK_WPASYNC), and the caller then falls back,
 * for good, to flushing every page this process has mapped in it
 * (shim_dirty_present: not every page of the file, as mincore says on
 * tmpfs).  Kernels without the feature refuse UFFDIO_API or the ioctl, and
 * mincore is used from the start.
 *
 * Only emulated DAX on page-cache files is tracked.  Real fsdax/devdax
 * are flushed where this process has pages mapped (shim_dirty_present, or
 * mincore, which there means the same): in
 * Linux 6.12 (tried in the QEMU guest) a load after UFFDIO_WRITEPROTECT
 * faults forever on fsdax and raises SIGBUS on device DAX, and stores to a
 * huge-page DAX mapping re-protected by PAGEMAP_SCAN are never reported
 * written.  classify.c never calls a file the kernel maps as DAX emulated.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "os.h"
#include "registry.h"
#include "shim.h"

/* uapi of Linux 6.7 (Debian 12's headers predate it) */
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef PAGEMAP_SCAN
struct page_region {
	uint64_t start;
	uint64_t end;
	uint64_t categories;
};

struct pm_scan_arg {
	uint64_t size;
	uint64_t flags;
	uint64_t start;
	uint64_t end;
	uint64_t walk_end;
	uint64_t vec;
	uint64_t vec_len;
	uint64_t max_pages;
	uint64_t category_inverted;
	uint64_t category_mask;
	uint64_t category_anyof_mask;
	uint64_t return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#endif

/* well above the descriptors a program numbers itself (select's 1024) */
#define DIRTY_FD_MIN 1000

static pthread_mutex_t Lock FORK_DATA = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int Uffd = -1;	/* for registering; one per process */
static struct stat Uffd_st;	/* its identity */
static _Atomic int Pagemap = -1;	/* /proc/self/pagemap */
static _Atomic dev_t Pagemap_dev;	/* its identity (msync reads it */
static _Atomic ino_t Pagemap_ino;	/* without the lock) */
static bool Broken;		/* the kernel lacks the feature: stop trying */
/*
 * Mine -- a MADV_WIPEONFORK page, nonzero while Uffd and Pagemap belong to
 * this process.  Any fork (even a raw clone that runs no atfork handler)
 * gives the child a zero page: the inherited descriptors describe the
 * parent's address space and must never be used there.  One load, where
 * getpid() would be a system call on every msync.
 */
static _Atomic char *_Atomic Mine;

/* high_fd -- fd moved to DIRTY_FD_MIN or above (close-on-exec) */
static int
high_fd(int fd)
{
	int h = fcntl(fd, F_DUPFD_CLOEXEC, DIRTY_FD_MIN);
	if (h < 0)
		return fd;
	close(fd);
	return h;
}

/*
 * Suspect -- set (for good, until open_fds opens new ones) once the program
 * closed or replaced one of our descriptor numbers, or may have: the
 * close, dup2, dup3, close_range and closefrom hooks (hooks_fd.c) set it
 * before the kernel call and again after it (a number published by
 * open_fds while the call ran is seen by the second look).  While it is
 * clear, no libc call has touched our numbers since we opened them and
 * they are still ours: same_file skips its fstat, ~0.4 us of a ~2 us
 * msync.  Between a call's kernel part and its second look another thread
 * may still use the number, as it could between an fstat and the ioctl
 * before.  A raw syscall(SYS_close) cannot be seen; it is the one way
 * left for a number to change hands unnoticed.
 */
static _Atomic bool Suspect = true;

/* is_file -- fd is open on (dev, ino), asked of the kernel */
static bool
is_file(int fd, dev_t dev, ino_t ino)
{
	struct stat st;
	return fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

/*
 * same_file -- fd is still the file we opened (was: its fstat then): a
 * program may close every descriptor (daemons do) and the number be
 * reused, and our ioctls must never reach somebody else's file.  Each
 * userfaultfd has an inode of its own, as has each /proc file.
 */
static bool
same_file(int fd, dev_t dev, ino_t ino)
{
	if (fd < 0)
		return false;
	if (!atomic_load_explicit(&Suspect, memory_order_acquire))
		return true;
	return is_file(fd, dev, ino);
}

void
shim_dirty_fds_closing(unsigned lo, unsigned hi)
{
	int p = atomic_load_explicit(&Pagemap, memory_order_relaxed);
	int u = atomic_load_explicit(&Uffd, memory_order_relaxed);
	if ((p >= 0 && (unsigned)p >= lo && (unsigned)p <= hi) ||
			(u >= 0 && (unsigned)u >= lo && (unsigned)u <= hi))
		atomic_store(&Suspect, true);
}

/* uffd_ours -- Uffd was opened by this process and is still open (Lock) */
static bool
uffd_ours(void)
{
	_Atomic char *mine = atomic_load(&Mine);
	return mine && *mine && same_file(Uffd, Uffd_st.st_dev,
			Uffd_st.st_ino);
}

/* unregister -- end the tracking of [start, start + len) (Lock held) */
static void
unregister(uintptr_t start, size_t len)
{
	struct uffdio_range r = { start, len };
	if (ioctl(Uffd, UFFDIO_UNREGISTER, &r))
		shim_log(1, "UFFDIO_UNREGISTER: %s", strerror(errno));
}

static int pagemap_fd(void);

/* new_uffd -- a write-protect userfaultfd with WP_ASYNC, or -1 (Lock held) */
static int
new_uffd(void)
{
	int u = (int)syscall(SYS_userfaultfd,
			O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (u < 0) {
		shim_log(2, "dirty tracking off: userfaultfd: %s",
			strerror(errno));
		Broken = errno == ENOSYS || errno == EPERM || errno == EINVAL;
		return -1;
	}
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_ASYNC |
			UFFD_FEATURE_WP_UNPOPULATED |
			UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
	};
	if (ioctl(u, UFFDIO_API, &api)) {
		shim_log(2, "dirty tracking off: this kernel has no "
			"asynchronous write protection (Linux 6.7+)");
		close(u);
		Broken = true;
		return -1;
	}
	return high_fd(u);
}

/* open_fds -- make sure Uffd and Pagemap are this process's (Lock held) */
static bool
open_fds(void)
{
	if (!Mine) {
		void *p = os_mmap(NULL, (size_t)Pagesize, PROT_READ |
				PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return false;
		if (madvise(p, (size_t)Pagesize, MADV_WIPEONFORK)) {
			os_munmap(p, (size_t)Pagesize);
			Broken = true;
			return false;
		}
		Mine = p;
	}
	bool keep_uffd = uffd_ours();
	if (keep_uffd && pagemap_fd() >= 0)
		return true;
	/* first use, a fork's child, or the program closed one of ours: a
	 * number no longer ours may be the program's by now, so it is
	 * neither used nor closed (the mappings registered with a closed
	 * userfaultfd fail their scan and fall back).  A
	 * userfaultfd still ours is kept, with its mappings' tracking. */
	*Mine = 0;
	atomic_store(&Pagemap, -1);
	if (!keep_uffd)
		Uffd = -1;
	/* the numbers opened below are new: no hook can have been given
	 * them yet (one that saw an old number set Suspect before it) */
	atomic_store(&Suspect, false);
	int u = keep_uffd ? Uffd : new_uffd();
	if (u < 0)
		return false;
	int p = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (p < 0) {
		shim_log(2, "dirty tracking off: /proc/self/pagemap: %s",
			strerror(errno));
		if (!keep_uffd)
			close(u);
		return false;
	}
	p = high_fd(p);
	struct stat pst;
	if ((!keep_uffd && fstat(u, &Uffd_st)) || fstat(p, &pst)) {
		if (!keep_uffd)
			close(u);
		close(p);
		return false;
	}
	Uffd = u;
	atomic_store(&Pagemap_dev, pst.st_dev);
	atomic_store(&Pagemap_ino, pst.st_ino);
	atomic_store(&Pagemap, p);
	*Mine = 1;
	/* the kept number was checked before Suspect was cleared; a close of
	 * it in another thread may have finished since (its hook's second
	 * look came before our clear): check once more, Suspect clear */
	if (keep_uffd && !is_file(u, Uffd_st.st_dev, Uffd_st.st_ino))
		atomic_store(&Suspect, true);
	return true;
}

/*
 * FAST_SCAN_MIN: see shim_dirty_flush.  Up front, a mapping is protected
 * only where that fast scan may walk it later: more than FAST_SCAN_MIN
 * inside the file.  Below it every scan asks for written pages that are
 * mapped, which needs no protection of pages never touched: a page the
 * program faults in after registration (a load too) is seen written once,
 * flushed and protected by the next scan.  Protecting up front costs a
 * marker in every page-table entry up to the file's end, a slower first
 * fault on each page (the marker's path) and munmap clearing them all
 * again: a 512 KiB mapping made, touched once and unmapped took 22-25 us
 * with it, 17-18 without (the same without the shim: 6.4), and tdbtool,
 * which maps its file afresh in every transaction, 8% less time.  The
 * price is one flush of each page a mapping only ever read.
 */
#define FAST_SCAN_MIN (2u << 20)

bool
shim_dirty_track(void *addr, size_t len, size_t *protect)
{
	if (!shim_cfg.track_dirty)
		return false;
	if (*protect <= FAST_SCAN_MIN)
		*protect = 0;
	pthread_mutex_lock(&Lock);
	bool ok = false;
	if (!Broken && open_fds()) {
		struct uffdio_register reg = {
			.range = { (uintptr_t)addr, len },
			.mode = UFFDIO_REGISTER_MODE_WP,
		};
		struct uffdio_writeprotect wp = {
			.range = { (uintptr_t)addr, *protect },
			.mode = UFFDIO_WRITEPROTECT_MODE_WP,
		};
		ok = ioctl(Uffd, UFFDIO_REGISTER, &reg) == 0;
		if (ok && *protect && ioctl(Uffd, UFFDIO_WRITEPROTECT, &wp)) {
			unregister((uintptr_t)addr, len);
			ok = false;
		}
		if (!ok)
			shim_log(2, "dirty tracking off for %p: %s", addr,
				strerror(errno));
	}
	pthread_mutex_unlock(&Lock);
	return ok;
}

/* pagemap_fd -- this process's /proc/self/pagemap, or -1 */
static int
pagemap_fd(void)
{
	_Atomic char *mine = atomic_load(&Mine);
	int fd = mine && *mine ? atomic_load(&Pagemap) : -1;
	return same_file(fd, atomic_load(&Pagemap_dev),
			atomic_load(&Pagemap_ino)) ? fd : -1;
}

/*
 * A mapping whose flushes keep finding most of their range written (a
 * bulk writer msyncing what it just wrote) gains nothing from tracking and
 * pays a fault per page per cycle: after DENSE_RUNS such flushes in a row
 * of at least DENSE_MIN_PAGES, its registration is dropped and it is
 * flushed by mincore from then on (always enough).
 */
#define DENSE_MIN_PAGES 16
#define DENSE_RUNS 4

void
shim_dirty_note(struct shim_map *s, uintptr_t lo, uintptr_t hi, size_t written)
{
	if (hi - lo < DENSE_MIN_PAGES * (size_t)Pagesize ||
			written * 2 < hi - lo) {
		atomic_store_explicit(&s->dense, 0, memory_order_relaxed);
		return;
	}
	if (atomic_fetch_add_explicit(&s->dense, 1, memory_order_relaxed) + 1
			< DENSE_RUNS)
		return;
	/* mincore from now on, not shim_dirty_present: the pages are mostly
	 * written, so mapped, and asking PAGEMAP_SCAN for mapped pages costs
	 * ~16 ns a page against mincore's ~6 (msync of 256 written pages:
	 * 23 us instead of 20.5) */
	if (!atomic_exchange(&s->tracked, false))
		return;		/* another thread did it */
	struct registry_entry e;
	pthread_mutex_lock(&Lock);
	if (registry_lookup((void *)lo, &e) && uffd_ours())
		unregister(e.start, e.end - e.start);
	pthread_mutex_unlock(&Lock);
	shim_count(ST_MAPS_UNTRACKED, 1);
	shim_log(2, "written-page tracking dropped for %p: its flushes find "
		"most of the range written", (void *)lo);
}

/*
 * flush_mapped -- flush the pages of [a, b) that mincore calls resident.
 * On tmpfs that is "the file has the page": never past end-of-file.  A
 * page mincore refuses (a racing munmap) is not flushed: a CLWB there
 * would fault.
 */
static size_t
flush_mapped(struct shim_map *s, uintptr_t a, uintptr_t b)
{
	unsigned char vec[256];
	size_t done = 0;
	while (a < b) {
		size_t np = (b - a) / Pagesize;
		if (np > sizeof(vec))
			np = sizeof(vec);
		if (mincore((void *)a, np * Pagesize, vec) == 0)
			done += shim_flush_runs(s, a, vec, np);
		a += np * Pagesize;
	}
	return done;
}

/*
 * shim_dirty_flush -- "written" alone is not enough to flush a page: the
 * scan also calls written every page whose entry the kernel removed while
 * it was unprotected (its protection went with the entry).  ftruncate --
 * by this process or any other -- does that to the pages past the new
 * end, and a CLWB there raises SIGBUS (it did: shim_eof "shrink before any
 * msync").  So only written pages that are still there are flushed:
 *  - up to FAST_SCAN_MIN, the scan itself is asked for written pages that
 *    are mapped, or on their way back (a migration entry: the CLWB waits
 *    for it);
 *  - above it, that question takes the kernel off its fast path for
 *    "written only" (about 1.5 ns a page: 170 us instead of 70 us for a
 *    256 MiB mapping), so the scan asks only for written pages, and
 *    mincore then filters what it found (one call per MiB found written).
 *    That path counts every entry without protection as written -- an
 *    empty one too -- and protects it: it is used only below fast_end,
 *    where the mapping was protected when it was made.  Past it (past the
 *    file's end then: a 64 MiB map of a 0.5 MiB file) it would fill the
 *    page tables of the whole range with protection markers at the first
 *    msync, 1.2 ms for 64 MiB, where the other question costs nothing:
 *    there are no page tables to walk.
 * A page dropped with its stores still in the CPU cache would be missed:
 * madvise (DONTNEED, PAGEOUT) flushes tracked mappings before the kernel
 * call; truncate and hole punching leave nothing to keep.
 */
/*
 * The questions a scan asks: pages written since their last flush
 * (WRITTEN: that are still there; WRITTEN_FAST: all of them, mincore
 * then filters, see above), or pages this process has mapped (MAPPED:
 * shim_dirty_present).
 */
enum question { WRITTEN, WRITTEN_FAST, MAPPED };

/* scan -- flush what q finds in [*stop, hi); reprotect: WRITTEN's */
static int
scan(int fd, struct shim_map *s, uintptr_t hi, enum question q,
		bool reprotect, size_t *flushed, uintptr_t *stop)
{
	struct page_region vec[64];
	while (*stop < hi) {
		struct pm_scan_arg a = {
			.size = sizeof(a),
			.start = *stop,
			.end = hi,
			.vec = (uintptr_t)vec,
			.vec_len = 64,
			.category_anyof_mask = q == WRITTEN_FAST ? 0 :
				PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		};
		if (q == MAPPED) {
			a.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED |
				PAGE_IS_WRITTEN;
		} else {
			a.flags = PM_SCAN_CHECK_WPASYNC |
				(reprotect ? PM_SCAN_WP_MATCHING : 0);
			a.category_mask = PAGE_IS_WRITTEN;
			a.return_mask = PAGE_IS_WRITTEN;
		}
		long n = ioctl(fd, PAGEMAP_SCAN, &a);
		if (q != MAPPED)
			shim_count(ST_SCANS, 1);
		if (n < 0)
			return -1;
		/* written pages listed are protected again: flush them now,
		 * the next store to one of them lists it again */
		for (long i = 0; i < n; i++) {
			uintptr_t b = (uintptr_t)vec[i].start;
			uintptr_t e = (uintptr_t)vec[i].end;
			if (q == WRITTEN_FAST) {
				*flushed += flush_mapped(s, b, e);
			} else if (q == MAPPED && !(vec[i].categories &
					(PAGE_IS_PRESENT | PAGE_IS_WRITTEN))) {
				continue;	/* a protection marker */
			} else {
				shim_flush_guarded(s->m.flush_fn, b, e - b);
				*flushed += e - b;
			}
		}
		if (a.walk_end <= *stop)
			return -1;	/* no progress: never loop */
		*stop = a.walk_end;
	}
	return 0;
}

int
shim_dirty_flush(struct shim_map *s, uintptr_t lo, uintptr_t hi,
		bool reprotect, uintptr_t fast_end, size_t *flushed,
		uintptr_t *stop)
{
	*stop = lo;
	int fd = pagemap_fd();
	if (fd < 0)
		return -1;
	uintptr_t mid = fast_end < lo ? lo : fast_end > hi ? hi : fast_end;
	if (mid - lo <= FAST_SCAN_MIN)
		return scan(fd, s, hi, WRITTEN, reprotect, flushed, stop);
	if (scan(fd, s, mid, WRITTEN_FAST, reprotect, flushed, stop))
		return -1;
	return scan(fd, s, hi, WRITTEN, reprotect, flushed, stop);
}

bool
shim_dirty_untrack(struct shim_map *s)
{
	if (!atomic_exchange(&s->tracked, false))
		return false;
	atomic_store(&s->present_only, true);
	return true;
}

/*
 * shim_dirty_present -- a mapping that lost its tracking is flushed where
 * this process has it mapped, not where mincore says the file has pages
 * (on tmpfs: all of them, a walk of the whole file).  A store through the
 * mapping leaves its page mapped here until the kernel takes the entry
 * away: madvise, which the shim flushes first; truncation, which keeps
 * nothing; or the kernel moving the data itself (swap, a huge-page
 * collapse), which leaves no store of ours in the cache to flush.  A
 * fork's child starts with no entries at all for a shared file mapping
 * (the kernel does not copy them), so its exit flushes only what it
 * touched, not its parent's whole file (9 ms per fork and exit for 64 MiB
 * through mincore).  A migration entry is a written page on its way back
 * (the CLWB waits for it); an entry with the protection marker alone is
 * not a page.
 */
int
shim_dirty_present(struct shim_map *s, uintptr_t lo, uintptr_t hi,
		size_t *flushed, uintptr_t *stop)
{
	*stop = lo;
	int fd = pagemap_fd();
	if (fd < 0) {
		/* a fork's child: its own /proc/self/pagemap */
		pthread_mutex_lock(&Lock);
		bool ok = !Broken && open_fds();
		pthread_mutex_unlock(&Lock);
		if (!ok || (fd = pagemap_fd()) < 0)
			return -1;
	}
	return scan(fd, s, hi, MAPPED, false, flushed, stop);
}

bool
shim_dirty_intact(uintptr_t lo, uintptr_t hi)
{
	int fd = pagemap_fd();
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.flags = PM_SCAN_CHECK_WPASYNC,
		.start = lo,
		.end = hi,
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};
	return fd >= 0 && ioctl(fd, PAGEMAP_SCAN, &a) >= 0;
}

/* release_one -- end the tracking of one shim mapping (both locks held) */
static int
release_one(void *ctx, const struct registry_entry *e)
{
	struct shim_map *s = shim_map_of(e);
	if (!s || !shim_dirty_untrack(s))
		return 0;
	if (uffd_ours())
		unregister(e->start, e->end - e->start);
	shim_count(ST_MAPS_UNTRACKED, 1);
	shim_log(2, "written-page tracking dropped for %p: %s",
		(void *)e->start, (const char *)ctx);
	return 0;
}

void
shim_dirty_release(uintptr_t lo, uintptr_t hi, const char *why)
{
	registry_lock();	/* the order of mmap -> shim_dirty_track */
	pthread_mutex_lock(&Lock);
	(void) shim_each_overlap(lo, hi, release_one, (void *)why);
	pthread_mutex_unlock(&Lock);
	registry_unlock();
}

void
shim_dirty_atfork(int phase)
{
	shim_mutex_atfork(&Lock, phase);
}
