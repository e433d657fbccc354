/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * init.c -- one-time set-up of the core, allocation helpers and the fault
 * injection hooks the tests use.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "persist.h"
#include "pmem2_utils.h"

size_t Pagesize = 4096;

static pthread_once_t Init_once = PTHREAD_ONCE_INIT;

static void
core_init_once(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	if (ps > 0)
		Pagesize = (size_t)ps;
	log_init();
	persist_init();
}

/*
 * core_init -- safe to call from any entry point and any thread; the
 * library constructor calls it too, so the API never pays for it later.
 */
void
core_init(void)
{
	pthread_once(&Init_once, core_init_once);
}

__attribute__((constructor)) static void
core_ctor(void)
{
	core_init();
}

__attribute__((destructor)) static void
core_dtor(void)
{
	log_fini();
}

/*
 * -1: disabled; otherwise the number of calls to let through first;
 * FAULT_STUCK: a sticky fault fired, every later call fails too.
 */
#define FAULT_STUCK (-2)
static _Atomic long Fault_countdown[3] = { -1, -1, -1 };
static _Atomic bool Fault_sticky[3];

void
core_fault_set(enum core_fault_kind kind, long countdown)
{
	atomic_store(&Fault_sticky[kind], false);
	atomic_store(&Fault_countdown[kind], countdown);
}

void
core_fault_set_sticky(enum core_fault_kind kind, long countdown)
{
	atomic_store(&Fault_sticky[kind], true);
	atomic_store(&Fault_countdown[kind], countdown);
}

/* core_fault_get -- the countdown left: < 0 once the fault fired (or off) */
long
core_fault_get(enum core_fault_kind kind)
{
	return atomic_load(&Fault_countdown[kind]);
}

/*
 * core_fault_hit -- true when this call must fail (tests only).  Off, it is
 * one relaxed load.
 */
int
core_fault_hit(enum core_fault_kind kind)
{
	long c = atomic_load_explicit(&Fault_countdown[kind],
			memory_order_relaxed);
	if (c == FAULT_STUCK)
		return 1;
	if (c < 0)
		return 0;
	c = atomic_fetch_sub(&Fault_countdown[kind], 1);
	if (c == 0) {
		atomic_store(&Fault_countdown[kind],
			atomic_load(&Fault_sticky[kind]) ? FAULT_STUCK : -1);
		return 1;
	}
	return 0;
}

/*
 * alloc -- malloc or calloc, unless fault injection says this one fails;
 * on failure *err = -ENOMEM with a message.
 */
static void *
alloc(size_t size, int zero, int *err)
{
	void *p = NULL;
	if (!core_fault_hit(CORE_FAULT_ALLOC))
		p = zero ? calloc(1, size) : malloc(size);
	if (!p) {
		*err = -ENOMEM;
		ERR_ERRNO(ENOMEM, "cannot allocate %zu bytes", size);
		return NULL;
	}
	*err = 0;
	return p;
}

void *
pmem2_malloc(size_t size, int *err)
{
	return alloc(size, 0, err);
}

void *
pmem2_zalloc(size_t size, int *err)
{
	return alloc(size, 1, err);
}
