/* SPDX-License-Identifier: BSD-3-Clause */
/* diff_probe.h -- probe whether memory is mapped, readable and writable */

#ifndef DIFF_PROBE_H
#define DIFF_PROBE_H 1

#include <setjmp.h>
#include <signal.h>

#include "diff_common.h"

static sigjmp_buf probe_jmp;
static volatile sig_atomic_t probe_armed;

static void
probe_handler(int sig)
{
	if (probe_armed)
		siglongjmp(probe_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* probe_init -- install SIGSEGV/SIGBUS handlers for the probes */
static inline void
probe_init(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = probe_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* is_mapped -- whether every page of [p, p+len) is mapped at all */
static inline int
is_mapped(const void *p, size_t len)
{
	static unsigned char vec[4096];
	const size_t pg = 4096;
	uintptr_t a = (uintptr_t)p & ~((uintptr_t)pg - 1);
	uintptr_t end = (uintptr_t)p + (len ? len : 1);
	if (end < a)	/* wraps: cannot be mapped */
		return 0;
	size_t n = (end - a + pg - 1) / pg;
	if (n <= sizeof(vec))
		return mincore((void *)a, n * pg, vec) == 0;
	/* huge ranges: the first and the last pages only */
	return mincore((void *)a, 64 * pg, vec) == 0 &&
		mincore((void *)(a + (n - 64) * pg), 64 * pg, vec) == 0;
}

/* can_read -- read one byte at p without dying */
static inline int
can_read(const void *p)
{
	volatile int ok = 0;
	probe_armed = 1;
	if (sigsetjmp(probe_jmp, 1) == 0) {
		volatile unsigned char c = *(volatile const unsigned char *)p;
		(void)c;
		ok = 1;
	}
	probe_armed = 0;
	return ok;
}

/* can_write -- write one byte at p (its own value back) without dying */
static inline int
can_write(void *p)
{
	volatile int ok = 0;
	volatile unsigned char *v = p;
	volatile unsigned char c = 0;
	if (can_read(p))
		c = *v;
	probe_armed = 1;
	if (sigsetjmp(probe_jmp, 1) == 0) {
		*v = c;
		ok = 1;
	}
	probe_armed = 0;
	return ok;
}

/* ACCESS -- append mapped/readable/writable state of one address */
static inline void
ACCESS(const char *name, void *p, size_t len)
{
	if (!is_mapped(p, len)) {
		L(" %s=unmapped", name);
		return;
	}
	L(" %s=%s%s", name, can_read(p) ? "r" : "-",
		can_write(p) ? "w" : "-");
}

#endif /* DIFF_PROBE_H */
