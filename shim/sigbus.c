/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sigbus.c -- a flush that meets a page another process cut off skips it,
 * instead of killing the program.
 *
 * A CLWB of a page past the file's end raises SIGBUS.  Within the process
 * the truncation lock (hooks_msync.c) keeps truncates out of flushes; a
 * truncate by another process cannot be kept out, and can land between a
 * flush's scan of the pages and its CLWBs.  Without the shim that shrink
 * costs this process nothing until it touches the pages cut off (the
 * kernel's msync does not touch them).  So each flush run is guarded
 * (shim_flush_guarded): a SIGBUS at an address inside the run ends the
 * run there.  Nothing is lost: the pages from there on lie past the
 * file's end at the fault, so what was stored to them went with the
 * truncate (in the kernel's msync too).
 *
 * The handler is installed at the first flush, so a process that never
 * flushes never has it, and then stays.  The program keeps its own view:
 * while ours is in the kernel, sigaction, signal (bsd_signal, ssignal)
 * and sysv_signal for SIGBUS record the program's action and answer with
 * it, and a SIGBUS that is not a guarded flush's goes to that action, as
 * the kernel would have delivered it (ras_sig_deliver; SIG_DFL puts the
 * default back and lets the fault repeat, so the process dies, with its
 * core, where it would have).  A replacement we do not see (a raw
 * rt_sigaction, sigset, sigvec) is noticed at the next hooked call, and
 * ours then steps aside for good: flushes are unguarded, as before.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ras.h"
#include "shim.h"

#define PUBLIC __attribute__((visibility("default")))

enum { UNARMED, ARMED, GONE };
static _Atomic int State = UNARMED;
static pthread_mutex_t Lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction Program;	/* the program's action, while ARMED */

struct guard {
	sigjmp_buf env;
	uintptr_t lo, hi;
};
static __thread struct guard *volatile Guard
	__attribute__((tls_model("initial-exec")));

typedef int (*sigaction_fn)(int, const struct sigaction *,
	struct sigaction *);

static void *_Atomic Real_sigaction, *_Atomic Real_signal, *_Atomic Real_sysv;

/*
 * next -- libc's name, looked up here rather than by shim_next: a
 * sanitizer preloaded first calls sigaction from its own start-up, before
 * it can run instrumented code (this file is built without TSan's)
 */
static void *
next(void *_Atomic *cache, const char *name)
{
	void *f = atomic_load(cache);
	if (!f) {
		f = dlvsym(RTLD_NEXT, name, "GLIBC_2.2.5");
		atomic_store(cache, f);
	}
	return f;
}

/* real -- libc's sigaction */
static int
real(int sig, const struct sigaction *act, struct sigaction *old)
{
	sigaction_fn f = (sigaction_fn)next(&Real_sigaction, "sigaction");
	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	return f(sig, act, old);
}

static void on_sigbus(int sig, siginfo_t *info, void *uctx);

/*
 * ours -- our action, with the program's SA_ONSTACK and SA_RESTART, so a
 * SIGBUS it handles runs on the stack it chose and a system call it
 * interrupts restarts as it asked
 */
static struct sigaction
ours(const struct sigaction *program)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER |
		(program->sa_flags & (SA_ONSTACK | SA_RESTART));
	sigemptyset(&sa.sa_mask);
	return sa;
}

static int
is_ours(const struct sigaction *sa)
{
	return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == on_sigbus;
}

/* arm -- install ours over the program's action, once */
static void
arm(void)
{
	pthread_mutex_lock(&Lock);
	if (atomic_load(&State) == UNARMED) {
		struct sigaction sa;
		bool ok = real(SIGBUS, NULL, &Program) == 0 &&
			(sa = ours(&Program), real(SIGBUS, &sa, NULL) == 0);
		if (!ok)
			shim_log(2, "cannot install the SIGBUS handler (%s): "
				"flushes are not guarded against a truncate "
				"by another process", strerror(errno));
		atomic_store(&State, ok ? ARMED : GONE);
	}
	pthread_mutex_unlock(&Lock);
}

/* on_sigbus -- a guarded flush's fault ends its run; the rest: chain */
static void
on_sigbus(int sig, siginfo_t *info, void *uctx)
{
	struct guard *g = Guard;
	if (g && ras_sig_in(info, g->lo, g->hi)) {
		Guard = NULL;
		siglongjmp(g->env, 1);
	}
	if (ras_sig_deliver(&Program, sig, info, uctx))
		atomic_store(&State, GONE);	/* the default put back */
}

/* state -- ARMED or GONE: ours is installed at the first flush */
static int
state(void)
{
	if (atomic_load_explicit(&State, memory_order_relaxed) == UNARMED)
		arm();
	return atomic_load_explicit(&State, memory_order_relaxed);
}

/*
 * run -- fn(a, len) under the guard (whatever state() says: GONE leaves
 * a SIGBUS to the program's action): true if it ran to its end, false if
 * a SIGBUS in [a, a + len) cut it short
 */
static bool
run(void (*fn)(const void *, size_t), uintptr_t a, size_t len)
{
	struct guard g, *outer = Guard;	/* a flush in a signal handler */
	g.lo = a;
	g.hi = a + len;
	/* the handler ran with the kernel's PKRU, and siglongjmp does not
	 * put the flush's back */
	const bool pk = atomic_load_explicit(&shim_pkeys_used,
		memory_order_acquire);
	volatile uint32_t pkru = pk ? shim_rdpkru() : 0;
	if (sigsetjmp(g.env, 0)) {
		if (pk)
			shim_wrpkru(pkru);
		Guard = outer;
		return false;
	}
	Guard = &g;
	fn((const void *)a, len);
	Guard = outer;
	return true;
}

void
shim_flush_guarded(void (*fn)(const void *, size_t), uintptr_t a,
		size_t len)
{
	(void) state();
	if (run(fn, a, len))
		return;
	shim_count(ST_FLUSH_CUT, 1);
	shim_log(2, "a flush met a page at %p..%p cut off by another "
		"process's truncate: the rest of the run skipped",
		(void *)a, (void *)(a + len));
}

int
shim_flush_unasked(void (*fn)(const void *, size_t), uintptr_t a,
		size_t len)
{
	if (state() != ARMED)
		return -1;
	return run(fn, a, len) ? 1 : 0;
}

/*
 * set -- the hooks' common part: sigaction(SIGBUS, act, old) as the
 * program sees it while ours is in the kernel.  -2: not ours (any more),
 * the caller goes to the real call.
 */
static int
set(const struct sigaction *act, struct sigaction *old)
{
	if (atomic_load(&State) != ARMED)
		return -2;
	pthread_mutex_lock(&Lock);
	struct sigaction cur;
	if (atomic_load(&State) != ARMED || real(SIGBUS, NULL, &cur) ||
			!is_ours(&cur)) {
		if (atomic_load(&State) == ARMED) {
			shim_log(2, "the SIGBUS handler was replaced behind "
				"the shim's back: flushes are not guarded");
			atomic_store(&State, GONE);
		}
		pthread_mutex_unlock(&Lock);
		return -2;
	}
	if (old)
		*old = Program;
	if (act) {
		struct sigaction sa = ours(act);
		if ((sa.sa_flags ^ cur.sa_flags) & (SA_ONSTACK | SA_RESTART))
			(void) real(SIGBUS, &sa, NULL);
		Program = *act;
	}
	pthread_mutex_unlock(&Lock);
	return 0;
}

PUBLIC int
sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (sig == SIGBUS && set(act, old) == 0)
		return 0;
	return real(sig, act, old);
}

