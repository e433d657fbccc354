/* SPDX-License-Identifier: BSD-3-Clause */
/* shim.h -- internals shared by the shim's files (hidden, never exported). */
#ifndef PMEMSHIM_SHIM_H
#define PMEMSHIM_SHIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "map.h"
#include "os.h"

/* ---- configuration (init.c) ---------------------------------------- */

#define SHIM_MAX_PATHS 16

struct shim_config {
	bool enabled;		/* PMEMSHIM_FILTER matched (or unset) */
	bool detect_real;	/* PMEMSHIM_DAX=auto */
	bool memcpy_nt;		/* PMEMSHIM_MEMCPY=nt */
	bool track_dirty;	/* PMEMSHIM_TRACK=auto */
	bool alias;		/* PMEMSHIM_ALIAS=auto */
	int log_level;		/* PMEMSHIM_LOG: 0 off ... 3 every hook */
	int stats;		/* PMEMSHIM_STATS: 0 off, 1 stderr, 2 file */
	enum pmem2_granularity emu_gran;	/* PMEMSHIM_GRANULARITY */
	size_t npaths;
	char paths[SHIM_MAX_PATHS][256];	/* canonical, no trailing / */
	char stats_file[256];
};

extern struct shim_config shim_cfg;

/*
 * shim_init -- parse the environment once (idempotent, thread-safe; the
 * mmap hooks call it when they run before the constructor did).
 */
void shim_init(void);
/* shim_ready -- true once shim_init has finished. */
extern _Atomic int shim_inited;

/* shim_log -- a line on the original stderr (never stdio, never malloc). */
void shim_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* shim_write_err -- raw bytes to the original stderr, if still open. */
void shim_write_err(const char *buf, size_t len);

/*
 * In_hook -- set while a hook runs core code, so the core's own calls to
 * memcpy/memmove/mmap (which bind to our hooks inside libpmemshim.so) go
 * straight to the real functions instead of recursing.  initial-exec TLS:
 * no allocation, no lazy TLS set-up on first touch.
 */
extern __thread int shim_in_hook
	__attribute__((tls_model("initial-exec")));

/* ---- classification (classify.c) ----------------------------------- */

enum shim_class {
	SHIM_NOT_DAX = 0,
	SHIM_REAL_DAX,		/* devdax, STATX_ATTR_DAX or MAP_SYNC probe */
	SHIM_EMULATED_DAX,	/* under a PMEMSHIM_DAX_PATHS directory */
};

/* what statx tells about a file beyond its struct stat */
struct shim_ident {
	struct timespec birth;	/* {0, 0}: not reported */
	int dax;		/* STATX_ATTR_DAX: 1 or 0, -1 not reported */
};
/*
 * shim_fstat -- fstat(fd, st) made by one statx, which also fills *id;
 * fstat's result where statx fails (id then reports nothing).
 */
int shim_fstat(int fd, struct stat *st, struct shim_ident *id);
/*
 * shim_classify -- the class of the open file fd (st, id: from
 * shim_fstat), cached per (device, inode); a reused inode number is never
 * trusted (classify.c: cached).
 */
enum shim_class shim_classify(int fd, const struct stat *st,
	const struct shim_ident *id);
/* Granularity of real-DAX mappings once decided (sysfs read once). */
extern enum pmem2_granularity shim_real_gran;
/* fork: 0 prepare, 1 parent, 2 child (init.c registers them) */
void shim_classify_atfork(int phase);
/*
 * shim_mutex_atfork -- the fork protocol of one mutex: 0 (prepare) holds
 * it so no other thread is half-way through what it guards, 1 (parent)
 * releases it, 2 (child, one thread left) makes it new.
 */
void shim_mutex_atfork(pthread_mutex_t *m, int phase);
void shim_maps_atfork(int phase);
/*
 * shim_maps_fork_advice -- MADV_DONTFORK (dontfork) or MADV_DOFORK over
 * [lo, hi), before the kernel call (madvise hook).
 */
void shim_maps_fork_advice(uintptr_t lo, uintptr_t hi, bool dontfork);

/* ---- mappings (hooks_mmap.c) --------------------------------------- */

/*
 * struct shim_map -- a mapping the shim took over.  Never returned to
 * malloc: a hook in another thread may still read one that a racing munmap
 * just retired (that is a program bug, but it must not become a crash).
 */
