/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * faults_lib.c -- linked only into libpmemshim-faults.so, the shim built
 * for shim_faults: the core's fault injection (core_fault_*), reachable
 * from the test program.  Never in libpmemshim.so.
 */
#include "pmem2_utils.h"

#define PUBLIC __attribute__((visibility("default")))

/*
 * pmemshim_test_fault -- the countdown-th call of kind fails (-1: off);
 * sticky: that one and every later one, until turned off
 */
PUBLIC void
pmemshim_test_fault(int kind, long countdown, int sticky)
{
	if (sticky)
		core_fault_set_sticky((enum core_fault_kind)kind, countdown);
	else
		core_fault_set((enum core_fault_kind)kind, countdown);
}

/* pmemshim_test_fault_left -- < 0 once the fault fired (or when off) */
PUBLIC long
pmemshim_test_fault_left(int kind)
{
	return core_fault_get((enum core_fault_kind)kind);
}
