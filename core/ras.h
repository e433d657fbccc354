/* SPDX-License-Identifier: BSD-3-Clause */
/* ras.h -- internals shared by the RAS files (deep flush, mcsafe I/O). */
#ifndef PMEM2_RAS_H
#define PMEM2_RAS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/*
 * mcsafe_copy -- memcpy(dst, src, len) that turns a SIGBUS at an address
 * inside the mapped side (dst if mapped_is_dst, else src) into
 * PMEM2_E_IO_FAIL; other faults go to the program's own SIGBUS action.
 * Returns 0, PMEM2_E_IO_FAIL or -errno (sigaction failed).
 */
int mcsafe_copy(void *dst, const void *src, size_t len, int mapped_is_dst);

/*
 * ras_cpu_flush -- write [addr, addr + len) back from every CPU cache and
 * fence, whatever the mapping's granularity (CLFLUSH: baseline x86-64;
 * slower than CLWB but RAS paths are rare).  What deep flush needs where
 * the mapping's own flush_fn is a no-op (BYTE).
 */
void ras_cpu_flush(const void *addr, size_t len);

/*
 * ras_sig_in -- a SIGBUS handler of ours: is this a fault (not a signal
 * sent) at an address in [lo, hi), the range it guards?
 */
static inline int
ras_sig_in(const siginfo_t *info, uintptr_t lo, uintptr_t hi)
{
	uintptr_t a = (uintptr_t)info->si_addr;
	return info->si_code > 0 && a >= lo && a < hi;
}

/*
 * ras_sig_deliver -- from a handler of ours, give sig to the program's
 * action *act as the kernel would have:
 * - a handler: with its sa_mask blocked, and sig too unless SA_NODEFER,
 *   siginfo and context passed on to an SA_SIGINFO one; *act is reset to
 *   SIG_DFL first if SA_RESETHAND.  It may not come back (siglongjmp);
 * - SIG_IGN and a signal sent: dropped;
 * - else (SIG_DFL; SIG_IGN and a fault, which the kernel does not let be
 *   ignored): the kernel's action becomes the default, past every hook
 *   (rt_sigaction itself), a fault repeats and a signal sent is raised
 *   again, so the process dies as it would have.  Returns 1: ours is no
 *   longer installed.
 * Returns 0 otherwise.
 */
int ras_sig_deliver(struct sigaction *act, int sig, siginfo_t *info,
	void *uctx);

#endif /* PMEM2_RAS_H */
