/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libpmem2/base.h -- the libpmem2 API: sources, configs, mappings, virtual
 * memory reservations, flushing and copying, RAS and error reporting.
 *
 * Every constant, enum and flag below has the value PMDK 1.12 gives it: they
 * are part of the ABI, so programs built against PMDK's header run with this
 * library and vice versa.  Functions return 0 on success and a negative
 * PMEM2_E_* code (or a negated errno) on failure; pmem2_errormsg() then says
 * what went wrong and why.
 */
#ifndef LIBPMEM2_BASE_H
#define LIBPMEM2_BASE_H 1

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes: all negative, disjoint from negated errno values. */
#define PMEM2_E_UNKNOWN				(-100000)
#define PMEM2_E_NOSUPP				(-100001)
#define PMEM2_E_FILE_HANDLE_NOT_SET		(-100003)
#define PMEM2_E_INVALID_FILE_HANDLE		(-100004)
#define PMEM2_E_INVALID_FILE_TYPE		(-100005)
#define PMEM2_E_MAP_RANGE			(-100006)
#define PMEM2_E_MAPPING_EXISTS			(-100007)
#define PMEM2_E_GRANULARITY_NOT_SET		(-100008)
#define PMEM2_E_GRANULARITY_NOT_SUPPORTED	(-100009)
#define PMEM2_E_OFFSET_OUT_OF_RANGE		(-100010)
#define PMEM2_E_OFFSET_UNALIGNED		(-100011)
#define PMEM2_E_INVALID_ALIGNMENT_FORMAT	(-100012)
#define PMEM2_E_INVALID_ALIGNMENT_VALUE		(-100013)
#define PMEM2_E_INVALID_SIZE_FORMAT		(-100014)
#define PMEM2_E_LENGTH_UNALIGNED		(-100015)
#define PMEM2_E_MAPPING_NOT_FOUND		(-100016)
#define PMEM2_E_BUFFER_TOO_SMALL		(-100017)
#define PMEM2_E_SOURCE_EMPTY			(-100018)
#define PMEM2_E_INVALID_SHARING_VALUE		(-100019)
#define PMEM2_E_SRC_DEVDAX_PRIVATE		(-100020)
#define PMEM2_E_INVALID_ADDRESS_REQUEST_TYPE	(-100021)
#define PMEM2_E_ADDRESS_UNALIGNED		(-100022)
#define PMEM2_E_ADDRESS_NULL			(-100023)
#define PMEM2_E_DEEP_FLUSH_RANGE		(-100024)
#define PMEM2_E_INVALID_REGION_FORMAT		(-100025)
#define PMEM2_E_DAX_REGION_NOT_FOUND		(-100026)
#define PMEM2_E_INVALID_DEV_FORMAT		(-100027)
#define PMEM2_E_CANNOT_READ_BOUNDS		(-100028)
#define PMEM2_E_NO_BAD_BLOCK_FOUND		(-100029)
#define PMEM2_E_LENGTH_OUT_OF_RANGE		(-100030)
#define PMEM2_E_INVALID_PROT_FLAG		(-100031)
#define PMEM2_E_NO_ACCESS			(-100032)
#define PMEM2_E_VM_RESERVATION_NOT_EMPTY	(-100033)
#define PMEM2_E_MAP_EXISTS			(-100034)
#define PMEM2_E_FILE_DESCRIPTOR_NOT_SET		(-100035)
#define PMEM2_E_SOURCE_TYPE_NOT_SUPPORTED	(-100036)
#define PMEM2_E_IO_FAIL				(-100037)

/*
 * Sources: what gets mapped -- an open file (regular file on any file
 * system, or a device DAX character device) or anonymous memory.
 */
struct pmem2_source;

/* Errors: PMEM2_E_INVALID_FILE_HANDLE, PMEM2_E_INVALID_FILE_TYPE, -ENOMEM. */
int pmem2_source_from_fd(struct pmem2_source **src, int fd);
/* Errors: -ENOMEM. */
int pmem2_source_from_anon(struct pmem2_source **src, size_t size);
/* Errors: PMEM2_E_FILE_DESCRIPTOR_NOT_SET for anonymous sources. */
int pmem2_source_get_fd(const struct pmem2_source *src, int *fd);
/* Size of the file or device; errors from fstat(2) or sysfs. */
int pmem2_source_size(const struct pmem2_source *src, size_t *size);
/* Required offset/length alignment: the page size, or device DAX's align. */
int pmem2_source_alignment(const struct pmem2_source *src,
	size_t *alignment);
/* Frees *src and sets it to NULL; always returns 0. */
int pmem2_source_delete(struct pmem2_source **src);
/* Reads/writes that turn a machine check into PMEM2_E_IO_FAIL. */
int pmem2_source_pread_mcsafe(struct pmem2_source *src, void *buf, size_t size,
	size_t offset);
int pmem2_source_pwrite_mcsafe(struct pmem2_source *src, void *buf, size_t size,
	size_t offset);

/*
 * Virtual memory reservations: a range of address space held by a
 * placeholder, into which mappings can be placed at chosen offsets.
 */
