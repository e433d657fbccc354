/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_badinput.c -- the bad-input matrix (issue 7): every public function
 * of libpmem2.h with the bad values its man page names -- NULL where a
 * pointer may be NULL, zero and huge sizes, unaligned values, out-of-range
 * enums and flag bits, closed and wrong-type descriptors.  Each gives the
 * documented code with a message, does not crash, and changes nothing: the
 * output pointer is NULLed or left alone as documented, configs,
 * reservations, mappings and files keep their state.
 *
 * The same inputs against PMDK's library (return codes and messages, one
 * process per library): tests/diff/pmem2-fuzz and diff_config/diff_vmr.
 * Each BAD()/BAD_OUT() is one entry of the matrix (89 in the text, 126
 * with the loops expanded); every non-async function of core/api.list is
 * called.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "ut_common.h"

/* exported for PMDK 1.12 binaries, not declared in our header (async) */
struct vdm;
int pmem2_config_set_vdm(struct pmem2_config *cfg, struct vdm *vdm);

#define PG 4096UL
#define MiB (1024UL * 1024UL)
#define SENT ((void *)(uintptr_t)0x5eed0000UL)

/* BAD -- the call fails with code and leaves a message */
#define BAD(call, code) ut_assert_err(call, code)

/* BAD_OUT -- as BAD, and the output pointer is NULL afterwards */
#define BAD_OUT(ptr, call, code) do { \
	(ptr) = SENT; \
	ut_assert_err(call, code); \
	cr_assert_null((ptr), "%s: output not NULLed", #call); \
} while (0)

/* fsum -- checksum of a whole file (to prove "nothing changed") */
static uint64_t
fsum(int fd)
{
	struct stat st;
	cr_assert(fstat(fd, &st) == 0);
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)st.st_size;
	unsigned char buf[4096];
	for (off_t off = 0; off < st.st_size; off += (off_t)sizeof(buf)) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);
		cr_assert(n > 0);
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 1099511628211ULL;
	}
	return h;
}

static int
patterned_file(size_t size)
{
	int fd = ut_tmpfile(size, O_RDWR);
	for (size_t i = 0; i < size; i += PG) {
		char b[PG];
		memset(b, (int)(i / PG) + 1, sizeof(b));
		cr_assert(pwrite(fd, b, size - i < PG ? size - i : PG,
			(off_t)i) > 0);
	}
	return fd;
}

