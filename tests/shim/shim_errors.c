/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_errors.c -- libc's contract kept by every hook: MAP_FAILED/-1 and
 * the kernel's errno for bad arguments, errno untouched on success.
 */
#include "shim_test.h"

int
main(void)
{
	const char *dax = shim_test_init();
	size_t len = 8 * 4096;
	char path[512];
	int fd = make_file(dax, "errors", len, 'e', path);

	/* mmap: bad fd, bad offset, zero length, read-only fd + PROT_WRITE */
	errno = 0;
	CHECK(mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, 12345, 0) ==
		MAP_FAILED && errno == EBADF);
	CHECK(mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 100) ==
		MAP_FAILED && errno == EINVAL);
	CHECK(mmap(NULL, 0, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) ==
		MAP_FAILED && errno == EINVAL);
	int ro = open(path, O_RDONLY);
	FATAL(ro >= 0);
	CHECK(mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) ==
		MAP_FAILED && errno == EACCES);
	unsigned long taken = ctr("maps_taken_over");

	char *d = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(d != MAP_FAILED);
	CHECK(ctr("maps_taken_over") == taken + 1);

	/* msync: unaligned address, bad flags, MS_SYNC|MS_ASYNC */
	CHECK(msync(d + 1, 100, MS_SYNC) == -1 && errno == EINVAL);
	CHECK(msync(d, len, 0x100) == -1 && errno == EINVAL);
	CHECK(msync(d, len, MS_SYNC | MS_ASYNC) == -1 && errno == EINVAL);
	/* a range running past the mapping into nothing: ENOMEM, like the
	 * kernel, and the mapped part is still served */
	char *hole = mmap(d + len, 4096, PROT_NONE, MAP_PRIVATE |
			MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (hole == d + len) {
		munmap(hole, 4096);
		unsigned long mixed = ctr("msync_mixed");
		CHECK(msync(d, len + 4096, MS_SYNC) == -1 && errno == ENOMEM);
		CHECK(ctr("msync_mixed") == mixed + 1);
	}
	/* errno is preserved on success */
	errno = 4242;
	CHECK(msync(d, len, MS_SYNC) == 0 && errno == 4242);
	d[0] = 1;
	errno = 4243;
	CHECK(munmap(d + 4096, 4096) == 0 && errno == 4243);
	/* munmap with an unaligned address: EINVAL, mapping still there */
	CHECK(munmap(d + 1, 4096) == -1 && errno == EINVAL);
	CHECK(Gran(d) >= 0);
	/* mremap with bad flags: EINVAL, the registry unchanged */
	CHECK(mremap(d, 4096, 8192, 0x1000) == MAP_FAILED && errno == EINVAL);
	CHECK(Gran(d) >= 0);
	/* mremap growing in place into a used range without MAYMOVE */
	CHECK(mremap(d, 4096, 3 * 4096, 0) == MAP_FAILED && errno == ENOMEM);
	CHECK(Gran(d) >= 0 && Gran(d + 2 * 4096) >= 0);
	/*
	 * mmap(MAP_FIXED) over the shim's mapping that the kernel refuses
	 * (bad fd, read-only fd with PROT_WRITE, unaligned offset): the old
	 * mapping is still there, and must still be the shim's -- on fsdax
	 * it is a MAP_SYNC mapping, whose stores the kernel's msync would
	 * never flush.  Over all of what is left after the page unmapped
	 * above (pages 2..7), and over one page in the middle (a split
	 * undone).
	 */
	char *rest = d + 2 * 4096;
	size_t rest_len = len - 2 * 4096;
	struct { char *at; size_t n; } over[] = { { rest, rest_len },
		{ d + 4 * 4096, 4096 } };
	for (int i = 0; i < 2; i++) {
		char *at = over[i].at;
		size_t n = over[i].n;
		int fl = MAP_SHARED | MAP_FIXED;
		CHECK(mmap(at, n, PROT_READ | PROT_WRITE, fl, 12345, 0) ==
			MAP_FAILED && errno == EBADF);
		CHECK(mmap(at, n, PROT_READ | PROT_WRITE, fl, ro, 0) ==
			MAP_FAILED && errno == EACCES);
		CHECK(mmap(at, n, PROT_READ | PROT_WRITE, fl, fd, 100) ==
			MAP_FAILED && errno == EINVAL);
		for (size_t pg = 0; pg < rest_len; pg += 4096)
			CHECK(Gran(rest + pg) >= 0);
		d[4 * 4096 + 7] = (char)('A' + i);
		unsigned long user = ctr("msync_user_space");
		unsigned long mixed = ctr("msync_mixed");
		CHECK(msync(rest, rest_len, MS_SYNC) == 0);
		CHECK(ctr("msync_user_space") == user + 1 &&
			ctr("msync_mixed") == mixed);
		char back = 0;
		CHECK(pread(fd, &back, 1, 4 * 4096 + 7) == 1 &&
			back == 'A' + i);
	}
	munmap(d, len);
	CHECK(Gran(d) == -1 && Gran(d + 2 * 4096) == -1);
	close(ro);
	close(fd);
	unlink(path);
	return finish();
}
