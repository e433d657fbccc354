/* SPDX-License-Identifier: BSD-3-Clause */
/* test_rsv_tree.c -- the reservation index (B+tree) against a reference
 * model: random inserts and removals, every query checked after each. */
#include <stdint.h>

#include "pmem2_utils.h"
#include "rsv_tree.h"
#include "ut_common.h"

#define SLOTS 4096
#define KEY(i) ((uintptr_t)0x10000000 + (uintptr_t)(i) * 0x1000)

static struct pmem2_map *Maps[SLOTS];	/* fake map pointers */
static int Present[SLOTS];

static struct pmem2_map *
fake(int i)
{
	return (struct pmem2_map *)(uintptr_t)(0x1000 + i * 8);
}

/* ref_floor -- the slot of the greatest present key <= k, or -1. */
static int
ref_floor(uintptr_t k)
{
	for (int i = SLOTS - 1; i >= 0; i--)
		if (Present[i] && KEY(i) <= k)
			return i;
	return -1;
}

static int
ref_above(uintptr_t k)
{
	for (int i = 0; i < SLOTS; i++)
		if (Present[i] && KEY(i) > k)
			return i;
	return -1;
}

static void
check_node(struct rsv_node *n, int slot, const char *what, uintptr_t k)
{
	if (slot < 0) {
		cr_assert_null(n, "%s(%#lx): expected none", what,
			(unsigned long)k);
		return;
	}
	cr_assert_not_null(n, "%s(%#lx): expected slot %d", what,
		(unsigned long)k, slot);
	cr_assert_eq(n->start, KEY(slot), "%s(%#lx)", what, (unsigned long)k);
	cr_assert_eq(n->map, Maps[slot]);
	cr_assert_eq(n->end, KEY(slot) + 0x800);
}

static void
check_all(struct rsv_tree *t, unsigned *seed)
{
	for (int q = 0; q < 40; q++) {
		uintptr_t k = KEY(0) - 0x1000 +
			(uintptr_t)(rand_r(seed) % (SLOTS + 2)) * 0x1000 +
			(uintptr_t)(rand_r(seed) % 3) * 0x400;
		check_node(rsv_tree_floor(t, k), ref_floor(k), "floor", k);
		check_node(rsv_tree_above(t, k), ref_above(k), "above", k);
		check_node(rsv_tree_below(t, k), ref_floor(k - 1), "below", k);
	}
	check_node(rsv_tree_first(t), ref_above(0), "first", 0);
	check_node(rsv_tree_last(t), ref_floor(UINTPTR_MAX), "last", 0);
}

Test(rsv_tree, random_against_model)
{
	struct rsv_tree t = { 0 };
	unsigned seed = 12345;
	for (int i = 0; i < SLOTS; i++)
		Maps[i] = fake(i);
	long ops = 0;
	/* phases: grow to ~3/4 full, shrink to empty, grow again */
	for (int phase = 0; phase < 3; phase++) {
		int want_insert = phase != 1;
		for (int step = 0; step < 6000; step++) {
			int i = rand_r(&seed) % SLOTS;
			int ins = (rand_r(&seed) % 4 != 0) == want_insert;
			if (ins && !Present[i]) {
				cr_assert_eq(rsv_tree_reserve(&t), 0);
				rsv_tree_insert(&t, Maps[i], KEY(i),
					KEY(i) + 0x800);
				Present[i] = 1;
			} else if (!ins) {
				int ret = rsv_tree_remove(&t, Maps[i], KEY(i));
				cr_assert_eq(ret, Present[i] ? 0 : -1,
					"remove slot %d", i);
				/* the right key with the wrong map is absent */
				if (Present[i])
					cr_assert_eq(rsv_tree_remove(&t, fake(i + 1),
						KEY(i)), -1);
				Present[i] = 0;
			}
			ops++;
			if (step % 50 == 0)
				check_all(&t, &seed);
		}
		check_all(&t, &seed);
	}
	/* empty it completely, in order */
	for (int i = 0; i < SLOTS; i++)
		if (Present[i]) {
			cr_assert_eq(rsv_tree_remove(&t, Maps[i], KEY(i)), 0);
			Present[i] = 0;
		}
	cr_assert_null(t.root);
	cr_assert_eq(t.height, 0);
	cr_assert_null(rsv_tree_first(&t));
	rsv_tree_destroy(&t);
	cr_log_info("%ld operations checked", ops);
}

Test(rsv_tree, reserve_failure_leaves_tree_usable)
{
	struct rsv_tree t = { 0 };
	/* an empty tree has no spare node: reserving allocates */
	core_fault_set(CORE_FAULT_ALLOC, 0);
	int ret = rsv_tree_reserve(&t);
	core_fault_set(CORE_FAULT_ALLOC, -1);
	cr_assert_eq(ret, -ENOMEM);
	cr_assert_null(rsv_tree_first(&t));
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(rsv_tree_reserve(&t), 0);
		rsv_tree_insert(&t, fake(i), KEY(i), KEY(i) + 1);
	}
	cr_assert_eq(rsv_tree_floor(&t, KEY(50))->start, KEY(50));
	cr_assert_eq(rsv_tree_last(&t)->start, KEY(99));
	rsv_tree_destroy(&t);
}