Test(badinput, config)
{
	struct pmem2_config *cfg = NULL;
	/* documented: *cfg NULL is no operation */
	ut_assert_ok(pmem2_config_delete(&cfg));
	ut_assert_ok(pmem2_config_new(&cfg));
	int bad_gran[] = { -1, 3, 4, 1000, INT32_MAX, INT32_MIN };
	for (size_t i = 0; i < sizeof(bad_gran) / sizeof(bad_gran[0]); i++)
		BAD(pmem2_config_set_required_store_granularity(cfg,
			(enum pmem2_granularity)bad_gran[i]),
			PMEM2_E_GRANULARITY_NOT_SUPPORTED);
	/* none of them was stored: the granularity is still not set */
	int fd = patterned_file(4 * PG);
	uint64_t before = fsum(fd);
	struct pmem2_source *src;
	ut_assert_ok(pmem2_source_from_fd(&src, fd));
	struct pmem2_map *map;
	BAD_OUT(map, pmem2_map_new(&map, cfg, src),
		PMEM2_E_GRANULARITY_NOT_SET);

	size_t bad_off[] = { (size_t)INT64_MAX + 1, SIZE_MAX, SIZE_MAX - PG + 1 };
	for (size_t i = 0; i < sizeof(bad_off) / sizeof(bad_off[0]); i++)
		BAD(pmem2_config_set_offset(cfg, bad_off[i]),
			PMEM2_E_OFFSET_OUT_OF_RANGE);
	int bad_share[] = { -1, 2, 3, INT32_MAX };
	for (size_t i = 0; i < sizeof(bad_share) / sizeof(bad_share[0]); i++)
		BAD(pmem2_config_set_sharing(cfg,
			(enum pmem2_sharing_type)bad_share[i]),
			PMEM2_E_INVALID_SHARING_VALUE);
	unsigned bad_prot[] = { 1, 1U << 28, 1U << 4, ~0U,
		PMEM2_PROT_READ | 2 };
	for (size_t i = 0; i < sizeof(bad_prot) / sizeof(bad_prot[0]); i++)
		BAD(pmem2_config_set_protection(cfg, bad_prot[i]),
			PMEM2_E_INVALID_PROT_FLAG);

	/* none of the bad values took: a valid config maps the whole file
	 * read-write, shared, at offset 0 */
	ut_assert_ok(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE));
	ut_assert_ok(pmem2_map_new(&map, cfg, src));
	cr_assert_eq(pmem2_map_get_size(map), 4 * PG);
	char *p = pmem2_map_get_address(map);
	cr_assert_eq(p[0], 1);
	p[0] = 1;	/* writable */
	ut_assert_ok(pmem2_map_delete(&map));
	cr_assert_null(map);

	/* zero and huge lengths, offsets past the end */
	ut_assert_ok(pmem2_config_set_length(cfg, SIZE_MAX - PG + 1));
	BAD_OUT(map, pmem2_map_new(&map, cfg, src), PMEM2_E_MAP_RANGE);
	ut_assert_ok(pmem2_config_set_length(cfg, 4 * PG + PG));
	BAD_OUT(map, pmem2_map_new(&map, cfg, src), PMEM2_E_MAP_RANGE);
	ut_assert_ok(pmem2_config_set_length(cfg, PG + 1));
	BAD_OUT(map, pmem2_map_new(&map, cfg, src), PMEM2_E_LENGTH_UNALIGNED);
	ut_assert_ok(pmem2_config_set_length(cfg, 0));
	ut_assert_ok(pmem2_config_set_offset(cfg, 8 * PG));
	BAD_OUT(map, pmem2_map_new(&map, cfg, src), PMEM2_E_MAP_RANGE);
	ut_assert_ok(pmem2_config_set_offset(cfg, 1));
	BAD_OUT(map, pmem2_map_new(&map, cfg, src), PMEM2_E_OFFSET_UNALIGNED);
	ut_assert_ok(pmem2_config_set_offset(cfg, (size_t)INT64_MAX - PG + 1));
	BAD_OUT(map, pmem2_map_new(&map, cfg, src), PMEM2_E_MAP_RANGE);

	/* async is not supported here: says so */
	BAD(pmem2_config_set_vdm(cfg, NULL), PMEM2_E_NOSUPP);

	cr_assert_eq(fsum(fd), before, "a failed call changed the file");
	ut_assert_ok(pmem2_source_delete(&src));
	ut_assert_ok(pmem2_config_delete(&cfg));
	cr_assert_null(cfg);
	close(fd);
}

/* descriptor kinds that are not a mappable file */
Test(badinput, source_descriptors)
{
	struct pmem2_source *src;
	int sv[2], pfd[2];
	BAD_OUT(src, pmem2_source_from_fd(&src, -1),
		PMEM2_E_INVALID_FILE_HANDLE);
	BAD_OUT(src, pmem2_source_from_fd(&src, INT32_MAX),
		PMEM2_E_INVALID_FILE_HANDLE);
	int closed = dup(0);
	close(closed);
	BAD_OUT(src, pmem2_source_from_fd(&src, closed),
		PMEM2_E_INVALID_FILE_HANDLE);
	int dir = open("/", O_RDONLY | O_DIRECTORY);
	cr_assert(dir >= 0);
	BAD_OUT(src, pmem2_source_from_fd(&src, dir),
		PMEM2_E_INVALID_FILE_TYPE);
	int null = open("/dev/null", O_RDWR);
	cr_assert(null >= 0);
	BAD_OUT(src, pmem2_source_from_fd(&src, null),
		PMEM2_E_INVALID_FILE_TYPE);
	cr_assert(pipe(pfd) == 0);
	BAD_OUT(src, pmem2_source_from_fd(&src, pfd[0]),
		PMEM2_E_INVALID_FILE_TYPE);
	cr_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	BAD_OUT(src, pmem2_source_from_fd(&src, sv[0]),
		PMEM2_E_INVALID_FILE_TYPE);
	int wo = ut_tmpfile(PG, O_WRONLY);
	BAD_OUT(src, pmem2_source_from_fd(&src, wo),
		PMEM2_E_INVALID_FILE_HANDLE);
	/* documented: *src NULL is no operation */
	src = NULL;
	ut_assert_ok(pmem2_source_delete(&src));
	close(dir);
	close(null);
	close(pfd[0]);
	close(pfd[1]);
	close(sv[0]);
	close(sv[1]);
	close(wo);
}

