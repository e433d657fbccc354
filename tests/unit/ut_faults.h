/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ut_faults.h -- the fault-injection loop shared by the suites: an
 * operation runs again and again with the n-th allocation, mmap or munmap
 * of the core failing (n = 0, 1, ...) until a run makes fewer calls of
 * that kind than n.  After every injected failure the call must return
 * -ENOMEM (what the failed call reports) with a message, and the state --
 * open fds, the registry, the whole of /proc/self/maps and, when given, a
 * reservation's size and mapping count -- must be exactly what it was
 * before the call.  A failure the operation absorbs (the call still
 * succeeds) is allowed only if undoing the call then restores the state
 * too.  Heap leaks are not measured here (mallinfo counts glibc's tcache
 * as in use): the suites run under LeakSanitizer and valgrind memcheck
 * (tests/reliability), which see every injected path's leak at exit.
 */
#ifndef UT_FAULTS_H
#define UT_FAULTS_H

#include <dirent.h>
#include <errno.h>

#include "pmem2_utils.h"
#include "registry.h"
#include "ut_common.h"
#include "vm_reservation.h"

struct ut_state {
	int fds;
	size_t regs;
	size_t rsize, nmaps;
	char maps[16384];
};

static inline void
ut_state_get(struct ut_state *s, struct pmem2_vm_reservation *rsv)
{
	s->fds = 0;
	DIR *d = opendir("/proc/self/fd");
	cr_assert_not_null(d);
	while (readdir(d))
		s->fds++;
	closedir(d);
	s->regs = registry_count();
	s->rsize = rsv ? pmem2_vm_reservation_get_size(rsv) : 0;
	s->nmaps = rsv ? rsv->nmaps : 0;
	int fd = open("/proc/self/maps", O_RDONLY);
	cr_assert_geq(fd, 0);
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(s->maps) - 1 &&
			(r = read(fd, s->maps + n, sizeof(s->maps) - 1 - n)) > 0)
		n += (size_t)r;
	s->maps[n] = '\0';
	close(fd);
	/* malloc's own mappings move: the [heap] line, and under ASan its
	 * allocator space (0x600000000000..0x640000000000 on x86-64) */
	for (char *l = s->maps; *l; ) {
		char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) + 1 : strlen(l);
		unsigned long long start = strtoull(l, NULL, 16);
		int drop = memmem(l, len, "[heap]", 6) != NULL;
#ifdef __SANITIZE_ADDRESS__
		drop |= start >= 0x600000000000ULL &&
			start < 0x640000000000ULL;
#endif
		(void) start;
		if (drop)
			memmove(l, l + len, strlen(l + len) + 1);
		else
			l += len;
	}
}

/* ut_maps_diff -- the lines of a missing from b, each prefixed with c */
static inline void
ut_maps_diff(const char *a, const char *b, char c, char *out, size_t size)
{
	size_t n = 0;
	out[0] = '\0';
	for (const char *l = a; *l; ) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) + 1 : strlen(l);
		char line[512];
		snprintf(line, sizeof(line), "%.*s", (int)len, l);
		if (!strstr(b, line) && n + len + 2 < size)
			n += (size_t)snprintf(out + n, size - n, "%c%s", c,
				line);
		l += len;
	}
}

static inline void
ut_state_same(const struct ut_state *a, const struct ut_state *b,
	const char *what, int kind, long site)
{
	cr_assert_eq(a->fds, b->fds, "%s kind %d site %ld: fds %d -> %d",
		what, kind, site, a->fds, b->fds);
	cr_assert_eq(a->regs, b->regs, "%s kind %d site %ld: registry "
		"%zu -> %zu", what, kind, site, a->regs, b->regs);
	cr_assert_eq(a->rsize, b->rsize, "%s kind %d site %ld: reservation "
		"size changed", what, kind, site);
	cr_assert_eq(a->nmaps, b->nmaps, "%s kind %d site %ld: reservation "
		"mapping count changed", what, kind, site);
	/* under valgrind its own mappings come and go in /proc/self/maps:
	 * that run is for invalid accesses and leaks, this one is not */
	const char *pre = getenv("LD_PRELOAD");
	if (pre && strstr(pre, "vgpreload"))
		return;
	if (strcmp(a->maps, b->maps)) {
		static char d[8192];
		ut_maps_diff(a->maps, b->maps, '-', d, sizeof(d) / 2);
		ut_maps_diff(b->maps, a->maps, '+', d + strlen(d),
			sizeof(d) / 2);
		cr_assert_fail("%s kind %d site %ld: address space changed "
			"(- before, + after):\n%s", what, kind, site, d);
	}
}