struct shim_map {
	struct pmem2_map m;	/* m.shim_data == this */
	dev_t dev;
	ino_t ino;
	uintptr_t base;		/* an address of the mapping ... */
	off_t base_off;		/* ... and the file offset it maps */
	enum shim_class cls;
	_Atomic bool tracked;	/* written pages known (dirty.c) */
	_Atomic bool present_only;	/* was tracked: its pages this process
					 * has not mapped hold none of its
					 * stores (dirty.c) */
	uintptr_t protected_end;	/* tracked: write-protected when made
					 * up to here (the file's end then) */
	_Atomic unsigned dense;	/* flushes in a row that found most of
				 * their range written (dirty.c) */
	bool flush_whole;	/* flush every page asked for, never ask the
				 * page tables which are mapped (device DAX
				 * that may hold 1 GiB pages: hooks_mmap.c) */
	_Atomic bool ask;	/* a small msync found a page past the
				 * file's end: scan first from now on
				 * (hooks_msync.c, flush_small) */
	_Atomic bool dontfork;	/* MADV_DONTFORK touched it: a fork's child
				 * does not have it (hooks_mmap.c) */
	_Atomic unsigned char blocked;	/* SHIM_BLOCK_*: why it is not
					 * served whole (hooks_mmap.c) */
	/* the mover's view of [alias_lo, alias_hi), 0 if none (alias.c) */
	_Atomic uintptr_t alias;
	uintptr_t alias_lo, alias_hi;
	_Atomic bool alias_banned;	/* mprotect touched the mapping, or
					 * no alias could be made */
	_Atomic unsigned copies;	/* mover copies into it so far */
	struct shim_map *next_free;
	/* copies through the alias now: last, as map_alloc keeps it when
	 * the struct is reused (a copy that looked the mapping up before
	 * it went may still be counting) */
	_Atomic unsigned alias_users;
};

/*
 * shim_next -- libc's NAME@VERSION (dlvsym RTLD_NEXT), looked up on the
 * first call and kept in *cache; NULL if libc has none.  For hooks off
 * the fast paths only.
 */
void *shim_next(void *_Atomic *cache, const char *name, const char *version);

/*
 * shim_alloc -- malloc for the shim's own objects (mappings, the class
 * cache), failing when a test's fault injection says so (core_fault_*,
 * CORE_FAULT_ALLOC): every caller has a way to go on without memory.
 */
void *shim_alloc(size_t size);

/* shim_map_of -- the shim mapping an entry's object is, or NULL. */
struct registry_entry;
struct shim_map *shim_map_of(const struct registry_entry *e);

/*
 * Why a piece of a shim mapping is not served as a whole: the program
 * took read access away (mprotect), or gave it a protection key other
 * than the default (pkey_mprotect).  Such a piece stays in the registry,
 * and copies into it go to libc (the mover's alias would bypass the
 * key).  A PROT piece is never flushed (a CLWB there would fault): its
 * msync goes to the kernel, and it is served again when access comes
 * back.  A PKEY piece is flushed as ever, with this thread's PKRU opened
 * for reads for the duration (shim_pkru_open): its rights can change
 * with WRPKRU at any time, without a system call the shim could see, and
 * on fsdax the kernel's msync would not flush it (hooks_msync.c).
 */
#define SHIM_BLOCK_PROT 1
#define SHIM_BLOCK_PKEY 2

/* shim_served -- s is served whole: flushed and copied into by the
 * shim (s may be NULL) */
static inline bool
shim_served(const struct shim_map *s)
{
	return s && !atomic_load_explicit(&s->blocked, memory_order_relaxed);
}

/* shim_flushable -- s's msync, fsync and flushes are the shim's (s may
 * be NULL) */
static inline bool
shim_flushable(const struct shim_map *s)
{
	return s && !(atomic_load_explicit(&s->blocked, memory_order_relaxed) &
			SHIM_BLOCK_PROT);
}

/*
 * shim_flush_guarded -- fn(a, len), a flush of a mapping: a SIGBUS at an
 * address in the range (a page cut off by another process's truncate)
 * ends it there, counted as flushes_cut_short (sigbus.c).  The handler is
 * installed at the first call; sigaction and signal() keep the program's
 * view of SIGBUS.
 */
void shim_flush_guarded(void (*fn)(const void *, size_t), uintptr_t a,
	size_t len);
