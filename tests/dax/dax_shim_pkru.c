/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dax_shim_pkru.c -- the shim's flushes of a range with a protection key
 * (shim/shim.h: shim_pkru_open, shim_pkru_close), where protection keys
 * exist: the guest's CPU has them, this project's host may not.  A CLWB
 * is checked as a load, so the check here is a load: denied by the key,
 * allowed between open and close, denied again after; write-disable
 * bits are kept; a nested open changes nothing; nothing is done before a
 * key was ever set (shim_pkeys_used: RDPKRU would raise SIGILL on a CPU
 * without them).  Under QEMU's TCG a CLWB checks nothing, so the shim's
 * own test (tests/shim/shim_protect.c) can only count the flushes.
 */
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "dax_util.h"
#include "shim.h"

_Atomic bool shim_pkeys_used;

static sigjmp_buf Jump;

static void
on_segv(int sig)
{
	(void) sig;
	siglongjmp(Jump, 1);
}

/*
 * can_load -- a load from p does not fault.  The kernel runs a signal
 * handler with its default PKRU, which siglongjmp does not undo: the
 * value from before the load is put back.
 */
static bool
can_load(const volatile char *p)
{
	static volatile uint32_t pkru;
	pkru = shim_rdpkru();
	if (sigsetjmp(Jump, 1)) {
		shim_wrpkru(pkru);
		return false;
	}
	(void) *p;
	return true;
}

int
main(void)
{
	int key = (int)syscall(SYS_pkey_alloc, 0, 0);
	if (key < 0)
		dax_skip("no protection keys: %s", strerror(errno));
	struct sigaction sa = { .sa_handler = on_segv };
	CHECK(sigaction(SIGSEGV, &sa, NULL) == 0, "SIGSEGV handler");
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED, "mmap");
	if (p == MAP_FAILED)
		return dax_result();
	p[0] = 'k';
	CHECK(pkey_mprotect(p, (size_t)pg, PROT_READ | PROT_WRITE, key) == 0,
		"pkey_mprotect with key %d", key);
	int deny = PKEY_DISABLE_ACCESS | PKEY_DISABLE_WRITE;
	CHECK(pkey_set(key, deny) == 0, "key %d denied", key);
	CHECK(!can_load(p), "a load through the denied key faults");

	uint64_t c = shim_pkru_open();
	CHECK(c == 0 && !can_load(p), "no key set yet: PKRU left alone");
	shim_pkru_close(c);

	atomic_store(&shim_pkeys_used, true);
	c = shim_pkru_open();
	CHECK(c != 0 && can_load(p), "opened: the load is allowed");
	CHECK(pkey_get(key) == PKEY_DISABLE_WRITE,
		"opened for reads only: write-disable kept (%d)",
		pkey_get(key));
	uint64_t nested = shim_pkru_open();
	CHECK(nested == 0, "a nested open clears nothing");
	shim_pkru_close(nested);
	CHECK(can_load(p), "still open after the nested close");
	shim_pkru_close(c);
	CHECK(pkey_get(key) == deny, "closed: the program's rights back (%d)",
		pkey_get(key));
	CHECK(!can_load(p), "closed: the load faults again");

	CHECK(pkey_set(key, 0) == 0 && can_load(p) && p[0] == 'k',
		"key %d allowed again", key);
	CHECK(syscall(SYS_pkey_free, key) == 0, "pkey_free");
	return dax_result();
}