/* a source whose descriptor was closed after creation */
Test(badinput, source_fd_closed_later)
{
	int fd = patterned_file(2 * PG);
	struct pmem2_source *src;
	ut_assert_ok(pmem2_source_from_fd(&src, fd));
	close(fd);
	size_t size = 7;
	/* documented: "source contains an invalid file handle" */
	BAD(pmem2_source_size(src, &size), PMEM2_E_INVALID_FILE_HANDLE);
	cr_assert_eq(size, 7, "size changed on failure");
	/* alignment: no error documented for this; either the page size
	 * or a failure that says why and leaves the output alone */
	size_t al = 7;
	int ret = pmem2_source_alignment(src, &al);
	if (ret == 0) {
		cr_assert_eq(al, PG);
	} else {
		cr_assert_neq(pmem2_errormsg()[0], '\0');
		cr_assert_eq(al, 7);
	}
	struct pmem2_config *cfg;
	ut_assert_ok(pmem2_config_new(&cfg));
	ut_assert_ok(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE));
	struct pmem2_map *map = SENT;
	ret = pmem2_map_new(&map, cfg, src);
	cr_assert_lt(ret, 0);
	cr_assert_null(map);
	cr_assert_neq(pmem2_errormsg()[0], '\0');
	ut_assert_ok(pmem2_config_delete(&cfg));
	ut_assert_ok(pmem2_source_delete(&src));
}