struct pmem2_map;
struct pmem2_vm_reservation;

void *pmem2_vm_reservation_get_address(struct pmem2_vm_reservation *rsv);
size_t pmem2_vm_reservation_get_size(struct pmem2_vm_reservation *rsv);
/* Errors: PMEM2_E_ADDRESS_UNALIGNED, PMEM2_E_LENGTH_UNALIGNED,
 * PMEM2_E_MAPPING_EXISTS (fixed address already in use), -ENOMEM. */
int pmem2_vm_reservation_new(struct pmem2_vm_reservation **rsv_ptr,
	void *addr, size_t size);
/* Errors: PMEM2_E_VM_RESERVATION_NOT_EMPTY. */
int pmem2_vm_reservation_delete(struct pmem2_vm_reservation **rsv_ptr);
/* Errors: PMEM2_E_LENGTH_UNALIGNED, PMEM2_E_MAPPING_EXISTS. */
int pmem2_vm_reservation_extend(struct pmem2_vm_reservation *rsv, size_t size);
/* Errors: PMEM2_E_OFFSET_UNALIGNED, PMEM2_E_LENGTH_UNALIGNED,
 * PMEM2_E_OFFSET_OUT_OF_RANGE, PMEM2_E_LENGTH_OUT_OF_RANGE, PMEM2_E_NOSUPP
 * (middle or whole), PMEM2_E_VM_RESERVATION_NOT_EMPTY. */
int pmem2_vm_reservation_shrink(struct pmem2_vm_reservation *rsv, size_t offset,
	size_t size);
/* The map_find family fails with PMEM2_E_MAPPING_NOT_FOUND and sets the
 * output to NULL when there is no such mapping. */
int pmem2_vm_reservation_map_find(struct pmem2_vm_reservation *rsv,
	size_t reserv_offset, size_t len, struct pmem2_map **map);
int pmem2_vm_reservation_map_find_prev(struct pmem2_vm_reservation *rsv,
	struct pmem2_map *map, struct pmem2_map **prev_map);
int pmem2_vm_reservation_map_find_next(struct pmem2_vm_reservation *rsv,
	struct pmem2_map *map, struct pmem2_map **next_map);
int pmem2_vm_reservation_map_find_first(struct pmem2_vm_reservation *rsv,
	struct pmem2_map **map);
int pmem2_vm_reservation_map_find_last(struct pmem2_vm_reservation *rsv,
	struct pmem2_map **map);

/* Configs: how a source is to be mapped. */
struct pmem2_config;

/* Errors: -ENOMEM. */
int pmem2_config_new(struct pmem2_config **cfg);
/* Frees *cfg and sets it to NULL; always returns 0. */
int pmem2_config_delete(struct pmem2_config **cfg);

/* Store granularity: the smallest unit a store must be flushed at to be
 * durable.  BYTE: the CPU caches are persistent (eADR), nothing to flush.
 * CACHE_LINE: flush cache lines from user space.  PAGE: the kernel must
 * write pages back (msync). */
enum pmem2_granularity {
	PMEM2_GRANULARITY_BYTE,
	PMEM2_GRANULARITY_CACHE_LINE,
	PMEM2_GRANULARITY_PAGE,
};

/* Errors: PMEM2_E_GRANULARITY_NOT_SUPPORTED for an unknown value. */
int pmem2_config_set_required_store_granularity(struct pmem2_config *cfg,
	enum pmem2_granularity g);
/* Errors: PMEM2_E_OFFSET_OUT_OF_RANGE (above INT64_MAX). */
int pmem2_config_set_offset(struct pmem2_config *cfg, size_t offset);
/* 0 means "to the end of the source"; always returns 0. */
int pmem2_config_set_length(struct pmem2_config *cfg, size_t length);

enum pmem2_sharing_type {
	PMEM2_SHARED,
	PMEM2_PRIVATE,
};

/* Errors: PMEM2_E_INVALID_SHARING_VALUE. */
int pmem2_config_set_sharing(struct pmem2_config *cfg,
	enum pmem2_sharing_type type);

#define PMEM2_PROT_EXEC		(1U << 29)
#define PMEM2_PROT_READ		(1U << 30)
#define PMEM2_PROT_WRITE	(1U << 31)
#define PMEM2_PROT_NONE		0

/* Errors: PMEM2_E_INVALID_PROT_FLAG for unknown bits. */
int pmem2_config_set_protection(struct pmem2_config *cfg,
	unsigned prot);
/* Always returns 0; the offset is checked by pmem2_map_new(). */
int pmem2_config_set_vm_reservation(struct pmem2_config *cfg,
	struct pmem2_vm_reservation *rsv, size_t offset);

/* Mappings. */
/* Describe a mapping the caller made itself.  Errors: PMEM2_E_MAP_EXISTS
 * when the range is already known to the library, -ENOMEM. */
int pmem2_map_from_existing(struct pmem2_map **map,
	const struct pmem2_source *src, void *addr, size_t len,
	enum pmem2_granularity gran);
