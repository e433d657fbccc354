/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mcsafe.c -- pmem2_source_pread_mcsafe / pwrite_mcsafe: reads and writes
 * that report a poisoned line as PMEM2_E_IO_FAIL instead of dying.
 *
 * Regular files go through pread(2)/pwrite(2): on fsdax the kernel copies
 * with machine-check recovery and returns EIO.  Device DAX has no
 * read/write, so the bytes are copied through a mapping, and a SIGBUS in
 * the copy is caught:
 *
 * - Our handler is installed only while at least one thread is inside a
 *   guarded copy (a counter under a mutex), so the first thread saves the
 *   program's action and the last one restores it exactly -- unless the
 *   program installed another one meanwhile, which is then left alone.
 *   Installing per call, as PMDK does, is racy: two threads interleaving
 *   save/restore leave our handler in place for good and lose the
 *   program's.
 * - A fault is ours only when the faulting thread is inside a guarded copy
 *   (a thread-local pointer) and the address lies in the range it copies
 *   from or to.  Everything else -- other threads, the caller's own
 *   buffer -- goes to the saved action: its handler is called with its
 *   sa_mask blocked, SIG_DFL/SIG_IGN reset the action and let the fault
 *   repeat, so the process dies as it would have without us.  A thread
 *   that chains gives its guard up first, as the program's handler may
 *   siglongjmp away.  (The mutex is then taken in a signal handler: no
 *   thread ever holds it across a copy, so the wait is short.)
 * - fork: the mutex is held across it, so the child gets it free, and the
 *   child -- only the forking thread, which is in no guarded copy -- has
 *   no users: the other threads' copies are the parent's, so the
 *   program's action goes back there, as it would have at their end.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "flush.h"
#include "os.h"
#include "ras.h"
#include "region.h"
#include "source.h"

struct guard {
	sigjmp_buf env;
	uintptr_t lo, hi;	/* the mapped range being copied */
	volatile int left;	/* chain() already did guard_leave() */
};

static __thread struct guard *volatile Guard;

static pthread_mutex_t Lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned Users;
static struct sigaction Saved;	/* the program's action, while Users > 0 */
/* protection keys: the CPU has them, the OS enabled them; -1 not asked
 * yet (the first guard_enter asks, under Lock) */
static int Pkru = -1;

static void guard_leave(void);

/*
 * chain -- hand a fault that is not ours to the program's action.  A
 * thread inside a guarded copy gives up its guard first: the program's
 * handler may longjmp away and never come back to guard_leave().
 */
static void
chain(int sig, siginfo_t *info, void *uctx)
{
	struct sigaction prev = Saved;
	struct guard *g = Guard;
	if (g) {
		Guard = NULL;
		g->left = 1;
		guard_leave();
	}
	(void) ras_sig_deliver(&prev, sig, info, uctx);
}

int
ras_sig_deliver(struct sigaction *act, int sig, siginfo_t *info, void *uctx)
{
	if ((act->sa_flags & SA_SIGINFO) || (act->sa_handler != SIG_DFL &&
			act->sa_handler != SIG_IGN)) {
		const struct sigaction h = *act;
		if (h.sa_flags & SA_RESETHAND) {
			/* the kernel resets it before the handler runs */
			memset(act, 0, sizeof(*act));
			act->sa_handler = SIG_DFL;
		}
		sigset_t mask = h.sa_mask, old;
		if (!(h.sa_flags & SA_NODEFER))
			sigaddset(&mask, sig);
		pthread_sigmask(SIG_BLOCK, &mask, &old);
		if (h.sa_flags & SA_SIGINFO)
			h.sa_sigaction(sig, info, uctx);
		else
			h.sa_handler(sig);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return 0;
	}
	if (info->si_code <= 0 && act->sa_handler == SIG_IGN)
		return 0;	/* sent, and ignored */
	/* the kernel's struct: the handler, flags, restorer, the mask */
	const struct { void *h; unsigned long f; void *r; uint64_t m; } dfl =
		{ (void *)SIG_DFL, 0, NULL, 0 };
	(void) syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.m));
	if (info->si_code <= 0)	/* sent, not a fault: send it again */
		raise(sig);
	return 1;
}

