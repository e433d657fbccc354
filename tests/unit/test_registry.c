/* SPDX-License-Identifier: BSD-3-Clause */
/* test_registry.c -- the process-wide index: ordering, overlap refusal,
 * resize, bounds, and lock-free readers racing writers. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "registry.h"
#include "ut_common.h"

static int Objs[64];

Test(registry, insert_lookup_remove)
{
	cr_assert_eq(registry_count(), 0);
	cr_assert_not(registry_may_contain((void *)0x5000));
	cr_assert_eq(registry_insert(0x5000, 0x6000, &Objs[0], REGISTRY_MAP,
			NULL), 0);
	cr_assert_eq(registry_insert(0x1000, 0x2000, &Objs[1], REGISTRY_RSV,
			NULL), 0);
	cr_assert_eq(registry_insert(0x3000, 0x5000, &Objs[2], REGISTRY_MAP,
			NULL), 0);
	struct registry_entry e, clash;
	cr_assert(registry_lookup((void *)0x5fff, &e));
	cr_assert_eq(e.obj, &Objs[0]);
	cr_assert(registry_lookup((void *)0x3000, &e));
	cr_assert_eq(e.obj, &Objs[2]);
	cr_assert_not(registry_lookup((void *)0x2000, &e));
	cr_assert_not(registry_lookup((void *)0x6000, &e));
	cr_assert(registry_may_contain((void *)0x1000));
	cr_assert_not(registry_may_contain((void *)0x6000));
	cr_assert(registry_may_overlap((void *)0x0, 0x1001));
	cr_assert_not(registry_may_overlap((void *)0x0, 0x1000));

	cr_assert_eq(registry_insert(0x1fff, 0x3001, &Objs[3], REGISTRY_MAP,
			&clash), -EEXIST);
	cr_assert_eq(clash.obj, &Objs[1]);
	cr_assert_eq(registry_insert(0x2000, 0x2000, &Objs[3], REGISTRY_MAP,
			NULL), -EINVAL);

	struct registry_entry all[4];
	cr_assert_eq(registry_overlaps(0x1800, 0x5001, all, 4), 3);
	cr_assert_eq(all[0].obj, &Objs[1]);
	cr_assert_eq(all[1].obj, &Objs[2]);
	cr_assert_eq(all[2].obj, &Objs[0]);
	cr_assert_eq(registry_overlaps(0x2000, 0x3000, all, 4), 0);
	/* more than max: max + 1, whatever the rest */
	cr_assert_eq(registry_overlaps(0, 0x10000, all, 1), 2);
	cr_assert_eq(all[0].obj, &Objs[1]);
	cr_assert_eq(registry_overlaps(0, 0x10000, all, 2), 3);
	cr_assert_eq(registry_overlaps(0, 0x10000, all, 3), 3);

	cr_assert_eq(registry_resize(&Objs[1], 0x1000, 0x3001), -EEXIST);
	cr_assert_eq(registry_resize(&Objs[1], 0x0, 0x3000), 0);
	cr_assert(registry_lookup((void *)0x2fff, &e));
	cr_assert_eq(e.obj, &Objs[1]);
	cr_assert_eq(registry_resize(&Objs[9], 0x0, 0x3000), -ENOENT);

	cr_assert_eq(registry_remove(&Objs[2]), 0);
	cr_assert_eq(registry_remove(&Objs[2]), -ENOENT);
	cr_assert_eq(registry_remove(&Objs[0]), 0);
	cr_assert_not(registry_may_contain((void *)0x5000));
	cr_assert_eq(registry_remove(&Objs[1]), 0);
	cr_assert_eq(registry_count(), 0);
	cr_assert_not(registry_may_contain((void *)0x1000));
}

