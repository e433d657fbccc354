/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hooks_fd.c -- close, dup2, dup3, close_range, closefrom: the calls that
 * can take a descriptor number away from whoever opened it; and ioctl, for
 * the program's own userfaultfd.
 *
 * The shim keeps two descriptors of its own (dirty.c: a userfaultfd and
 * /proc/self/pagemap, numbered 1000 and up) and must never send an ioctl
 * to a file that took over one of their numbers.  These hooks tell it,
 * before the kernel call, when the program closes or replaces one of
 * them; until then the numbers are known to be ours without an fstat per
 * msync.  Every hook compares before the libc call and again after it:
 * a number the shim took while the call was under way (dirty.c opening
 * new descriptors in another thread) is caught by the second look.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/userfaultfd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "registry.h"
#include "shim.h"

#define PUBLIC __attribute__((visibility("default")))

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* libc's own entry points: the same code as close/dup2, other names */
extern int __close(int fd);
extern int __dup2(int fd, int fd2);

/* one -- note that number fd is being (or was) closed or replaced */
static inline void
one(int fd)
{
	if (fd >= 0)
		shim_dirty_fds_closing((unsigned)fd, (unsigned)fd);
}

PUBLIC int
close(int fd)
{
	one(fd);
	int r = __close(fd);
	one(fd);
	return r;
}

PUBLIC int
dup2(int fd, int fd2)
{
	if (fd2 == fd)
		return __dup2(fd, fd2);
	one(fd2);
	int r = __dup2(fd, fd2);
	one(fd2);
	return r;
}

PUBLIC int
dup3(int fd, int fd2, int flags)
{
	one(fd2);
	int r = (int)syscall(SYS_dup3, fd, fd2, flags);	/* as libc's */
	one(fd2);
	return r;
}

PUBLIC int
close_range(unsigned lo, unsigned hi, int flags)
{
	static void *_Atomic real;
	typedef int (*range_fn)(unsigned, unsigned, int);
	range_fn f = (range_fn)shim_next(&real, "close_range", "GLIBC_2.34");
	bool closes = !((unsigned)flags & CLOSE_RANGE_CLOEXEC);
	if (closes)
		shim_dirty_fds_closing(lo, hi);
	int r = f ? f(lo, hi, flags) :
		(int)syscall(SYS_close_range, lo, hi, flags);
	if (closes)
		shim_dirty_fds_closing(lo, hi);
	return r;
}

PUBLIC void
closefrom(int lo)
{
	static void *_Atomic real;
	void (*f)(int) = (void (*)(int))shim_next(&real, "closefrom",
			"GLIBC_2.34");
	unsigned from = lo < 0 ? 0 : (unsigned)lo;
	shim_dirty_fds_closing(from, UINT_MAX);
	if (f)
		f(lo);
	else
		(void) syscall(SYS_close_range, from, UINT_MAX, 0);
	shim_dirty_fds_closing(from, UINT_MAX);
}

/*
 * read_own -- copy n bytes at p of this process, or false where the
 * program's pointer is bad (the kernel's answer to that is EFAULT, which
 * it then gives; a plain load would have been SIGSEGV)
 */
static bool
read_own(void *dst, const void *p, size_t n)
{
	int saved = errno;
	struct iovec l = { dst, n }, r = { (void *)p, n };
	bool ok = syscall(SYS_process_vm_readv, getpid(), &l, 1UL, &r, 1UL,
			0UL) == (long)n;
	errno = saved;
	return ok;
}

/*
 * ioctl -- a range belongs to one userfaultfd at most, and the shim's
 * (written-page tracking, dirty.c) holds every tracked mapping: a
 * program registering its own there would get EBUSY, where without the
 * shim it succeeds (QEMU's postcopy migration and CRIU's lazy pages do
 * this to shared memory).  So UFFDIO_REGISTER over a tracked mapping first
 * takes the shim's registration off it.  Every other request costs one
 * compare; the call itself is the system call, as libc's ioctl is.
 */
PUBLIC int
ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	struct uffdio_range r;
	if (req == UFFDIO_REGISTER && !shim_in_hook &&
			atomic_load_explicit(&shim_nmaps,
				memory_order_relaxed) > 0 &&
			read_own(&r, arg, sizeof(r))) {
		uint64_t lo = r.start, len = r.len;
		if (len && lo + len > lo && registry_may_overlap((void *)lo,
				len)) {
			int saved = errno;
			shim_in_hook = 1;
			shim_dirty_release(lo, lo + len, "the program "
				"registers its own userfaultfd there");
			shim_in_hook = 0;
			errno = saved;
		}
	}
	return (int)syscall(SYS_ioctl, fd, req, arg);
}