/* on_sigbus -- ours: jump out of the copy; anything else: chain */
static void
on_sigbus(int sig, siginfo_t *info, void *uctx)
{
	struct guard *g = Guard;
	if (g && ras_sig_in(info, g->lo, g->hi)) {
		Guard = NULL;
		siglongjmp(g->env, 1);
	}
	chain(sig, info, uctx);
}

/* guard_enter / guard_leave -- install our handler for the first user,
 * restore the program's for the last */
static int
guard_enter(void)
{
	int ret = 0;
	pthread_mutex_lock(&Lock);
	if (Pkru < 0) {
		struct cpu_features f;
		cpu_detect(&f);
		Pkru = f.ospke;
	}
	if (Users == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigbus;
		sa.sa_flags = SA_SIGINFO | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGBUS, &sa, &Saved)) {
			int e = errno;
			ERR_ERRNO(e, "cannot install the SIGBUS handler");
			ret = -e;
		}
	}
	if (ret == 0)
		Users++;
	pthread_mutex_unlock(&Lock);
	return ret;
}

static void
guard_leave(void)
{
	pthread_mutex_lock(&Lock);
	if (--Users == 0) {
		struct sigaction cur;
		if (sigaction(SIGBUS, NULL, &cur) == 0 &&
				(cur.sa_flags & SA_SIGINFO) &&
				cur.sa_sigaction == on_sigbus)
			sigaction(SIGBUS, &Saved, NULL);
		else
			LOG(2, "the program replaced our SIGBUS handler during "
				"a guarded copy; its own is kept");
	}
	pthread_mutex_unlock(&Lock);
}

static void
atfork_prepare(void)
{
	pthread_mutex_lock(&Lock);
}

static void
atfork_parent(void)
{
	pthread_mutex_unlock(&Lock);
}

static void
atfork_child(void)
{
	pthread_mutex_init(&Lock, NULL);
	if (Users) {
		Users = 1;	/* guard_leave: the last user leaves */
		guard_leave();
	}
}

