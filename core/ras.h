/* SPDX-License-Identifier: BSD-3-Clause */
/* ras.h -- internals shared by the RAS files (deep flush, mcsafe I/O). */
#ifndef PMEM2_RAS_H
#define PMEM2_RAS_H

#include <signal.h>
#include <stddef.h>

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
 * ras_sig_call -- from a handler of ours, run the program's handler act
 * (not SIG_DFL/SIG_IGN) for sig as the kernel would have: with its
 * sa_mask blocked, and sig too unless SA_NODEFER; siginfo and context
 * passed on to an SA_SIGINFO handler.  It may not come back (siglongjmp).
 */
void ras_sig_call(const struct sigaction *act, int sig, siginfo_t *info,
	void *uctx);

#endif /* PMEM2_RAS_H */