/*
 * shim_flush_unasked -- fn(a, len) over pages nobody asked the kernel
 * about (hooks_msync.c, flush_small): 1 if it ran to its end; 0 if a
 * SIGBUS cut it short (a page past the file's end: nothing counted,
 * nothing logged); -1, nothing flushed, if the guard is not in the
 * kernel.
 */
int shim_flush_unasked(void (*fn)(const void *, size_t), uintptr_t a,
	size_t len);
void shim_sigbus_init(void);
void shim_sigbus_atfork_child(void);

/*
 * shim_pkru_open / shim_pkru_close -- around a flush that may meet a
 * PKEY piece: clear this thread's access-disable bits in PKRU (CLWB is
 * checked as a load), and put the program's value back.  Nothing is
 * done until a pkey_mprotect with a key other than the default has
 * succeeded (shim_pkeys_used): only then is PKRU known to exist.  PKRU
 * is per thread, and a signal handler starts with the kernel's default
 * and returns to the value it interrupted.  open returns what close
 * needs: 0 when it changed nothing, else bit 32 and the program's value.
 */
extern _Atomic bool shim_pkeys_used;

#define shim_rdpkru os_rdpkru
#define shim_wrpkru os_wrpkru

static inline uint64_t
shim_pkru_open(void)
{
	if (!atomic_load_explicit(&shim_pkeys_used, memory_order_acquire))
		return 0;
	uint32_t old = shim_rdpkru();
	uint32_t open = old & ~0x55555555u;	/* AD, bit 2k of key k */
	if (open == old)
		return 0;
	shim_wrpkru(open);
	return (uint64_t)1 << 32 | old;
}

static inline void
shim_pkru_close(uint64_t saved)
{
	if (saved)
		shim_wrpkru((uint32_t)saved);
}

/*
 * shim_each_overlap -- fn(ctx, e) for every registry entry overlapping
 * [lo, hi), in address order, fetched 16 at a time (fn may change the
 * registry: the next batch starts past the last entry seen); stops at
 * fn's first nonzero result and returns it, else 0.
 */
int shim_each_overlap(uintptr_t lo, uintptr_t hi,
	int (*fn)(void *ctx, const struct registry_entry *e), void *ctx);

/* Number of live shim mappings (fsync's fast exit). */
extern _Atomic long shim_nmaps;
/*
 * Set once a shim mapping that needs cache flushes (granularity above
 * BYTE) was made, never cleared: until then fsync and fdatasync need no
 * file look-up, only a fence (hooks_msync.c, sync_file).
 */
extern _Atomic bool shim_flushing_maps;

/* ---- msync / flushing (hooks_msync.c) ------------------------------ */

/*
 * shim_flush_gone -- flush (and drain) what can be dirty in the shim
 * mappings of [lo, hi), which are leaving the shim (leaving: munmap and
 * the like; registry lock held) or losing page-table entries (madvise:
 * only the mappings whose later flush would miss them).  True if any
 * mapping was flushed.
 */
bool shim_flush_gone(uintptr_t lo, uintptr_t hi, bool leaving);

/*
 * shim_flush_runs -- flush, in mapping s, the pages of the np from a that
 * mincore's vec marks resident, one flush per run; the bytes flushed.
 */
size_t shim_flush_runs(struct shim_map *s, uintptr_t a,
	const unsigned char *vec, size_t np);

/* ---- written-page tracking (dirty.c) ------------------------------- */

/*
 * shim_dirty_track -- register [addr, addr + len) (a mapping just made,
 * nothing stored through it yet) so that stores to it are recorded, and
 * write-protect up to its first *protect bytes (the pages inside the
 * file, see hooks_mmap.c): *protect is set to what was protected, 0 where
 * scans will not need it (dirty.c); false when the kernel or the
 * configuration does not allow it.
 */
bool shim_dirty_track(void *addr, size_t len, size_t *protect);
/*
 * shim_dirty_flush -- flush the pages of [lo, hi) (in tracked mapping s)
 * written since their last flush; reprotect: record new stores from now
 * on (MS_ASYNC leaves the pages listed, for the MS_SYNC that waits).
 * Returns 0, or -1 when the tracking is gone (fork, mremap, descriptor
 * closed): then [*stop, hi) was not flushed and the caller must flush it
 * some other way.
 */
