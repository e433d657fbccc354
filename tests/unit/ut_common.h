/* SPDX-License-Identifier: BSD-3-Clause */
/* ut_common.h -- helpers shared by the core's criterion suites. */
#ifndef UT_COMMON_H
#define UT_COMMON_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpmem2.h>

/*
 * ut_tmpfile -- a new file of the given size on tmpfs (PMEM2_TEST_DIR or
 * /dev/shm), already unlinked; returns an fd opened with flags.
 */
static inline int
ut_tmpfile(size_t size, int flags)
{
	const char *dir = getenv("PMEM2_TEST_DIR");
	char path[256];
	snprintf(path, sizeof(path), "%s/pmem2-ut-XXXXXX", dir ? dir : "/dev/shm");
	int fd = mkstemp(path);
	cr_assert(fd >= 0, "mkstemp %s", path);
	cr_assert(ftruncate(fd, (off_t)size) == 0);
	int fd2 = open(path, flags);
	cr_assert(fd2 >= 0);
	unlink(path);
	close(fd);
	return fd2;
}

/* ut_assert_err -- a call failed with code and left a message. */
#define ut_assert_err(call, code) do { \
	int ut_ret_ = (call); \
	cr_assert_eq(ut_ret_, (code), "%s returned %d, expected %d (%s)", \
		#call, ut_ret_, (code), pmem2_errormsg()); \
	cr_assert_neq(pmem2_errormsg()[0], '\0', "%s: empty errormsg", \
		#call); \
} while (0)

#define ut_assert_ok(call) do { \
	int ut_ret_ = (call); \
	cr_assert_eq(ut_ret_, 0, "%s returned %d: %s", #call, ut_ret_, \
		pmem2_errormsg()); \
} while (0)

/*
 * new_with_room -- a reservation of size bytes followed by at least room
 * free bytes, so that extending it cannot collide with a neighbour (the
 * kernel places mappings top-down, so the range just above a fresh
 * reservation is usually taken -- with PMDK's library as with ours).
 */
static inline struct pmem2_vm_reservation *
new_with_room(size_t size, size_t room)
{
	struct pmem2_vm_reservation *rsv;
	ut_assert_ok(pmem2_vm_reservation_new(&rsv, NULL, size + room));
	void *base = pmem2_vm_reservation_get_address(rsv);
	ut_assert_ok(pmem2_vm_reservation_delete(&rsv));
	ut_assert_ok(pmem2_vm_reservation_new(&rsv, base, size));
	return rsv;
}

#endif /* UT_COMMON_H */