__attribute__((constructor)) static void
mcsafe_ctor(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/*
 * guarded -- the copy itself, with the jump target in its own frame.  The
 * kernel runs a signal handler with its default PKRU (every protection
 * key but 0 denied), and siglongjmp does not put the thread's back: it
 * is put back here, or a program using protection keys would lose its
 * own rights after one poisoned read.
 */
static __attribute__((noinline)) int
guarded(struct guard *g, void *dst, const void *src, size_t len)
{
	volatile uint32_t pkru = Pkru ? os_rdpkru() : 0;
	if (sigsetjmp(g->env, 1)) {	/* back from on_sigbus */
		if (Pkru)
			os_wrpkru(pkru);
		return PMEM2_E_IO_FAIL;
	}
	Guard = g;
	memcpy(dst, src, len);
	Guard = NULL;
	return 0;
}

int
mcsafe_copy(void *dst, const void *src, size_t len, int mapped_is_dst)
{
	struct guard g;
	uintptr_t m = (uintptr_t)(mapped_is_dst ? dst : src);
	g.lo = m;
	g.hi = m + len;
	g.left = 0;
	int ret = guard_enter();
	if (ret)
		return ret;
	ret = guarded(&g, dst, src, len);
	if (!g.left)
		guard_leave();
	if (ret)
		ERR("a machine check (SIGBUS) hit the copy at the %s: the "
			"range contains a bad block (poisoned memory)",
			mapped_is_dst ? "destination" : "source");
	return ret;
}

/* check -- the source type and [offset, offset + size) inside it */
static int
check(struct pmem2_source *src, size_t size, size_t offset)
{
	if (src->type != PMEM2_SOURCE_FD) {
		ERR("only sources made by pmem2_source_from_fd can be read or "
			"written this way, not anonymous ones");
		return PMEM2_E_SOURCE_TYPE_NOT_SUPPORTED;
	}
	size_t total;
	int ret = pmem2_source_size(src, &total);
	if (ret)
		return ret;
	/* unlike PMDK 1.12, an offset past the end is refused too */
	if (offset > total || size > total - offset) {
		ERR("%zu bytes at offset %zu go beyond the end of the source "
			"(%zu bytes)", size, offset, total);
		return PMEM2_E_LENGTH_OUT_OF_RANGE;
	}
	return 0;
}

/*
 * file_io -- pread/pwrite all of it (at least one call, so a zero-length
 * write on a read-only descriptor fails as the kernel says, like PMDK);
 * EIO -- poison met by the kernel's machine-check-safe copy on fsdax --
 * is PMEM2_E_IO_FAIL.
 */
static int
file_io(struct pmem2_source *src, void *buf, size_t size, size_t offset,
	int write)
{
	char *p = buf;
	do {
		ssize_t n = write
			? pwrite(src->value.fd, p, size, (off_t)offset)
			: pread(src->value.fd, p, size, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			if (e == EIO) {
				ERR("I/O error at offset %zu (%s): a bad block "
					"(poisoned memory) is likely", offset,
					write ? "pwrite" : "pread");
				return PMEM2_E_IO_FAIL;
			}
			ERR_ERRNO(e, "%s(%d, %zu bytes at %zu)",
				write ? "pwrite" : "pread", src->value.fd,
				size, offset);
			return -e;
		}
		if (n == 0 && size > 0) {
			ERR("the file ended at offset %zu during the %s: it "
				"shrank", offset, write ? "write" : "read");
			return PMEM2_E_LENGTH_OUT_OF_RANGE;
		}
		p += n;
		size -= (size_t)n;
		offset += (size_t)n;
	} while (size > 0);
	return 0;
}

/*
 * devdax_io -- map the aligned window around the range and copy under the
 * SIGBUS guard; a write is then flushed from the CPU caches (device DAX
 * has no msync), so it is durable when the call returns.
 */
static int
devdax_io(struct pmem2_source *src, void *buf, size_t size, size_t offset,
	int write)
{
	if (size == 0)
		return 0;
	size_t align;
	int ret = region_devdax_alignment(src, &align);
	if (ret)
		return ret;
	size_t start = ALIGN_DOWN(offset, align);
	size_t len = ALIGN_UP(offset + size, align) - start;
	int prot = PROT_READ | (write ? PROT_WRITE : 0);
	void *base = os_mmap(NULL, len, prot, MAP_SHARED, src->value.fd,
			(off_t)start);
	if (base == MAP_FAILED) {
		int e = errno;
		ERR_ERRNO(e, "cannot map %zu bytes of the device DAX at %zu",
			len, start);
		return -e;
	}
	char *at = (char *)base + (offset - start);
	ret = write ? mcsafe_copy(at, buf, size, 1)
		: mcsafe_copy(buf, at, size, 0);
	if (ret == 0 && write)
		ras_cpu_flush(at, size);
	os_munmap(base, len);
	return ret;
}

/* mcsafe_io -- the common body of pread_mcsafe and pwrite_mcsafe */
static int
mcsafe_io(struct pmem2_source *src, void *buf, size_t size, size_t offset,
	int write)
{
	core_init();
	errormsg_clear();
	int ret = check(src, size, offset);
	if (ret)
		return ret;
	if (src->value.ftype == PMEM2_FTYPE_DEVDAX)
		return devdax_io(src, buf, size, offset, write);
	return file_io(src, buf, size, offset, write);
}

PMEM2_API int
pmem2_source_pread_mcsafe(struct pmem2_source *src, void *buf, size_t size,
		size_t offset)
{
	return mcsafe_io(src, buf, size, offset, 0);
}

PMEM2_API int
pmem2_source_pwrite_mcsafe(struct pmem2_source *src, void *buf, size_t size,
		size_t offset)
{
	return mcsafe_io(src, buf, size, offset, 1);
}