int shim_dirty_flush(struct shim_map *s, uintptr_t lo, uintptr_t hi,
	bool reprotect, uintptr_t fast_end, size_t *flushed, uintptr_t *stop);

/*
 * shim_dirty_untrack -- s is no longer tracked (fork, mremap, a closed
 * descriptor, the program's own userfaultfd): its flushes use
 * shim_dirty_present from now on.  Whether it was tracked.  (Dense writes
 * end the tracking too, but go back to mincore: dirty.c.)
 */
bool shim_dirty_untrack(struct shim_map *s);

/*
 * shim_dirty_present -- flush the pages of [lo, hi) in mapping s that this
 * process has mapped (present, or a written page on its way back), adding
 * the bytes to *flushed: what an untracked emulated-DAX mapping that was
 * tracked needs (dirty.c).  0, or -1 with *stop where it stopped (mincore
 * must do the rest).
 */
int shim_dirty_present(struct shim_map *s, uintptr_t lo, uintptr_t hi,
	size_t *flushed, uintptr_t *stop);
/*
 * shim_dirty_note -- after a reprotecting shim_dirty_flush of [lo, hi),
 * all in mapping s, that found written bytes: drops the tracking of a
 * mapping whose flushes keep finding most of their range written.
 */
void shim_dirty_note(struct shim_map *s, uintptr_t lo, uintptr_t hi,
	size_t written);
/*
 * shim_dirty_intact -- is every mapping in [lo, hi) still tracked by this
 * process's userfaultfd?  (A scan that records and protects nothing.)
 */
bool shim_dirty_intact(uintptr_t lo, uintptr_t hi);
/*
 * shim_dirty_release -- end the tracking of the mappings in [lo, hi)
 * and take the shim's userfaultfd registration off them (they fall back
 * to every page this process has mapped, always enough); why: for the
 * log.  Before the program registers its own userfaultfd there (a range
 * belongs to one only), and before mremap moves them (hooks_mmap.c).
 * Takes the registry lock.
 */
void shim_dirty_release(uintptr_t lo, uintptr_t hi, const char *why);
void shim_dirty_atfork(int phase);
/*
 * shim_dirty_fds_closing -- the program is about to close or replace the
 * descriptors [lo, hi] (hooks_fd.c): if one of ours is among them, our
 * descriptors are checked by fstat before every use from now on.
 */
void shim_dirty_fds_closing(unsigned lo, unsigned hi);

/* ---- the mover's alias of a tracked mapping (alias.c) -------------- */

/*
 * shim_alias_enter -- for a mover copy of n bytes to *d (from *src) in
 * shim mapping s (registry entry e): true, with *d (and *src when it lies
 * in the same mapping) moved into the alias, and the alias held until
 * shim_alias_leave; false: copy where the program said.
 */
bool shim_alias_enter(struct shim_map *s, const struct registry_entry *e,
	void **d, const void **src, size_t n);
void shim_alias_leave(struct shim_map *s);
/*
 * shim_alias_drop -- unmap s's alias once no copy uses it (registry lock
 * held); ban: never make another (mprotect).
 */
void shim_alias_drop(struct shim_map *s, bool ban);
/*
 * shim_alias_atfork_child -- in a fork's child, before anything may drop
 * an alias: no copy is in flight there.  Resets the counts of the mappings
 * in the registry; true when retired ones must be reset too (an alias was
 * ever made).
 */
bool shim_alias_atfork_child(void);

/* ---- statistics (stats.c) ------------------------------------------ */