/*
 * handler -- signal()'s forms (flags: the action they install): SIGBUS
 * while ours is in the kernel as above, anything else to libc's own
 */
static sighandler_t
handler(int sig, sighandler_t h, int flags, const char *name)
{
	if (sig == SIGBUS && h != SIG_ERR) {
		struct sigaction sa, old;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = h;
		sa.sa_flags = flags;
		sigemptyset(&sa.sa_mask);
		if (!(flags & SA_NODEFER))
			sigaddset(&sa.sa_mask, sig);
		if (set(&sa, &old) == 0)
			return old.sa_handler;
	}
	sighandler_t (*f)(int, sighandler_t) = (sighandler_t (*)(int,
		sighandler_t))next(flags & SA_RESETHAND ? &Real_sysv :
		&Real_signal, name);
	if (!f) {
		errno = ENOSYS;
		return SIG_ERR;
	}
	return f(sig, h);
}

/* signal, bsd_signal, ssignal: BSD semantics (glibc's signal) */
PUBLIC sighandler_t
signal(int sig, sighandler_t h)
{
	return handler(sig, h, SA_RESTART, "signal");
}

PUBLIC sighandler_t
bsd_signal(int sig, sighandler_t h)
{
	return handler(sig, h, SA_RESTART, "signal");
}

PUBLIC sighandler_t
ssignal(int sig, sighandler_t h)
{
	return handler(sig, h, SA_RESTART, "signal");
}

/* sysv_signal: one-shot, not blocked in its handler */
PUBLIC sighandler_t
sysv_signal(int sig, sighandler_t h)
{
	return handler(sig, h, SA_RESETHAND | SA_NODEFER, "sysv_signal");
}

PUBLIC sighandler_t
__sysv_signal(int sig, sighandler_t h)
{
	return handler(sig, h, SA_RESETHAND | SA_NODEFER, "sysv_signal");
}

/* shim_sigbus_init -- from the constructor: never dlsym in a handler */
void
shim_sigbus_init(void)
{
	(void) next(&Real_sigaction, "sigaction");
	(void) next(&Real_signal, "signal");
	(void) next(&Real_sysv, "sysv_signal");
}

/* shim_sigbus_atfork_child -- the child has one thread: a free lock */
void
shim_sigbus_atfork_child(void)
{
	pthread_mutex_init(&Lock, NULL);
}
