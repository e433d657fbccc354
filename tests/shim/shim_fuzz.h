/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_fuzz.h -- shared by shim_fuzz.c (the calls, the runs, the driver)
 * and shim_fuzz_model.c (what a run holds: its files and mappings, and
 * the checks made after each call).
 */
#ifndef SHIM_FUZZ_H
#define SHIM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PG ((size_t)4096)
#define LINE 64
#define NF 4			/* files; the last is outside the DAX dir */
#define FPAGES 64		/* most pages a file grows to */
#define NM 128			/* model mappings (a fork's child splits
				 * them at its MADV_DONTFORK pages) */
#define ROOM 37			/* at most this many before a call that
				 * may split one and add one */
#define MPAGES 96		/* most pages in one mapping */
#define APAGES 1024		/* the arena */

struct file {
	int fd;
	char path[700];
	size_t size;
	int dax;
	unsigned char dirty[FPAGES * PG / LINE];  /* not flushed yet */
	long when[FPAGES * PG / LINE];	/* the op that stored there last */
	long ep[FPAGES * PG / LINE];	/* foreign_syncfs() before that store */
};

struct map {
	uintptr_t a;
	size_t np;
	int f;
	size_t off;		/* file offset of page 0, in pages */
	int shared;
	int taken;		/* shared, made writable, DAX file */
	int arena;
	unsigned char prot[MPAGES];
	uint64_t wr[MPAGES];	/* lines stored to through this page and
				 * not flushed since (bit n: line n) */
	unsigned char nofork[MPAGES];	/* MADV_DONTFORK: not in a child */
};

/*
 * With --threads N each thread of a run is a run of its own: its own
 * random stream, files, arena, mappings and trace, so everything below
 * marked TLS is per thread.
 */
#define TLS _Thread_local

/* shim_fuzz_model.c: the random stream */
uint64_t rnd64(void);
size_t rnd(size_t n);

/* the model: the run's files and mappings */
extern TLS struct file F[NF];
extern TLS struct map M[NM];
extern TLS int Nm;
extern TLS uintptr_t Arena;		/* APAGES pages */
extern TLS unsigned char Filled[APAGES];	/* PROT_NONE filler there */
extern TLS uint64_t Rng;
extern int Shim;		/* this run is the one under the shim */
extern int Threads;		/* threads in the run (--threads) */
extern TLS FILE *Trace;
extern TLS char Desc[256];		/* the call being made */
extern TLS long Op;
extern TLS int Undrained;	/* a flush not followed by a drain yet */
extern int Tracked;		/* written-page tracking expected */

/*
 * Another thread's syncfs flushes this thread's mappings too, and the
 * shim then knows those pages clean; this thread's model cannot see that
 * flush (it runs on the other thread).  So a line stored while another
 * thread's syncfs ran, or before one that began since, may be durable
 * with the model none the wiser: its obligations are not checked.
 * foreign_syncfs() -- a stamp taken before each store: -1 while another
 * thread's syncfs runs, else how many other threads' syncfs calls have
 * begun (always 0 with one thread).  syncfs_begin/_end bracket one.
 */
long foreign_syncfs(void);
void syncfs_begin(void);
void syncfs_end(void);
/* the shim's test entry points (NULL in the run without it) */
extern int (*Watch)(const void *, void (*)(const void *, size_t),
		void (*)(void));
extern int (*Registered)(const void *);
extern int (*Served)(const void *);	/* pmemshim_mapping_granularity */
extern int (*Registry_check)(void);	/* pmemshim_test_registry_check */
/*
 * Report_fd -- in a fork's child, where its flushes and drains are
 * written (a flush_rec each; addr NULL: a drain) for the parent to
 * replay() on its model; -1 elsewhere
 */
extern TLS int Report_fd;
struct flush_rec {
	const void *addr;
	size_t len;
};
void replay(int fd);

void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void desc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void forget(uintptr_t lo, uintptr_t hi, int moved);
void add_map(uintptr_t a, size_t np, int f, size_t off, int shared,
		int taken, int prot);
void refill(void);
void forget_nofork(void);
int served(uintptr_t va);
long line_of(const struct map *m, uintptr_t va);
void clean(int f, long l);
int owed(int f, long l);
uint64_t owed_lines(const struct map *m, size_t p);

/* the checks */
void check_registry(void);
void check_dirty(void);
void check_model(void);
void clean_range(uintptr_t lo, uintptr_t hi, const char *what);
void left_clean(int i, size_t p, size_t n, const char *what);
void clean_file(int f, size_t off, size_t len, const char *what);
uint64_t hash_map(const struct map *m);
uint64_t hash_files(void);

#endif
