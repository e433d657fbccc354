/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stats.c -- PMEMSHIM_STATS: counters, and the call sites of msync and of
 * copies into DAX.  The hot side only stores instruction pointers in a
 * fixed lock-free table (no malloc, no locks); names are found at exit.
 * msync sites are whole stacks captured with libunwind (the interesting
 * caller is usually a few frames above a library's sync wrapper); copy
 * sites are just the caller's return address.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>	/* for the prototype; the library is dlopen'ed */

#include "shim.h"

#define SITE_DEPTH 3
#define SITE_SLOTS 512	/* power of two */

_Atomic unsigned long shim_counters[ST_NCOUNTERS] FORK_DATA;

struct site {
	_Atomic uintptr_t key;	/* hash of kind + ips; 0: free */
	uintptr_t ip[SITE_DEPTH];
	int kind;
	_Atomic unsigned long calls, bytes;
};

static struct site Sites[SITE_SLOTS];
static _Atomic unsigned long Sites_lost;

/* site_add -- open addressing; a slot is claimed by CAS on its key. */
static void
site_add(int kind, const uintptr_t *ip, size_t bytes)
{
	uintptr_t h = (uintptr_t)kind + 1;
	for (int i = 0; i < SITE_DEPTH; i++)
		h = (h ^ ip[i]) * 0x9E3779B97F4A7C15ull;
	if (!h)
		h = 1;
	for (size_t p = 0; p < 16; p++) {
		struct site *s = &Sites[(h + p) & (SITE_SLOTS - 1)];
		uintptr_t k = atomic_load_explicit(&s->key,
				memory_order_acquire);
		if (k == 0) {
			uintptr_t zero = 0;
			/* fill before publishing the key */
			for (int i = 0; i < SITE_DEPTH; i++)
				s->ip[i] = ip[i];
			s->kind = kind;
			if (atomic_compare_exchange_strong(&s->key, &zero, h))
				k = h;
			else
				k = zero;
		}
		if (k == h) {
			atomic_fetch_add_explicit(&s->calls, 1,
					memory_order_relaxed);
			atomic_fetch_add_explicit(&s->bytes, bytes,
					memory_order_relaxed);
			return;
		}
	}
	atomic_fetch_add_explicit(&Sites_lost, 1, memory_order_relaxed);
}

/*
 * Stores only where there is something to clear: this runs in every fork
 * child (a shell forks once per command), and a store to a page the child
 * shares with its parent copies it -- a fault, or a page of its own for
 * the call-site table (24 KiB) that nobody filled.  Written everywhere,
 * that cost ~15 us per fork+exec of /bin/true under a preloaded shell.
 */
static void
clear(_Atomic unsigned long *v)
{
	if (atomic_load_explicit(v, memory_order_relaxed))
		atomic_store_explicit(v, 0, memory_order_relaxed);
}

void
shim_stats_atfork_child(void)
{
	for (int i = 0; i < ST_NCOUNTERS; i++)
		clear(&shim_counters[i]);
	if (!shim_cfg.stats)
		return;		/* the call sites are kept for the report only */
	for (size_t i = 0; i < SITE_SLOTS; i++) {
		if (!atomic_load_explicit(&Sites[i].key, memory_order_relaxed))
			continue;
		atomic_store_explicit(&Sites[i].key, 0, memory_order_relaxed);
		clear(&Sites[i].calls);
		clear(&Sites[i].bytes);
	}
	clear(&Sites_lost);
}

void
shim_site(enum shim_site_kind kind, void *ip, size_t bytes)
{
	uintptr_t ips[SITE_DEPTH] = { (uintptr_t)ip };
	site_add(kind, ips, bytes);
}

/*
 * Backtrace -- libunwind's unw_backtrace, loaded by the constructor only
 * when PMEMSHIM_STATS is set: a program run without statistics does not
 * pay for loading libunwind (and liblzma) at start-up.
 */
static int (*_Atomic Backtrace)(void **, int);

void
shim_stats_init(void)
{
	if (!shim_cfg.stats)
		return;
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
	void *f = h ? dlsym(h, "unw_backtrace") : NULL;
	if (f)
		atomic_store(&Backtrace, (int (*)(void **, int))f);
	else
		shim_log(1, "PMEMSHIM_STATS: libunwind.so.8 not loadable, msync "
			"sites are only the direct caller");
}

void
shim_site_msync(size_t bytes, void *caller)
{
	void *bt[SITE_DEPTH + 2];
	uintptr_t ips[SITE_DEPTH] = { (uintptr_t)caller };
	int (*f)(void **, int) = atomic_load(&Backtrace);
	/* frames: [0] this function, [1] msync, [2...] the callers */
	int n = f ? f(bt, SITE_DEPTH + 2) : 0;
	for (int i = 2; i < n && i - 2 < SITE_DEPTH; i++)
		ips[i - 2] = (uintptr_t)bt[i];
	site_add(SITE_MSYNC, ips, bytes);
}

/* ---- report -------------------------------------------------------- */

static const char *const Names[ST_NCOUNTERS] = {
	[ST_MAPS_TAKEN] = "maps_taken_over",
	[ST_MAPS_REAL] = "maps_taken_real_dax",
	[ST_MAPS_DAX_PASSED] = "maps_dax_passed_on",
	[ST_MAPS_NOT_REG] = "maps_no_map_sync",
	[ST_MAPS_TRACKED] = "maps_dirty_tracked",
	[ST_MAPS_UNTRACKED] = "maps_dirty_tracking_dropped",
	[ST_MSYNC_USER] = "msync_user_space",
	[ST_MSYNC_MIXED] = "msync_mixed",
	[ST_MSYNC_KERNEL] = "msync_passed_on",
	[ST_MSYNC_BYTES] = "msync_bytes_flushed",
	[ST_MSYNC_SKIPPED] = "msync_bytes_skipped",
	[ST_SCANS] = "written_page_scans",
	[ST_MSYNC_UNASKED] = "msyncs_flushed_unscanned",
	[ST_MSYNC_PAST_END] = "small_msyncs_past_end",
	[ST_FSYNC_FLUSH] = "fsync_flushes",
	[ST_LAYOUT_FLUSH] = "truncate_flushes",
	[ST_MADVISE_FLUSH] = "madvise_flushes",
	[ST_UNMAP_FLUSH] = "unmap_flushes",
	[ST_SYNC_FLUSH] = "sync_flushes",
	[ST_EXIT_FLUSH] = "exit_flushes",
	[ST_EXEC_FLUSH] = "exec_flushes",
	[ST_FLUSH_CUT] = "flushes_cut_short",
	[ST_COPY_CALLS] = "copies_into_dax",
	[ST_COPY_BYTES] = "bytes_copied_into_dax",
	[ST_COPY_NT_BYTES] = "bytes_moved_by_core",
	[ST_COPY_ALIAS_BYTES] = "bytes_moved_through_alias",
	[ST_ALIASES] = "mover_aliases_made",
	[ST_ALIASES_LEFT] = "mover_aliases_left_mapped",
	[ST_UNMAPS] = "unmaps_of_dax_ranges",
	[ST_PROTECT_DROPS] = "protects_dropping_dax_ranges",
	[ST_PROTECT_RESTORES] = "protects_restoring_dax_ranges",
	[ST_CLASSIFIED] = "files_classified",
};


struct out {
	int fd;
	char buf[4096];
	size_t n;
};

static void
out_flush(struct out *o)
{
	if (o->fd < 0)
		shim_write_err(o->buf, o->n);
	else if (write(o->fd, o->buf, o->n) < 0)
		o->fd = -2;
	o->n = 0;
}

__attribute__((format(printf, 2, 3))) static void
out_printf(struct out *o, const char *fmt, ...)
{
	char line[768];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (o->n + (size_t)n > sizeof(o->buf))
		out_flush(o);
	memcpy(o->buf + o->n, line, (size_t)n);
	o->n += (size_t)n;
}

/* sym -- "object(function+0xoff)" for ip (a return address) */
static void
sym(uintptr_t ip, char *buf, size_t len)
{
	Dl_info di;
	if (ip && dladdr((void *)(ip - 1), &di) && di.dli_fname) {
		const char *obj = strrchr(di.dli_fname, '/');
		obj = obj ? obj + 1 : di.dli_fname;
		if (di.dli_sname)
			snprintf(buf, len, "%s(%s+0x%lx)", obj, di.dli_sname,
				(unsigned long)(ip - (uintptr_t)di.dli_saddr));
		else
			snprintf(buf, len, "%s(+0x%lx)", obj, (unsigned long)
				(ip - (uintptr_t)di.dli_fbase));
	} else {
		snprintf(buf, len, "0x%lx", (unsigned long)ip);
	}
}

static void
report_sites(struct out *o, int kind, const char *title)
{
	const int top = 5;
	struct site *best[5] = { 0 };
	for (size_t i = 0; i < SITE_SLOTS; i++) {
		struct site *s = &Sites[i];
		if (!atomic_load(&s->key) || s->kind != kind)
			continue;
		for (int j = 0; j < top; j++) {
			if (!best[j] || atomic_load(&s->calls) >
					atomic_load(&best[j]->calls)) {
				for (int k = top - 1; k > j; k--)
					best[k] = best[k - 1];
				best[j] = s;
				break;
			}
		}
	}
	out_printf(o, "pmemshim:   top call sites of %s:\n", title);
	for (int j = 0; j < top && best[j]; j++) {
		out_printf(o, "pmemshim:     %8lu calls %12lu bytes  ",
			atomic_load(&best[j]->calls),
			atomic_load(&best[j]->bytes));
		for (int d = 0; d < SITE_DEPTH && best[j]->ip[d]; d++) {
			char name[300];
			sym(best[j]->ip[d], name, sizeof(name));
			out_printf(o, "%s%s", d ? " <- " : "", name);
		}
		out_printf(o, "\n");
	}
}

void
shim_stats_report(void)
{
	int saved = errno;
	shim_in_hook = 1;
	struct out o = { .fd = -1 };
	if (shim_cfg.stats == 2) {
		o.fd = open(shim_cfg.stats_file, O_WRONLY | O_CREAT | O_APPEND |
				O_CLOEXEC, 0644);
		if (o.fd < 0) {
			shim_log(1, "PMEMSHIM_STATS: cannot open %s",
				shim_cfg.stats_file);
			o.fd = -1;
		}
	}
	out_printf(&o, "pmemshim: stats pid %d (%s)\n", (int)getpid(),
		program_invocation_short_name);
	for (int i = 0; i < ST_NCOUNTERS; i++)
		out_printf(&o, "pmemshim:   %-26s %lu\n", Names[i],
			atomic_load(&shim_counters[i]));
	report_sites(&o, SITE_MSYNC, "msync");
	report_sites(&o, SITE_COPY, "copies into DAX");
	if (atomic_load(&Sites_lost))
		out_printf(&o, "pmemshim:   %lu calls not attributed (site "
			"table full)\n", atomic_load(&Sites_lost));
	out_flush(&o);
	if (o.fd >= 0)
		close(o.fd);
	shim_in_hook = 0;
	errno = saved;
}

/*
 * pmemshim_counter -- introspection for tests and tools (PMEMSHIM_1.0):
 * the value of a counter by its report name, or (unsigned long)-1.
 */
__attribute__((visibility("default"))) unsigned long
pmemshim_counter(const char *name)
{
	for (int i = 0; i < ST_NCOUNTERS; i++)
		if (strcmp(name, Names[i]) == 0)
			return atomic_load(&shim_counters[i]);
	return (unsigned long)-1;
}
