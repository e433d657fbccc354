/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * os.h -- the kernel calls the core makes for address-space management.
 *
 * They go straight to the kernel (syscall(2)) and never through libc's
 * mmap/munmap/mremap/msync: inside libpmemshim.so those names are our own
 * hooks, and calling them from the core would recurse.  Semantics are the
 * libc ones (MAP_FAILED / -1 and errno).  Every call passes through the
 * fault-injection check so tests can make each one fail in turn.
 */
#ifndef PMEM2_OS_H
#define PMEM2_OS_H

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pmem2_utils.h"

#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/*
 * os_rdpkru / os_wrpkru -- this thread's protection-key rights register.
 * Only where the CPU has protection keys and the OS enabled them (CPUID
 * OSPKE; the shim: once a pkey_mprotect succeeded): else SIGILL.
 */
static inline uint32_t
os_rdpkru(void)
{
	uint32_t v;
	__asm__ volatile("rdpkru" : "=a"(v) : "c"(0) : "rdx");
	return v;
}

static inline void
os_wrpkru(uint32_t v)
{
	__asm__ volatile("wrpkru" : : "a"(v), "c"(0), "d"(0) : "memory");
}

static inline void *
os_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (core_fault_hit(CORE_FAULT_MMAP)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static inline int
os_munmap(void *addr, size_t len)
{
	if (core_fault_hit(CORE_FAULT_MUNMAP)) {
		errno = ENOMEM;
		return -1;
	}
	return (int)syscall(SYS_munmap, addr, len);
}

static inline int
os_msync(void *addr, size_t len, int flags)
{
	return (int)syscall(SYS_msync, addr, len, flags);
}

/* counted as an mmap for fault injection: it makes a mapping */
static inline void *
os_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	if (core_fault_hit(CORE_FAULT_MMAP)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return (void *)syscall(SYS_mremap, old, old_len, new_len, flags,
			new_addr);
}

/*
 * os_placeholder -- an inaccessible, unreserved anonymous range: what fills
 * the free parts of a VM reservation.  fixed: replace whatever is at addr.
 */
static inline void *
os_placeholder(void *addr, size_t len, int fixed)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	if (fixed)
		flags |= MAP_FIXED;
	else if (addr)
		flags |= MAP_FIXED_NOREPLACE;
	return os_mmap(addr, len, PROT_NONE, flags, -1, 0);
}

#endif /* PMEM2_OS_H */
