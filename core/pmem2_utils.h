/* SPDX-License-Identifier: BSD-3-Clause */
/* pmem2_utils.h -- internal error, logging and allocation helpers. */
#ifndef PMEM2_UTILS_H
#define PMEM2_UTILS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "libpmem2.h"

#define PMEM2_INTERNAL __attribute__((visibility("hidden")))
#define PMEM2_API __attribute__((visibility("default")))

/*
 * FORK_DATA -- for the variables the fork handlers write (the locks they
 * take, what the child resets): gathered in one section, so that after a
 * fork the parent and the child each copy one page of ours, not one per
 * variable's neighbourhood.  Spread over three pages, they cost the
 * parent three copy-on-write faults per fork (fork + _exit 132-139 us
 * with the shim, 117-119 with an empty preloaded library; one page:
 * 126-127).  Each on a cache line of its own: some are hot atomics.
 */
#define FORK_DATA __attribute__((section("pmem2_fork"), aligned(64)))

#define PMEM2_GRANULARITY_INVALID ((enum pmem2_granularity)(-1))

/* granularity_valid -- g is one of the three PMEM2_GRANULARITY_* values. */
static inline int
granularity_valid(enum pmem2_granularity g)
{
	return g == PMEM2_GRANULARITY_BYTE ||
		g == PMEM2_GRANULARITY_CACHE_LINE ||
		g == PMEM2_GRANULARITY_PAGE;
}

#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((a) - 1)) == 0)

/* The page size, read once at start-up (core_init). */
extern size_t Pagesize;

/*
 * errormsg_set -- format the calling thread's error message.
 * errormsg_set_errno -- the same, followed by ": <strerror(errnum)>".
 * errormsg_clear -- every API entry point starts with an empty message.
 */
void errormsg_set(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void errormsg_set_errno(int errnum, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void errormsg_clear(void);

#define ERR(...) errormsg_set(__VA_ARGS__)
#define ERR_ERRNO(e, ...) errormsg_set_errno((e), __VA_ARGS__)

/*
 * pmem2_errno_ret -- turn the current errno into a negative return value;
 * never 0, so a failed call can never be reported as success.
 */
static inline int
pmem2_errno_ret(void)
{
	return errno > 0 ? -errno : -EINVAL;
}

/*
 * Logging (PMEM2_LOG_LEVEL, PMEM2_LOG_FILE): 1 = errors, 2 = warnings,
 * 3 = API calls, 4 = details.  The level check is one load of a global.
 */
extern int core_log_level;
void log_printf(int level, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_init(void);
void log_fini(void);
#define LOG(lvl, ...) do { \
	if ((lvl) <= core_log_level) \
		log_printf((lvl), __func__, __VA_ARGS__); \
} while (0)

/*
 * pmem2_malloc/pmem2_zalloc -- allocate or set *err to -ENOMEM and an error
 * message.  All core allocations go through here so that fault injection
 * (core_fault_*) can make each one fail in turn.
 */
void *pmem2_malloc(size_t size, int *err);
void *pmem2_zalloc(size_t size, int *err);

/*
 * Fault injection for tests: when core_fault_countdown reaches zero at a
 * site of the given kind, that call fails (sticky: and every later one).
 * Disabled (-1) by default; the check is a single load on cold paths only.
 */
enum core_fault_kind { CORE_FAULT_ALLOC, CORE_FAULT_MMAP, CORE_FAULT_MUNMAP };
int core_fault_hit(enum core_fault_kind kind);
void core_fault_set(enum core_fault_kind kind, long countdown);
/* core_fault_set_sticky -- the same, and every later call fails too, as
 * when memory has run out (until core_fault_set turns it off) */
void core_fault_set_sticky(enum core_fault_kind kind, long countdown);
long core_fault_get(enum core_fault_kind kind);

/* One-time initialisation of the core (idempotent, thread-safe). */
void core_init(void);

#endif /* PMEM2_UTILS_H */
