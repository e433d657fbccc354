/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hooks_exec.c -- the exec family, _exit and _Exit: the process image
 * ends with no munmap and no destructor.  The shim's mappings go with it,
 * and a store made through one of them that no msync flushed would never
 * be flushed by anyone (hooks_msync.c, "Ranges that leave the shim").  So
 * every shim mapping is flushed first, as at exit (shim_flush_at_end,
 * which leaves a vfork child alone: its parent keeps the mappings).  An
 * exec that then fails has flushed for nothing, which is harmless (and
 * is what the test sees: shim_durable).
 *
 * Each entry point is hooked: libc's own execvp, execl and the rest reach
 * execve by an internal call the shim cannot see, as exit() reaches
 * _exit (after the destructor's flush) and quick_exit() does (after the
 * handler init.c registers).  posix_spawn, system and popen exec in a
 * child of their own (the same internal call), and leave the caller's
 * mappings in place.  _exit may be called from a signal handler:
 * the flush takes the registry lock, which a hook of the same thread
 * never holds there (shim_in_hook makes it skip), and another thread
 * releases.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

#define PUBLIC __attribute__((visibility("default")))

static void
before_exec(void)
{
	shim_flush_at_end(ST_EXEC_FLUSH, "exec");
}

PUBLIC void
_exit(int status)
{
	shim_flush_at_end(ST_EXIT_FLUSH, "_exit");
	for (;;)
		(void) syscall(SYS_exit_group, status);
}

PUBLIC void _Exit(int status) __attribute__((alias("_exit")));

PUBLIC int
execve(const char *path, char *const argv[], char *const envp[])
{
	before_exec();
	return (int)syscall(SYS_execve, path, argv, envp);
}

PUBLIC int
execveat(int dirfd, const char *path, char *const argv[],
		char *const envp[], int flags)
{
	before_exec();
	return (int)syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

typedef int (*exec_fn)(const char *, char *const [], char *const []);
typedef int (*execv_fn)(const char *, char *const []);

/* forward -- libc's name@version, after the flush; ENOSYS if none */
static void *
forward(void *_Atomic *cache, const char *name, const char *version)
{
	before_exec();
	void *f = shim_next(cache, name, version);
	if (!f)
		errno = ENOSYS;
	return f;
}

PUBLIC int
fexecve(int fd, char *const argv[], char *const envp[])
{
	static void *_Atomic real;
	int (*f)(int, char *const [], char *const []) = (int (*)(int,
		char *const [], char *const []))forward(&real, "fexecve",
		"GLIBC_2.2.5");
	return f ? f(fd, argv, envp) : -1;
}

PUBLIC int
execv(const char *path, char *const argv[])
{
	static void *_Atomic real;
	execv_fn f = (execv_fn)forward(&real, "execv", "GLIBC_2.2.5");
	return f ? f(path, argv) : -1;
}

PUBLIC int
execvp(const char *file, char *const argv[])
{
	static void *_Atomic real;
	execv_fn f = (execv_fn)forward(&real, "execvp", "GLIBC_2.2.5");
	return f ? f(file, argv) : -1;
}

PUBLIC int
execvpe(const char *file, char *const argv[], char *const envp[])
{
	static void *_Atomic real;
	exec_fn f = (exec_fn)forward(&real, "execvpe", "GLIBC_2.11");
	return f ? f(file, argv, envp) : -1;
}

/*
 * The list forms: the arguments counted, then copied into an array on the
 * stack (as libc does), and handed to the vector form's hook.  list_len:
 * how many come before the NULL that ends the list (arg0 included; none
 * when arg0 is that NULL).  list_fill: argv[0 .. n] from them, and *ap
 * left past the NULL (execle's environment comes next).
 */
static size_t
list_len(const char *arg0, va_list *ap)
{
	size_t n = 0;
	if (arg0)
		for (n = 1; va_arg(*ap, const char *); n++)
			;
	return n;
}

static void
list_fill(const char **argv, size_t n, const char *arg0, va_list *ap)
{
	argv[0] = arg0;
	for (size_t i = 1; i < n; i++)
		argv[i] = va_arg(*ap, const char *);
	argv[n] = NULL;
	if (n)
		(void) va_arg(*ap, const char *);
}

enum list_form { FORM_PATH, FORM_SEARCH, FORM_ENV };	/* l, lp, le */

/* list_exec -- the list form's arguments, from *ap, to its vector form */
static int
list_exec(enum list_form form, const char *path, const char *arg0,
		va_list *ap)
{
	va_list count;
	va_copy(count, *ap);
	size_t n = list_len(arg0, &count);
	va_end(count);
	const char *argv[n + 1];
	list_fill(argv, n, arg0, ap);
	char *const *v = (char *const *)argv;
	switch (form) {
	case FORM_PATH:
		return execv(path, v);
	case FORM_SEARCH:
		return execvp(path, v);
	default:
		return execve(path, v, va_arg(*ap, char *const *));
	}
}

PUBLIC int
execl(const char *path, const char *arg0, ...)
{
	va_list ap;
	va_start(ap, arg0);
	int r = list_exec(FORM_PATH, path, arg0, &ap);
	va_end(ap);
	return r;
}

PUBLIC int
execlp(const char *file, const char *arg0, ...)
{
	va_list ap;
	va_start(ap, arg0);
	int r = list_exec(FORM_SEARCH, file, arg0, &ap);
	va_end(ap);
	return r;
}

PUBLIC int
execle(const char *path, const char *arg0, ...)
{
	va_list ap;
	va_start(ap, arg0);
	int r = list_exec(FORM_ENV, path, arg0, &ap);
	va_end(ap);
	return r;
}