enum shim_counter {
	ST_MAPS_TAKEN,		/* mmaps of DAX files taken over */
	ST_MAPS_REAL,		/* of those, files the kernel calls DAX */
	ST_MAPS_DAX_PASSED,	/* DAX files mapped but left to the kernel */
	ST_MAPS_NOT_REG,	/* taken but not registrable (no MAP_SYNC) */
	ST_MAPS_TRACKED,	/* of those taken, with written-page tracking */
	ST_MAPS_UNTRACKED,	/* tracking dropped: mostly-written ranges,
				 * or the program's own userfaultfd */
	ST_MSYNC_USER,		/* msyncs served entirely in user space */
	ST_MSYNC_MIXED,		/* partly user space, partly kernel */
	ST_MSYNC_KERNEL,	/* msyncs that touched a DAX range but went to
				 * the kernel (bad arguments, PAGE maps) */
	ST_MSYNC_BYTES,		/* bytes flushed from user space */
	ST_MSYNC_SKIPPED,	/* bytes not flushed: pages not resident, or
				 * not written since their last flush */
	ST_SCANS,		/* PAGEMAP_SCANs for written pages */
	ST_MSYNC_UNASKED,	/* small msyncs flushed whole, without a
				 * scan (hooks_msync.c, flush_small) */
	ST_MSYNC_PAST_END,	/* of those tried, cut short by the file's
				 * end: their mapping asks from then on */
	ST_FSYNC_FLUSH,		/* fsync/fdatasync of a file with shim
				 * mappings, served by flushing them */
	ST_LAYOUT_FLUSH,	/* truncate/fallocate that flushed mappings */
	ST_MADVISE_FLUSH,	/* madvise(DONTNEED) that flushed mappings */
	ST_UNMAP_FLUSH,		/* munmap, MAP_FIXED, mremap or mprotect that
				 * flushed the shim ranges it took away */
	ST_SYNC_FLUSH,		/* sync, syncfs, sync_file_range that
				 * flushed shim mappings */
	ST_EXIT_FLUSH,		/* exits that flushed shim mappings */
	ST_EXEC_FLUSH,		/* execs that flushed shim mappings */
	ST_FLUSH_CUT,		/* flush runs ended by SIGBUS: pages cut
				 * off by another process (sigbus.c) */
	ST_COPY_CALLS,		/* memcpy/memmove into a DAX mapping */
	ST_COPY_BYTES,
	ST_COPY_NT_BYTES,	/* of which through the core's mover */
	ST_COPY_ALIAS_BYTES,	/* of which through an alias (no fault, no
				 * flush at msync) */
	ST_ALIASES,		/* aliases made */
	ST_ALIASES_LEFT,	/* left mapped: a copy never returned */
	ST_UNMAPS,		/* munmap/mremap/MAP_FIXED over DAX ranges */
	ST_PROTECT_DROPS,	/* mprotect without read access over DAX
				 * ranges: those are no longer flushed */
	ST_PROTECT_RESTORES,	/* mprotect giving access back: flushed
				 * again */
	ST_CLASSIFIED,		/* files classified (the cache could not
				 * answer: classify.c) */
	ST_NCOUNTERS
};

/*
 * shim_flush_where -- flush (and drain) what can be dirty in every shim
 * mapping (any_dev) or in those of files on device dev; count the call in
 * counter if there were any.  Takes the registry lock; nothing inside
 * a hook (shim_in_hook); errno kept.  The mappings found; the bytes
 * flushed added to *flushed (may be NULL).
 */
size_t shim_flush_where(bool any_dev, dev_t dev, enum shim_counter counter,
	size_t *flushed);

/*
 * shim_flush_at_end -- the process image ends (why: "exit", "exec",
 * "_exit"): flush every shim mapping, counted in counter -- unless this
 * is a vfork child, whose parent keeps the mappings (init.c).
 */
void shim_flush_at_end(enum shim_counter counter, const char *why);

/* shim_layout_atfork_child -- a fork's child: no flush or truncate runs */
void shim_layout_atfork_child(void);

extern _Atomic unsigned long shim_counters[ST_NCOUNTERS];

/*
 * shim_stats_atfork_child -- a fork's child counts from zero: its report
 * (PMEMSHIM_STATS) is its own work, not its parent's as well
 */
void shim_stats_atfork_child(void);

static inline void
shim_count(enum shim_counter c, unsigned long n)
{
	atomic_fetch_add_explicit(&shim_counters[c], n, memory_order_relaxed);
}

enum shim_site_kind { SITE_MSYNC, SITE_COPY };
/* shim_site -- attribute one call (and bytes) to the caller's address. */
void shim_site(enum shim_site_kind kind, void *ip, size_t bytes);
/* shim_site_msync -- capture the msync caller's stack with libunwind. */
void shim_site_msync(size_t bytes, void *caller);
/* shim_stats_init -- load libunwind when PMEMSHIM_STATS is set (ctor). */
void shim_stats_init(void);
void shim_stats_report(void);

/* ---- real functions (hooks_mem.c) ---------------------------------- */

void shim_resolve_real(void);
extern void *(*_Atomic shim_real_memcpy)(void *, const void *, size_t);

#endif /* PMEMSHIM_SHIM_H */