/*
 * struct ut_fault_op -- setup (may be NULL) makes the preconditions with
 * faults off; run is the call under test; after a failed run, cleanup
 * (may be NULL) removes what setup made; after a successful run, undo
 * (may be NULL) removes what run made.
 */
struct ut_fault_op {
	const char *name;
	int (*setup)(void *ctx, void **obj);
	int (*run)(void *ctx, void **obj);
	void (*cleanup)(void *ctx, void *obj);
	void (*undo)(void *ctx, void *obj);
};

static const char *const Ut_kind_names[] = { "alloc", "mmap", "munmap" };

/*
 * ut_fault_sites -- inject every site of every kind into op in turn;
 * returns how many injected failures the call reported (absorbed ones
 * go to *absorbed).
 */
static inline int
ut_fault_sites(const struct ut_fault_op *op, void *ctx,
	struct pmem2_vm_reservation *rsv, int *absorbed)
{
	static struct ut_state s0, s1, s2;
	int sites = 0;
	/*
	 * one run without faults first: the state after it is the one every
	 * later run must come back to (a shrink may hand back slack that
	 * the reservation's creation kept, lazy set-up happens once)
	 */
	void *obj = NULL;
	if (op->setup)
		ut_assert_ok(op->setup(ctx, &obj));
	ut_assert_ok(op->run(ctx, &obj));
	if (op->undo)
		op->undo(ctx, obj);
	for (int kind = CORE_FAULT_ALLOC; kind <= CORE_FAULT_MUNMAP; kind++) {
		for (long n = 0; ; n++) {
			cr_assert_lt(n, 1000, "%s: no end of %s sites",
				op->name, Ut_kind_names[kind]);
			obj = NULL;
			ut_state_get(&s0, rsv);
			if (op->setup)
				ut_assert_ok(op->setup(ctx, &obj));
			ut_state_get(&s1, rsv);
			core_fault_set(kind, n);
			int ret = op->run(ctx, &obj);
			int fired = core_fault_get(kind) == -1;
			core_fault_set(kind, -1);
			if (ret != 0) {
				cr_assert(fired, "%s failed (%d: %s) without "
					"an injected fault", op->name, ret,
					pmem2_errormsg());
				cr_assert_eq(ret, -ENOMEM, "%s: %s site %ld "
					"gave %d (%s), not -ENOMEM", op->name,
					Ut_kind_names[kind], n, ret,
					pmem2_errormsg());
				cr_assert_neq(pmem2_errormsg()[0], 0,
					"%s %s site %ld: no message", op->name,
					Ut_kind_names[kind], n);
				ut_state_get(&s2, rsv);
				ut_state_same(&s1, &s2, op->name, kind, n);
				if (op->cleanup)
					op->cleanup(ctx, obj);
				sites++;
			} else {
				if (op->undo)
					op->undo(ctx, obj);
				if (fired)
					(*absorbed)++;
			}
			ut_state_get(&s2, rsv);
			ut_state_same(&s0, &s2, op->name, kind, n);
			if (!fired)
				break;
			if (ret == 0)
				cr_log_info("%s: %s site %ld absorbed "
					"(the call succeeded)", op->name,
					Ut_kind_names[kind], n);
		}
	}
	return sites;
}

#endif /* UT_FAULTS_H */