Test(badinput, source_anon_and_io)
{
	struct pmem2_source *anon;
	/* a zero-size anonymous source exists but cannot be mapped */
	ut_assert_ok(pmem2_source_from_anon(&anon, 0));
	struct pmem2_config *cfg;
	ut_assert_ok(pmem2_config_new(&cfg));
	ut_assert_ok(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE));
	struct pmem2_map *map;
	BAD_OUT(map, pmem2_map_new(&map, cfg, anon), PMEM2_E_SOURCE_EMPTY);
	int fd = -7;
	BAD(pmem2_source_get_fd(anon, &fd), PMEM2_E_FILE_DESCRIPTOR_NOT_SET);
	cr_assert_eq(fd, -7);
	char buf[64] = { 0 };
	BAD(pmem2_source_pread_mcsafe(anon, buf, 8, 0),
		PMEM2_E_SOURCE_TYPE_NOT_SUPPORTED);
	BAD(pmem2_source_pwrite_mcsafe(anon, buf, 8, 0),
		PMEM2_E_SOURCE_TYPE_NOT_SUPPORTED);
	ut_assert_ok(pmem2_source_delete(&anon));

	/* mcsafe I/O out of range: nothing read into buf, file unchanged */
	int f = patterned_file(2 * PG);
	uint64_t before = fsum(f);
	struct pmem2_source *src;
	ut_assert_ok(pmem2_source_from_fd(&src, f));
	size_t offs[] = { 2 * PG, 2 * PG - 4, SIZE_MAX - 8, SIZE_MAX,
		(size_t)INT64_MAX + 1 };
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		memset(buf, 0xa5, sizeof(buf));
		BAD(pmem2_source_pread_mcsafe(src, buf, 8, offs[i]),
			PMEM2_E_LENGTH_OUT_OF_RANGE);
		for (size_t j = 0; j < sizeof(buf); j++)
			cr_assert_eq((unsigned char)buf[j], 0xa5);
		BAD(pmem2_source_pwrite_mcsafe(src, buf, 8, offs[i]),
			PMEM2_E_LENGTH_OUT_OF_RANGE);
	}
	BAD(pmem2_source_pread_mcsafe(src, buf, SIZE_MAX, 0),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	BAD(pmem2_source_pwrite_mcsafe(src, buf, SIZE_MAX, 0),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	cr_assert_eq(fsum(f), before);

	/* device id: NULL buffer is documented (asks for the length) */
	size_t len = 0;
	int ret = pmem2_source_device_id(src, NULL, &len);
	if (ret == 0) {
		cr_assert_gt(len, 0);
		char small[1];
		size_t one = 1;
		if (len > 1)
			BAD(pmem2_source_device_id(src, small, &one),
				PMEM2_E_BUFFER_TOO_SMALL);
	} else {
		cr_assert_neq(pmem2_errormsg()[0], '\0');
	}
	ut_assert_ok(pmem2_source_delete(&src));
	ut_assert_ok(pmem2_config_delete(&cfg));
	close(f);
}

Test(badinput, badblocks)
{
	struct pmem2_badblock_context *bb = NULL;
	/* documented: *bbctx NULL is no operation */
	pmem2_badblock_context_delete(&bb);
	cr_assert_null(bb);
	struct pmem2_source *anon;
	ut_assert_ok(pmem2_source_from_anon(&anon, PG));
	bb = SENT;
	int ret = pmem2_badblock_context_new(&bb, anon);
	cr_assert_lt(ret, 0, "bad blocks of anonymous memory: %d", ret);
	cr_assert_neq(pmem2_errormsg()[0], '\0');
	/* (what *bbctx holds after a failure is not documented) */
	ut_assert_ok(pmem2_source_delete(&anon));

	/* a file not on pmem: no bad blocks; clearing out-of-range ones */
	int fd = patterned_file(4 * PG);
	uint64_t before = fsum(fd);
	struct pmem2_source *src;
	ut_assert_ok(pmem2_source_from_fd(&src, fd));
	ut_assert_ok(pmem2_badblock_context_new(&bb, src));
	struct pmem2_badblock b;
	BAD(pmem2_badblock_next(bb, &b), PMEM2_E_NO_BAD_BLOCK_FOUND);
	BAD(pmem2_badblock_next(bb, &b), PMEM2_E_NO_BAD_BLOCK_FOUND);
	b.offset = (size_t)INT64_MAX + 1;
	b.length = PG;
	BAD(pmem2_badblock_clear(bb, &b), PMEM2_E_OFFSET_OUT_OF_RANGE);
	b.offset = 0;
	b.length = (size_t)INT64_MAX + 1;
	BAD(pmem2_badblock_clear(bb, &b), PMEM2_E_LENGTH_OUT_OF_RANGE);
	pmem2_badblock_context_delete(&bb);
	cr_assert_null(bb);
	cr_assert_eq(fsum(fd), before);

	/* RAS queries on memory that is not pmem: documented codes */
	int numa = -7;
	uint64_t usc = 7;
	size_t len = 0;
	BAD(pmem2_source_numa_node(src, &numa), PMEM2_E_DAX_REGION_NOT_FOUND);
	cr_assert_eq(numa, -7);
	BAD(pmem2_source_device_usc(src, &usc), PMEM2_E_NOSUPP);
	cr_assert_eq(usc, 0);	/* PMDK 1.12 zeroes it first; so do we */
	BAD(pmem2_source_device_id(src, NULL, &len), PMEM2_E_NOSUPP);
	ut_assert_ok(pmem2_source_delete(&src));
	ut_assert_ok(pmem2_source_from_anon(&anon, PG));
	BAD(pmem2_source_numa_node(anon, &numa), PMEM2_E_NOSUPP);
	BAD(pmem2_source_device_usc(anon, &usc), PMEM2_E_NOSUPP);
	BAD(pmem2_source_device_id(anon, NULL, &len), PMEM2_E_NOSUPP);
	ut_assert_ok(pmem2_source_delete(&anon));
	close(fd);
}

Test(badinput, reservation_new)
{
	struct pmem2_vm_reservation *rsv;
	BAD_OUT(rsv, pmem2_vm_reservation_new(&rsv, NULL, 1),
		PMEM2_E_LENGTH_UNALIGNED);
	BAD_OUT(rsv, pmem2_vm_reservation_new(&rsv, NULL, PG + 1),
		PMEM2_E_LENGTH_UNALIGNED);
	BAD_OUT(rsv, pmem2_vm_reservation_new(&rsv, NULL, SIZE_MAX),
		PMEM2_E_LENGTH_UNALIGNED);
	BAD_OUT(rsv, pmem2_vm_reservation_new(&rsv, NULL, SIZE_MAX - PG + 1),
		-ENOMEM);
	BAD_OUT(rsv, pmem2_vm_reservation_new(&rsv, (void *)(uintptr_t)1,
		PG), PMEM2_E_ADDRESS_UNALIGNED);
	BAD_OUT(rsv, pmem2_vm_reservation_new(&rsv, (void *)(uintptr_t)(
		64 * MiB + 2048), PG), PMEM2_E_ADDRESS_UNALIGNED);
	/* an occupied address: the range is left as it was */
	char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(p, MAP_FAILED);
	p[0] = 42;
	BAD_OUT(rsv, pmem2_vm_reservation_new(&rsv, p, 4 * PG),
		PMEM2_E_MAPPING_EXISTS);
	BAD_OUT(rsv, pmem2_vm_reservation_new(&rsv, p + PG, PG),
		PMEM2_E_MAPPING_EXISTS);
	cr_assert_eq(p[0], 42);
	munmap(p, 4 * PG);
}

Test(badinput, reservation_extend_shrink_find)
{
	struct pmem2_vm_reservation *rsv;
	ut_assert_ok(pmem2_vm_reservation_new(&rsv, NULL, 16 * PG));
	void *addr = pmem2_vm_reservation_get_address(rsv);
	BAD(pmem2_vm_reservation_extend(rsv, 1), PMEM2_E_LENGTH_UNALIGNED);
	BAD(pmem2_vm_reservation_extend(rsv, PG + 7),
		PMEM2_E_LENGTH_UNALIGNED);
	BAD(pmem2_vm_reservation_extend(rsv, SIZE_MAX - PG + 1),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	/* an empty reservation: the new end wraps (its round-up to 2 MiB
	 * lands exactly on the start: found by pmem2-fuzz) */
	struct pmem2_vm_reservation *empty;
	ut_assert_ok(pmem2_vm_reservation_new(&empty, NULL, 0));
	BAD(pmem2_vm_reservation_extend(empty, SIZE_MAX - PG + 1),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	BAD(pmem2_vm_reservation_extend(empty, SIZE_MAX - 3 * PG + 1),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	cr_assert_eq(pmem2_vm_reservation_get_size(empty), 0);
	ut_assert_ok(pmem2_vm_reservation_delete(&empty));
	BAD(pmem2_vm_reservation_shrink(rsv, 1, PG), PMEM2_E_OFFSET_UNALIGNED);
	BAD(pmem2_vm_reservation_shrink(rsv, 0, PG + 1),
		PMEM2_E_LENGTH_UNALIGNED);
	BAD(pmem2_vm_reservation_shrink(rsv, 16 * PG, PG),
		PMEM2_E_OFFSET_OUT_OF_RANGE);
	BAD(pmem2_vm_reservation_shrink(rsv, SIZE_MAX - PG + 1, PG),
		PMEM2_E_OFFSET_OUT_OF_RANGE);
	BAD(pmem2_vm_reservation_shrink(rsv, 0, 0),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	BAD(pmem2_vm_reservation_shrink(rsv, 8 * PG, 16 * PG),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	BAD(pmem2_vm_reservation_shrink(rsv, PG, SIZE_MAX - PG + 1),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	BAD(pmem2_vm_reservation_shrink(rsv, 0, 16 * PG), PMEM2_E_NOSUPP);
	BAD(pmem2_vm_reservation_shrink(rsv, 4 * PG, 4 * PG), PMEM2_E_NOSUPP);
	/* nothing changed */
	cr_assert_eq(pmem2_vm_reservation_get_address(rsv), addr);
	cr_assert_eq(pmem2_vm_reservation_get_size(rsv), 16 * PG);

	/* lookups in an empty reservation: MAPPING_NOT_FOUND, output NULL */
	struct pmem2_map *m;
	size_t foff[] = { 0, 15 * PG, 16 * PG, SIZE_MAX - PG };
	size_t flen[] = { 0, 1, PG, SIZE_MAX };
	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; j < 4; j++)
			BAD_OUT(m, pmem2_vm_reservation_map_find(rsv, foff[i],
				flen[j], &m), PMEM2_E_MAPPING_NOT_FOUND);
	BAD_OUT(m, pmem2_vm_reservation_map_find_first(rsv, &m),
		PMEM2_E_MAPPING_NOT_FOUND);
	BAD_OUT(m, pmem2_vm_reservation_map_find_last(rsv, &m),
		PMEM2_E_MAPPING_NOT_FOUND);

	/* one mapping: next/prev of it are not found; delete refuses */
	int fd = patterned_file(4 * PG);
	uint64_t before = fsum(fd);
	struct pmem2_source *src;
	ut_assert_ok(pmem2_source_from_fd(&src, fd));
	struct pmem2_config *cfg;
	ut_assert_ok(pmem2_config_new(&cfg));
	ut_assert_ok(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE));
	struct pmem2_map *map;
	ut_assert_ok(pmem2_config_set_vm_reservation(cfg, rsv, PG + 1));
	BAD_OUT(map, pmem2_map_new(&map, cfg, src), PMEM2_E_OFFSET_UNALIGNED);
	ut_assert_ok(pmem2_config_set_vm_reservation(cfg, rsv, 14 * PG));
	BAD_OUT(map, pmem2_map_new(&map, cfg, src),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	ut_assert_ok(pmem2_config_set_vm_reservation(cfg, rsv, 16 * PG));
	BAD_OUT(map, pmem2_map_new(&map, cfg, src),
		PMEM2_E_LENGTH_OUT_OF_RANGE);
	ut_assert_ok(pmem2_config_set_vm_reservation(cfg, rsv, 4 * PG));
	ut_assert_ok(pmem2_map_new(&map, cfg, src));
	BAD_OUT(m, pmem2_vm_reservation_map_find_next(rsv, map, &m),
		PMEM2_E_MAPPING_NOT_FOUND);
	BAD_OUT(m, pmem2_vm_reservation_map_find_prev(rsv, map, &m),
		PMEM2_E_MAPPING_NOT_FOUND);
	BAD(pmem2_vm_reservation_delete(&rsv),
		PMEM2_E_VM_RESERVATION_NOT_EMPTY);
	cr_assert_not_null(rsv);
	/* the middle, even a free one, cannot go */
	BAD(pmem2_vm_reservation_shrink(rsv, 10 * PG, 4 * PG), PMEM2_E_NOSUPP);
	BAD(pmem2_vm_reservation_shrink(rsv, 0, 6 * PG),
		PMEM2_E_VM_RESERVATION_NOT_EMPTY);
	/* a second mapping over the first: refused, the first intact */
	BAD_OUT(m, pmem2_map_new(&m, cfg, src), PMEM2_E_MAPPING_EXISTS);
	cr_assert_eq(((char *)pmem2_map_get_address(map))[0], 1);
	ut_assert_ok(pmem2_vm_reservation_map_find(rsv, 4 * PG, 1, &m));
	cr_assert_eq(m, map);

	/* deep flush outside the map */
	char *a = pmem2_map_get_address(map);
	BAD(pmem2_deep_flush(map, a - PG, PG), PMEM2_E_DEEP_FLUSH_RANGE);
	BAD(pmem2_deep_flush(map, a, 4 * PG + 1), PMEM2_E_DEEP_FLUSH_RANGE);
	BAD(pmem2_deep_flush(map, a + PG, SIZE_MAX),
		PMEM2_E_DEEP_FLUSH_RANGE);

	ut_assert_ok(pmem2_map_delete(&map));
	cr_assert_eq(fsum(fd), before);
	ut_assert_ok(pmem2_vm_reservation_delete(&rsv));
	ut_assert_ok(pmem2_config_delete(&cfg));
	ut_assert_ok(pmem2_source_delete(&src));
	close(fd);
}

Test(badinput, map_protection_vs_descriptor)
{
	int rw = patterned_file(4 * PG);
	uint64_t before = fsum(rw);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", rw);
	int ro = open(path, O_RDONLY);
	cr_assert(ro >= 0);
	struct pmem2_source *src;
	ut_assert_ok(pmem2_source_from_fd(&src, ro));
	struct pmem2_config *cfg;
	ut_assert_ok(pmem2_config_new(&cfg));
	ut_assert_ok(pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE));
	struct pmem2_map *map;
	/* shared + writable on a read-only descriptor */
	BAD_OUT(map, pmem2_map_new(&map, cfg, src), PMEM2_E_NO_ACCESS);
	/* granularity the file cannot give (no DAX, nothing forced) */
	if (!getenv("PMEM2_FORCE_GRANULARITY")) {
		ut_assert_ok(pmem2_config_set_protection(cfg,
			PMEM2_PROT_READ));
		ut_assert_ok(pmem2_config_set_required_store_granularity(cfg,
			PMEM2_GRANULARITY_CACHE_LINE));
		BAD_OUT(map, pmem2_map_new(&map, cfg, src),
			PMEM2_E_GRANULARITY_NOT_SUPPORTED);
		ut_assert_ok(pmem2_config_set_required_store_granularity(cfg,
			PMEM2_GRANULARITY_BYTE));
		BAD_OUT(map, pmem2_map_new(&map, cfg, src),
			PMEM2_E_GRANULARITY_NOT_SUPPORTED);
	}
	cr_assert_eq(fsum(rw), before);
	ut_assert_ok(pmem2_config_delete(&cfg));
	ut_assert_ok(pmem2_source_delete(&src));
	close(ro);
	close(rw);
}

Test(badinput, map_from_existing)
{
	int fd = patterned_file(4 * PG);
	struct pmem2_source *src;
	ut_assert_ok(pmem2_source_from_fd(&src, fd));
	char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		0);
	cr_assert_neq(p, MAP_FAILED);
	/* (what *map holds after a failure is not documented) */
	struct pmem2_map *map, *m2;
	/* documented deviation (README): unknown granularity, zero length */
	BAD(pmem2_map_from_existing(&map, src, p, 4 * PG,
		(enum pmem2_granularity)7), PMEM2_E_GRANULARITY_NOT_SUPPORTED);
	BAD(pmem2_map_from_existing(&map, src, p, 4 * PG,
		(enum pmem2_granularity)-1), PMEM2_E_GRANULARITY_NOT_SUPPORTED);
	BAD(pmem2_map_from_existing(&map, src, p, 0,
		PMEM2_GRANULARITY_PAGE), PMEM2_E_LENGTH_OUT_OF_RANGE);
	ut_assert_ok(pmem2_map_from_existing(&map, src, p, 4 * PG,
		PMEM2_GRANULARITY_PAGE));
	cr_assert_eq(pmem2_map_get_store_granularity(map),
		PMEM2_GRANULARITY_PAGE);
	cr_assert_eq(pmem2_map_get_size(map), 4 * PG);
	BAD(pmem2_map_from_existing(&m2, src, p + PG, PG,
		PMEM2_GRANULARITY_PAGE), PMEM2_E_MAP_EXISTS);
	BAD(pmem2_map_from_existing(&m2, src, p, 4 * PG,
		PMEM2_GRANULARITY_PAGE), PMEM2_E_MAP_EXISTS);

	/* the copy functions never return NULL; unknown flag bits do not
	 * stop them (PMDK's man page: flags are hints) */
	pmem2_memcpy_fn cp = pmem2_get_memcpy_fn(map);
	pmem2_memmove_fn mv = pmem2_get_memmove_fn(map);
	pmem2_memset_fn ms = pmem2_get_memset_fn(map);
	cr_assert(cp && mv && ms && pmem2_get_persist_fn(map) &&
		pmem2_get_flush_fn(map) && pmem2_get_drain_fn(map));
	char src_buf[100];
	memset(src_buf, 9, sizeof(src_buf));
	cr_assert_eq(cp(p, src_buf, sizeof(src_buf), ~0U), p);
	cr_assert_eq(p[99], 9);
	cr_assert_eq(ms(p, 7, 10, 1U << 20), p);
	cr_assert_eq(p[9], 7);
	cr_assert_eq(mv(p + 1, p, 10, 1U << 31), p + 1);
	cr_assert_eq(p[10], 7);
	/* zero lengths are no-ops */
	cr_assert_eq(cp(p, NULL, 0, 0), p);
	cr_assert_eq(ms(p + PG, 0, 0, 0), p + PG);
	pmem2_get_persist_fn(map)(p, 0);

	ut_assert_ok(pmem2_map_delete(&map));
	cr_assert_null(map);
	/* the caller's mapping is still there (from_existing does not own
	 * it) */
	cr_assert_eq(p[99], 9);
	munmap(p, 4 * PG);
	ut_assert_ok(pmem2_source_delete(&src));
	close(fd);
}

Test(badinput, errormsg_and_perror)
{
	/* never NULL, even before any call failed */
	cr_assert_not_null(pmem2_errormsg());
	struct pmem2_config *cfg;
	ut_assert_ok(pmem2_config_new(&cfg));
	BAD(pmem2_config_set_sharing(cfg, (enum pmem2_sharing_type)9),
		PMEM2_E_INVALID_SHARING_VALUE);
	/* perror with an empty prefix and with a format argument */
	pmem2_perror("%s", "");
	pmem2_perror("%s %d", "badinput", 1);
	ut_assert_ok(pmem2_config_delete(&cfg));
}
