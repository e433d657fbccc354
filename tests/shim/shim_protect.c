/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_protect.c -- mprotect and pkey_mprotect over a DAX mapping.  The
 * shim flushes with CLWB, which faults on a page without read access: a
 * range made inaccessible must no longer be flushed by the shim, so that
 * msync and fsync of it go to the kernel (which succeeds) instead of
 * raising SIGSEGV in the program.  Giving access back serves it again
 * (on fsdax the kernel's msync would not flush stores made through a
 * MAP_SYNC mapping).  Protection that keeps reads (or writes, which imply
 * reads on x86) allowed keeps the range served in user space, and so
 * does a protection key (flushed with PKRU opened; where the CPU has
 * keys: the QEMU guest of tests/dax).  Every
 * failure path of the hook: a call the kernel refuses as a whole (EINVAL)
 * leaves the registry as it was; one that fails part-way (ENOMEM at an
 * unmapped page) keeps the range out.
 */
#include "shim_test.h"

#define PG 4096

static char
file_byte(int fd, off_t off)
{
	char c = 0;
	FATAL(pread(fd, &c, 1, off) == 1);
	return c;
}

int
main(void)
{
	const char *dax = shim_test_init();
	int fd = make_file(dax, "protect", 32 * PG, 'p', NULL);
	/* 17 pages mapped, the last unmapped again: a hole right after */
	char *d = mmap(NULL, 17 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			0);
	FATAL(d != MAP_FAILED && registered(d));
	FATAL(munmap(d + 16 * PG, PG) == 0);
	for (int i = 0; i < 16; i++)
		d[i * PG + 7] = (char)('A' + i);

	/* no read access: out of the registry, the rest stays */
	unsigned long drops = ctr("protects_dropping_dax_ranges");
	CHECK(mprotect(d + 4 * PG, 2 * PG, PROT_NONE) == 0);
	CHECK(ctr("protects_dropping_dax_ranges") == drops + 1);
	CHECK(registered(d + 3 * PG) && !registered(d + 4 * PG) &&
		!registered(d + 5 * PG) && registered(d + 6 * PG));
	/* the whole mapping: user space around the hole, the kernel inside
	 * it; with a CLWB on the PROT_NONE pages this raises SIGSEGV */
	unsigned long mixed = ctr("msync_mixed");
	CHECK(msync(d, 16 * PG, MS_SYNC) == 0);
	CHECK(ctr("msync_mixed") == mixed + 1);
	CHECK(msync(d + 4 * PG, PG, MS_SYNC) == 0);
	CHECK(msync(d + 4 * PG, PG, MS_ASYNC | MS_INVALIDATE) == 0);
	CHECK(fsync(fd) == 0);
	CHECK(fdatasync(fd) == 0);
	/* read access back: the data is there, and the range is served in
	 * user space again, its new stores flushed */
	unsigned long restores = ctr("protects_restoring_dax_ranges");
	CHECK(mprotect(d + 4 * PG, 2 * PG, PROT_READ | PROT_WRITE) == 0);
	CHECK(ctr("protects_restoring_dax_ranges") == restores + 1);
	CHECK(registered(d + 4 * PG) && registered(d + 5 * PG) &&
		d[4 * PG + 7] == 'E');
	d[4 * PG + 8] = 'e';
	unsigned long user = ctr("msync_user_space");
	unsigned long bytes = ctr("msync_bytes_flushed");
	CHECK(msync(d + 4 * PG, 2 * PG, MS_SYNC) == 0);
	CHECK(ctr("msync_user_space") == user + 1);
	CHECK(ctr("msync_bytes_flushed") >= bytes + PG);
	CHECK(file_byte(fd, 4 * PG + 8) == 'e');
	/* a piece of it only: the rest stays with the kernel */
	CHECK(mprotect(d + 4 * PG, 2 * PG, PROT_NONE) == 0);
	CHECK(mprotect(d + 5 * PG, PG, PROT_READ) == 0);
	CHECK(ctr("protects_restoring_dax_ranges") == restores + 2);
	CHECK(!registered(d + 4 * PG) && registered(d + 5 * PG));
	CHECK(mprotect(d + 4 * PG, 2 * PG, PROT_READ | PROT_WRITE) == 0);
	CHECK(registered(d + 4 * PG) && registered(d + 5 * PG));
	CHECK(ctr("protects_restoring_dax_ranges") == restores + 3);
	drops += 1;

	/* write access without read: readable on x86, so still served */
	d[10 * PG + 9] = 'w';
	CHECK(mprotect(d + 10 * PG, PG, PROT_WRITE) == 0);
	CHECK(registered(d + 10 * PG));
	d[10 * PG + 10] = 'W';
	user = ctr("msync_user_space");
	CHECK(msync(d + 10 * PG, PG, MS_SYNC) == 0);
	CHECK(ctr("msync_user_space") == user + 1);
	CHECK(mprotect(d + 10 * PG, PG, PROT_READ | PROT_WRITE) == 0);
	CHECK(file_byte(fd, 10 * PG + 10) == 'W');
	CHECK(ctr("protects_dropping_dax_ranges") == drops + 1);

	/* PROT_READ only: still flushable, still served in user space, and
	 * what was stored before the call is flushed by the next msync */
	user = ctr("msync_user_space");
	bytes = ctr("msync_bytes_flushed");
	d[8 * PG + 9] = 'r';
	CHECK(mprotect(d + 8 * PG, PG, PROT_READ) == 0);
	CHECK(registered(d + 8 * PG));
	CHECK(ctr("protects_dropping_dax_ranges") == drops + 1);
	CHECK(msync(d + 8 * PG, PG, MS_SYNC) == 0);
	CHECK(ctr("msync_user_space") == user + 1);
	CHECK(ctr("msync_bytes_flushed") == bytes + flushed_bytes(d, PG, PG));
	CHECK(file_byte(fd, 8 * PG + 9) == 'r');
	CHECK(mprotect(d + 8 * PG, PG, PROT_READ | PROT_WRITE) == 0);

	/* refused as a whole (bad flag): nothing changed, still ours */
	errno = 0;
	CHECK(mprotect(d + 10 * PG, PG, PROT_NONE | 0x40000000) == -1 &&
		errno == EINVAL);
	CHECK(registered(d + 10 * PG));
	/* unaligned: the kernel's EINVAL, untouched */
	errno = 0;
	CHECK(mprotect(d + 10 * PG + 1, PG, PROT_NONE) == -1 &&
		errno == EINVAL);
	CHECK(registered(d + 10 * PG));
	CHECK(ctr("protects_dropping_dax_ranges") == drops + 1);

	/* failed part-way: pages 13-15 are PROT_NONE now, the page after
	 * them is not mapped (ENOMEM); they must not come back */
	errno = 0;
	CHECK(mprotect(d + 13 * PG, 4 * PG, PROT_NONE) == -1 &&
		errno == ENOMEM);
	CHECK(!registered(d + 13 * PG) && !registered(d + 15 * PG));
	CHECK(registered(d + 12 * PG));
	CHECK(ctr("protects_dropping_dax_ranges") == drops + 2);
	CHECK(msync(d + 12 * PG, 4 * PG, MS_SYNC) == 0);
	CHECK(fsync(fd) == 0);

	/*
	 * a protection key: its rights change without a system call, and a
	 * CLWB is checked as a load.  The range stays the shim's (on fsdax
	 * the kernel's msync would flush nothing of it), flushed with this
	 * thread's PKRU opened for the duration and put back after; copies
	 * into it are libc's (the mover's alias would bypass the key).  With
	 * no protection keys on this CPU pkey_mprotect fails with EINVAL as
	 * a whole, and the range stays ours.  (Under QEMU's TCG, where the
	 * guest has protection keys, CLWB checks nothing: there the counters
	 * tell.)
	 */
	int key = (int)syscall(SYS_pkey_alloc, 0, 0);
	errno = 0;
	int r = pkey_mprotect(d + 11 * PG, PG, PROT_READ | PROT_WRITE,
			key >= 0 ? key : 1);
	if (key >= 0) {
		CHECK(r == 0 && registered(d + 11 * PG));
		CHECK(ctr("protects_dropping_dax_ranges") == drops + 2);
		d[11 * PG + 9] = 'k';
		/* deny all access through the key, as WRPKRU would */
		CHECK(pkey_set(key, PKEY_DISABLE_ACCESS) == 0);
		user = ctr("msync_user_space");
		bytes = ctr("msync_bytes_flushed");
		CHECK(msync(d + 11 * PG, PG, MS_SYNC) == 0);
		CHECK(ctr("msync_user_space") == user + 1);
		CHECK(ctr("msync_bytes_flushed") ==
			bytes + flushed_bytes(d, PG, PG));
		CHECK(pkey_get(key) == PKEY_DISABLE_ACCESS);
		/* fsync and a whole-mapping msync flush it too (at BYTE
		 * granularity fsync only fences: nothing counted) */
		bytes = ctr("msync_bytes_flushed");
		CHECK(fsync(fd) == 0);
		CHECK(Gran(d) == 0 ? ctr("msync_bytes_flushed") == bytes :
			ctr("msync_bytes_flushed") > bytes);
		CHECK(pkey_get(key) == PKEY_DISABLE_ACCESS);
		CHECK(pkey_set(key, 0) == 0);
		CHECK(d[11 * PG + 7] == 'L' && file_byte(fd, 11 * PG + 9) == 'k');
		/* a mover-sized copy into it: libc's, not the core's */
		char src[2048];
		volatile size_t n = sizeof(src);	/* a call, not inlined */
		memset(src, 'K', sizeof(src));
		unsigned long moved = ctr("bytes_moved_by_core");
		memcpy(d + 11 * PG + 1024, src, n);
		CHECK(ctr("bytes_moved_by_core") == moved);
		/* the default key again: copies are the mover's again */
		CHECK(pkey_mprotect(d + 11 * PG, PG, PROT_READ | PROT_WRITE,
			0) == 0);
		memcpy(d + 11 * PG + 1024, src, n);
		CHECK(ctr("bytes_moved_by_core") == moved + sizeof(src));
		CHECK(syscall(SYS_pkey_free, key) == 0);
	} else {
		CHECK(r == -1 && errno == EINVAL && registered(d + 11 * PG));
		printf("no protection keys here: pkey_mprotect refused, "
			"range kept\n");
	}
	/* the default key (-1 with pkey_mprotect) is mprotect */
	CHECK(pkey_mprotect(d + 9 * PG, PG, PROT_READ, -1) == 0);
	CHECK(registered(d + 9 * PG));
	CHECK(pkey_mprotect(d + 9 * PG, PG, PROT_NONE, -1) == 0);
	CHECK(!registered(d + 9 * PG));
	drops += 3;
	CHECK(ctr("protects_dropping_dax_ranges") == drops);
	CHECK(msync(d, 16 * PG, MS_SYNC) == 0);

	/* anonymous memory: the kernel's call, untouched */
	char *a = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FATAL(a != MAP_FAILED);
	CHECK(mprotect(a, PG, PROT_NONE) == 0);
	CHECK(ctr("protects_dropping_dax_ranges") == drops);
	CHECK(munmap(a, PG) == 0);

	/* every byte the program stored is in the file */
	for (int i = 0; i < 16; i++) {
		if (i == 9 || i >= 13)	/* PROT_NONE: through the file */
			CHECK(file_byte(fd, i * PG + 7) == 'A' + i);
		else
			CHECK(d[i * PG + 7] == 'A' + i &&
				file_byte(fd, i * PG + 7) == 'A' + i);
	}
	CHECK(munmap(d, 16 * PG) == 0);
	CHECK(close(fd) == 0);
	return finish();
}
