/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dax_mcsafe_pkru.c -- the machine-check-safe copy (core/mcsafe.c, behind
 * pmem2_source_pread_mcsafe/pwrite_mcsafe on device DAX) keeps the
 * thread's protection-key rights: the kernel runs its SIGBUS handler with
 * the default PKRU, and the handler leaves by siglongjmp, which does not
 * put the thread's value back.  Needs protection keys: the guest's CPU
 * has them, this project's host may not.  The fault is a read past the
 * end of a memfd (the same SIGBUS as a poisoned page: the guard cannot
 * tell them apart), so no bad block is needed.
 */
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dax_util.h"
#include "libpmem2.h"
#include "os.h"
#include "ras.h"

int
main(void)
{
	int key = (int)syscall(SYS_pkey_alloc, 0, 0);
	if (key < 0)
		dax_skip("no protection keys: %s", strerror(errno));
	/* a value of the program's own: its key writable by nobody, and
	 * key 0's write-disable bit set too (no store below needs it) */
	CHECK(pkey_set(key, PKEY_DISABLE_WRITE) == 0, "pkey_set");
	uint32_t mine = os_rdpkru();
	long pg = sysconf(_SC_PAGESIZE);
	int fd = memfd_create("mcsafe-pkru", MFD_CLOEXEC);
	CHECK(fd >= 0 && ftruncate(fd, pg) == 0, "memfd of one page");
	char *m = mmap(NULL, 2 * (size_t)pg, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED, "mmap of two pages");
	if (m == MAP_FAILED)
		return dax_result();
	char buf[64];
	CHECK(mcsafe_copy(buf, m, sizeof(buf), 0) == 0, "a copy inside");
	CHECK(os_rdpkru() == mine, "PKRU after a clean copy: %#x, was %#x",
		os_rdpkru(), mine);
	int r = mcsafe_copy(buf, m + pg, sizeof(buf), 0);
	uint32_t after = os_rdpkru();
	CHECK(r == PMEM2_E_IO_FAIL, "the copy past the end fails: %d", r);
	CHECK(after == mine, "PKRU after the fault: %#x, was %#x", after,
		mine);
	printf("@show PKRU %#x before the faulting copy, %#x after it (its "
		"SIGBUS handler ran with the kernel's default)\n", mine,
		after);
	return dax_result();
}
