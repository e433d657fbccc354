/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hooks_fd.c -- close, dup2, dup3, close_range, closefrom: the calls that
 * can take a descriptor number away from whoever opened it.
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
#include <stdbool.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

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