/* Errors: see pmem2_map_new(3) -- PMEM2_E_GRANULARITY_NOT_SET,
 * PMEM2_E_GRANULARITY_NOT_SUPPORTED, PMEM2_E_MAP_RANGE, PMEM2_E_SOURCE_EMPTY,
 * PMEM2_E_OFFSET_UNALIGNED, PMEM2_E_LENGTH_UNALIGNED,
 * PMEM2_E_SRC_DEVDAX_PRIVATE, PMEM2_E_ADDRESS_UNALIGNED,
 * PMEM2_E_LENGTH_OUT_OF_RANGE, PMEM2_E_MAPPING_EXISTS, PMEM2_E_NO_ACCESS and
 * negated errno values from mmap(2). */
int pmem2_map_new(struct pmem2_map **map_ptr, const struct pmem2_config *cfg,
	const struct pmem2_source *src);
/* Errors: PMEM2_E_MAPPING_NOT_FOUND, -EINVAL from munmap(2). */
int pmem2_map_delete(struct pmem2_map **map_ptr);
void *pmem2_map_get_address(struct pmem2_map *map);
size_t pmem2_map_get_size(struct pmem2_map *map);
enum pmem2_granularity pmem2_map_get_store_granularity(struct pmem2_map *map);

/* Flushing: the functions returned suit the mapping's granularity. */
typedef void (*pmem2_persist_fn)(const void *ptr, size_t size);
typedef void (*pmem2_flush_fn)(const void *ptr, size_t size);
typedef void (*pmem2_drain_fn)(void);

pmem2_persist_fn pmem2_get_persist_fn(struct pmem2_map *map);
pmem2_flush_fn pmem2_get_flush_fn(struct pmem2_map *map);
pmem2_drain_fn pmem2_get_drain_fn(struct pmem2_map *map);

/* Flags of the memmove/memcpy/memset functions. */
#define PMEM2_F_MEM_NODRAIN	(1U << 0)	/* skip the final drain */
#define PMEM2_F_MEM_NONTEMPORAL	(1U << 1)	/* bypass the caches */
#define PMEM2_F_MEM_TEMPORAL	(1U << 2)	/* keep data in the caches */
#define PMEM2_F_MEM_WC		(1U << 3)	/* write-combining hint */
#define PMEM2_F_MEM_WB		(1U << 4)	/* write-back hint */
#define PMEM2_F_MEM_NOFLUSH	(1U << 5)	/* no flush at all */

#define PMEM2_F_MEM_VALID_FLAGS (PMEM2_F_MEM_NODRAIN | \
		PMEM2_F_MEM_NONTEMPORAL | \
		PMEM2_F_MEM_TEMPORAL | \
		PMEM2_F_MEM_WC | \
		PMEM2_F_MEM_WB | \
		PMEM2_F_MEM_NOFLUSH)

typedef void *(*pmem2_memmove_fn)(void *pmemdest, const void *src, size_t len,
	unsigned flags);
typedef void *(*pmem2_memcpy_fn)(void *pmemdest, const void *src, size_t len,
	unsigned flags);
typedef void *(*pmem2_memset_fn)(void *pmemdest, int c, size_t len,
	unsigned flags);

pmem2_memmove_fn pmem2_get_memmove_fn(struct pmem2_map *map);
pmem2_memcpy_fn pmem2_get_memcpy_fn(struct pmem2_map *map);
pmem2_memset_fn pmem2_get_memset_fn(struct pmem2_map *map);

/* RAS: reliability, availability, serviceability. */
/* Flush to the region's deepest persistence domain.  Errors:
 * PMEM2_E_DEEP_FLUSH_RANGE, and errors writing the region's deep_flush. */
int pmem2_deep_flush(struct pmem2_map *map, void *ptr, size_t size);
int pmem2_source_device_id(const struct pmem2_source *src,
	char *id, size_t *len);
int pmem2_source_device_usc(const struct pmem2_source *src, uint64_t *usc);
int pmem2_source_numa_node(const struct pmem2_source *src, int *numa_node);

struct pmem2_badblock_context;

struct pmem2_badblock {
	size_t offset;	/* bytes from the start of the source */
	size_t length;	/* bytes */
};

int pmem2_badblock_context_new(struct pmem2_badblock_context **bbctx,
	const struct pmem2_source *src);
int pmem2_badblock_next(struct pmem2_badblock_context *bbctx,
	struct pmem2_badblock *bb);
void pmem2_badblock_context_delete(
	struct pmem2_badblock_context **bbctx);
int pmem2_badblock_clear(struct pmem2_badblock_context *bbctx,
	const struct pmem2_badblock *bb);

/* Errors. */
/* The last error message of the calling thread. */
const char *pmem2_errormsg(void);
/* Declared by PMDK's header but not provided by PMDK 1.12's library (nor by
 * this one): do not call it. */
int pmem2_err_to_errno(int);
/* Print "<formatted prefix>: <pmem2_errormsg()>" to stderr. */
void pmem2_perror(const char *format,
	...) __attribute__((__format__(__printf__, 1, 2)));

#ifdef __cplusplus
}
#endif
#endif /* LIBPMEM2_BASE_H */