Test(registry, split)
{
	cr_assert_eq(registry_insert(0x1000, 0x9000, &Objs[0], REGISTRY_MAP,
			NULL), 0);
	cr_assert_eq(registry_insert(0xa000, 0xb000, &Objs[1], REGISTRY_RSV,
			NULL), 0);
	/* refused, nothing changed: no entry, or lo/hi not strictly inside */
	cr_assert_eq(registry_split(&Objs[9], 0x2000, 0x3000, &Objs[2]),
			-ENOENT);
	cr_assert_eq(registry_split(&Objs[0], 0x1000, 0x3000, &Objs[2]),
			-EINVAL);
	cr_assert_eq(registry_split(&Objs[0], 0x2000, 0x9000, &Objs[2]),
			-EINVAL);
	cr_assert_eq(registry_split(&Objs[0], 0x3000, 0x2000, &Objs[2]),
			-EINVAL);
	cr_assert_eq(registry_count(), 2);
	/* a hole [0x3000, 0x5000): the head keeps obj, the tail is new */
	cr_assert_eq(registry_split(&Objs[0], 0x3000, 0x5000, &Objs[2]), 0);
	cr_assert_eq(registry_count(), 3);
	struct registry_entry e;
	cr_assert(registry_lookup((void *)0x2fff, &e));
	cr_assert_eq(e.obj, &Objs[0]);
	cr_assert_eq(e.start, 0x1000);
	cr_assert_eq(e.end, 0x3000);
	cr_assert_not(registry_lookup((void *)0x3000, &e));
	cr_assert_not(registry_lookup((void *)0x4fff, &e));
	cr_assert(registry_lookup((void *)0x5000, &e));
	cr_assert_eq(e.obj, &Objs[2]);
	cr_assert_eq(e.end, 0x9000);
	cr_assert_eq(e.kind, REGISTRY_MAP);
	cr_assert(registry_lookup((void *)0xa000, &e));
	cr_assert_eq(e.obj, &Objs[1]);
	/* no hole (lo == hi): two entries meeting at 0x7000 */
	cr_assert_eq(registry_split(&Objs[2], 0x7000, 0x7000, &Objs[3]), 0);
	cr_assert(registry_lookup((void *)0x6fff, &e));
	cr_assert_eq(e.obj, &Objs[2]);
	cr_assert(registry_lookup((void *)0x7000, &e));
	cr_assert_eq(e.obj, &Objs[3]);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(registry_remove(&Objs[i]), 0);
	cr_assert_eq(registry_count(), 0);
}

static atomic_int Stop;
static atomic_long Reads[3];

/*
 * reader -- entries at even slots never change; odd ones come and go.  A
 * reader must always find every even entry with the right object.
 */
static void *
reader(void *arg)
{
	atomic_long *mine = &Reads[(long)arg];
	long iters = 0;
	while (!atomic_load(&Stop)) {
		for (uintptr_t i = 0; i < 64; i += 2) {
			struct registry_entry e;
			uintptr_t a = 0x100000 + i * 0x1000 + 0x10;
			cr_assert(registry_lookup((void *)a, &e));
			cr_assert_eq(e.obj, &Objs[i]);
		}
		iters++;
		atomic_fetch_add(mine, 1);
	}
	return (void *)iters;
}

Test(registry, readers_race_writers)
{
	for (uintptr_t i = 0; i < 64; i += 2)
		cr_assert_eq(registry_insert(0x100000 + i * 0x1000,
				0x100000 + i * 0x1000 + 0x1000, &Objs[i],
				REGISTRY_MAP, NULL), 0);
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, reader, (void *)(long)i);
	/* keep writing until the readers have really raced us for a while
	 * (on a loaded 2-core machine they may start late) */
	for (int round = 0; round < 20000 || atomic_load(&Reads[0]) < 1000 ||
			atomic_load(&Reads[1]) < 1000 ||
			atomic_load(&Reads[2]) < 1000; round++) {
		uintptr_t i = 1 + 2 * (uintptr_t)(round % 32);
		cr_assert_eq(registry_insert(0x100000 + i * 0x1000,
				0x100000 + i * 0x1000 + 0x1000, &Objs[i],
				REGISTRY_MAP, NULL), 0);
		cr_assert_eq(registry_remove(&Objs[i]), 0);
	}
	atomic_store(&Stop, 1);
	for (int i = 0; i < 3; i++) {
		void *n;
		pthread_join(t[i], &n);
		cr_assert_gt((long)n, 0);
	}
	cr_assert_eq(registry_count(), 32);
}
