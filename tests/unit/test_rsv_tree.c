/* SPDX-License-Identifier: BSD-3-Clause */
/* test_rsv_tree.c -- the reservation index (B+tree) against a reference
 * model: random inserts and removals, every query checked after each, with
 * the leaves compact, wide, and turned wide midway. */
#include <stdint.h>

#include "pmem2_utils.h"
#include "rsv_tree.h"
#include "ut_common.h"

#define SLOTS 4096
#define KEY(i) ((uintptr_t)0x10000000 + (uintptr_t)(i) * 0x1000)

static struct pmem2_map *Maps[SLOTS];	/* fake map pointers */
static int Present[SLOTS];
/* slots at or above Odd_from end mid-page: in a tree counting pages they
 * cannot be stored compact */
static int Odd_from = SLOTS;

static uintptr_t
end_of(int i)
{
	return KEY(i) + (i >= Odd_from ? 0x800 : 0x1000);
}

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
check_node(int found, const struct rsv_node *n, int slot, const char *what,
		uintptr_t k)
{
	if (slot < 0) {
		cr_assert_eq(found, 0, "%s(%#lx): expected none", what,
			(unsigned long)k);
		return;
	}
	cr_assert_eq(found, 1, "%s(%#lx): expected slot %d", what,
		(unsigned long)k, slot);
	cr_assert_eq(n->start, KEY(slot), "%s(%#lx)", what, (unsigned long)k);
	cr_assert_eq(n->map, Maps[slot]);
	cr_assert_eq(n->end, end_of(slot));
}

static void
check_all(struct rsv_tree *t, unsigned *seed)
{
	for (int q = 0; q < 40; q++) {
		uintptr_t k = KEY(0) - 0x1000 +
			(uintptr_t)(rand_r(seed) % (SLOTS + 2)) * 0x1000 +
			(uintptr_t)(rand_r(seed) % 3) * 0x400;
		struct rsv_node n;
		int f = rsv_tree_floor(t, k, &n);
		check_node(f, &n, ref_floor(k), "floor", k);
		f = rsv_tree_above(t, k, &n);
		check_node(f, &n, ref_above(k), "above", k);
		f = rsv_tree_below(t, k, &n);
		check_node(f, &n, ref_floor(k - 1), "below", k);
	}
	struct rsv_node n;
	int f = rsv_tree_first(t, &n);
	check_node(f, &n, ref_above(0), "first", 0);
	f = rsv_tree_last(t, &n);
	check_node(f, &n, ref_floor(UINTPTR_MAX), "last", 0);
}

/*
 * against_model -- grow, shrink to empty, grow again, checking every query;
 * wide_when_full: whether the leaves must be wide at the end.
 */
static void
against_model(struct rsv_tree *t, int wide_when_full)
{
	unsigned seed = 12345;
	int was_wide = 0;
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
				cr_assert_eq(rsv_tree_reserve(t), 0);
				rsv_tree_insert(t, Maps[i], KEY(i),
					end_of(i));
				Present[i] = 1;
				was_wide |= t->wide;
			} else if (!ins) {
				int ret = rsv_tree_remove(t, Maps[i], KEY(i));
				cr_assert_eq(ret, Present[i] ? 0 : -1,
					"remove slot %d", i);
				/* the right key with the wrong map is absent */
				if (Present[i])
					cr_assert_eq(rsv_tree_remove(t, fake(i + 1),
						KEY(i)), -1);
				Present[i] = 0;
			}
			ops++;
			if (step % 50 == 0)
				check_all(t, &seed);
		}
		check_all(t, &seed);
	}
	cr_assert_eq(was_wide, wide_when_full);
	cr_assert_eq(t->wide, wide_when_full);
	/* empty it completely, in order */
	for (int i = 0; i < SLOTS; i++)
		if (Present[i]) {
			cr_assert_eq(rsv_tree_remove(t, Maps[i], KEY(i)), 0);
			Present[i] = 0;
		}
	cr_assert_null(t->root);
	cr_assert_eq(t->height, 0);
	cr_assert_eq(t->wide, 0, "an empty tree is compact again");
	struct rsv_node n;
	cr_assert_eq(rsv_tree_first(t, &n), 0);
	rsv_tree_destroy(t);
	cr_log_info("%ld operations checked", ops);
}

Test(rsv_tree, compact_against_model)
{
	struct rsv_tree t;
	rsv_tree_init(&t, KEY(0), 12);
	against_model(&t, 0);
}

Test(rsv_tree, zeroed_tree_counts_bytes_from_0)
{
	/* KEY()s lie below 4 GiB: a zeroed tree stores them compact */
	struct rsv_tree t = { 0 };
	Odd_from = 0;
	against_model(&t, 0);
}

Test(rsv_tree, wide_from_the_start)
{
	/* every key lies below the base */
	struct rsv_tree t;
	rsv_tree_init(&t, KEY(SLOTS), 12);
	against_model(&t, 1);
}

Test(rsv_tree, turns_wide_midway)
{
	/* the first slot ending mid-page (one in four) turns the tree wide
	 * with entries in it, and again after it was emptied */
	struct rsv_tree t;
	rsv_tree_init(&t, KEY(0), 12);
	Odd_from = SLOTS * 3 / 4;
	against_model(&t, 1);
}

Test(rsv_tree, past_16_tib_turns_wide)
{
	struct rsv_tree t;
	rsv_tree_init(&t, KEY(0), 12);
	uintptr_t far = KEY(0) + ((uintptr_t)1 << 44);	/* 2^32 pages */
	cr_assert_eq(rsv_tree_reserve(&t), 0);
	rsv_tree_insert(&t, fake(1), far - 0x2000, far - 0x1000);
	cr_assert_eq(t.wide, 0, "an end at unit 2^32 - 1 is compact");
	cr_assert_eq(rsv_tree_reserve(&t), 0);
	rsv_tree_insert(&t, fake(2), far - 0x1000, far);
	cr_assert_eq(t.wide, 1, "an end at unit 2^32 is not");
	struct rsv_node n;
	cr_assert_eq(rsv_tree_floor(&t, far - 0x10, &n), 1);
	cr_assert_eq(n.start, far - 0x1000);
	cr_assert_eq(n.end, far);
	cr_assert_eq(rsv_tree_below(&t, far - 0x1000, &n), 1);
	cr_assert_eq(n.start, far - 0x2000, "converted in place");
	cr_assert_eq(n.end, far - 0x1000);
	cr_assert_eq(n.map, fake(1));
	rsv_tree_destroy(&t);
}

Test(rsv_tree, reserve_failure_leaves_tree_usable)
{
	struct rsv_tree t = { 0 };
	/* an empty tree has no spare node: reserving allocates */
	core_fault_set(CORE_FAULT_ALLOC, 0);
	int ret = rsv_tree_reserve(&t);
	core_fault_set(CORE_FAULT_ALLOC, -1);
	cr_assert_eq(ret, -ENOMEM);
	struct rsv_node n;
	cr_assert_eq(rsv_tree_first(&t, &n), 0);
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(rsv_tree_reserve(&t), 0);
		rsv_tree_insert(&t, fake(i), KEY(i), KEY(i) + 1);
	}
	cr_assert_eq(rsv_tree_floor(&t, KEY(50), &n), 1);
	cr_assert_eq(n.start, KEY(50));
	cr_assert_eq(rsv_tree_last(&t, &n), 1);
	cr_assert_eq(n.start, KEY(99));
	rsv_tree_destroy(&t);
}

/* count_chunks -- how many 2 MiB chunks the tree's node pool holds */
static int
count_chunks(const struct rsv_tree *t)
{
	int n = 0;
	for (const struct rsv_chunk *c = t->chunks; c;
			c = *(const struct rsv_chunk *const *)c)
		n++;
	return n;
}

#define BIG 40000	/* ascending: full leaves, ~630 nodes */
#define BKEY(i) (KEY(0) + (uintptr_t)(i) * 0x1000)

static void
check_big(const struct rsv_tree *t, int present_from, int step)
{
	for (int i = 0; i < BIG; i += 97) {
		struct rsv_node n;
		int want = i >= present_from && (i - present_from) % step == 0;
		int f = rsv_tree_floor(t, BKEY(i) + 0x10, &n);
		cr_assert_eq(f, 1);
		if (want) {
			cr_assert_eq(n.start, BKEY(i));
			cr_assert_eq(n.end, BKEY(i) + 0x1000);
			cr_assert_eq(n.map, fake(i));
		} else {
			cr_assert_lt(n.start, BKEY(i));
		}
	}
}

Test(rsv_tree, big_tree_takes_nodes_from_its_pool)
{
	struct rsv_tree t;
	rsv_tree_init(&t, KEY(0), 12);
	for (int i = 0; i < BIG; i++) {
		cr_assert_eq(rsv_tree_reserve(&t), 0);
		rsv_tree_insert(&t, fake(i), BKEY(i), BKEY(i) + 0x1000);
	}
	cr_assert_eq(t.nheap, RSV_POOL_FROM, "the rest came from the pool");
	int chunks = count_chunks(&t);
	cr_assert_geq(chunks, 1);
	check_big(&t, 0, 1);
	/* remove every other one and refill three times: the pool reuses
	 * what was freed instead of growing */
	for (int round = 0; round < 3; round++) {
		for (int i = 1; i < BIG; i += 2)
			cr_assert_eq(rsv_tree_remove(&t, fake(i), BKEY(i)), 0);
		check_big(&t, 0, 2);
		for (int i = 1; i < BIG; i += 2) {
			cr_assert_eq(rsv_tree_reserve(&t), 0);
			rsv_tree_insert(&t, fake(i), BKEY(i),
				BKEY(i) + 0x1000);
		}
		check_big(&t, 0, 1);
	}
	cr_assert_leq(count_chunks(&t), chunks + 1, "%d chunks, first %d",
		count_chunks(&t), chunks);
	for (int i = 0; i < BIG; i++)
		cr_assert_eq(rsv_tree_remove(&t, fake(i), BKEY(i)), 0);
	cr_assert_null(t.root);
	rsv_tree_destroy(&t);
	cr_assert_null(t.chunks);
	cr_assert_eq(t.nheap, 0);
}

Test(rsv_tree, unmappable_chunk_falls_back_to_malloc)
{
	struct rsv_tree t;
	rsv_tree_init(&t, KEY(0), 12);
	/* the first chunk cannot be mapped: that node comes from malloc */
	core_fault_set(CORE_FAULT_MMAP, 0);
	for (int i = 0; i < BIG; i++) {
		cr_assert_eq(rsv_tree_reserve(&t), 0);
		rsv_tree_insert(&t, fake(i), BKEY(i), BKEY(i) + 0x1000);
	}
	cr_assert_eq(core_fault_get(CORE_FAULT_MMAP), -1, "mmap was tried");
	cr_assert_eq(t.nheap, RSV_POOL_FROM + 1);
	cr_assert_geq(count_chunks(&t), 1, "the next chunk was mapped");
	check_big(&t, 0, 1);
	rsv_tree_destroy(&t);
}

Test(rsv_tree, no_chunk_and_no_malloc_is_enomem)
{
	struct rsv_tree t;
	rsv_tree_init(&t, KEY(0), 12);
	int i = 0;
	while (t.nheap < RSV_POOL_FROM) {
		cr_assert_eq(rsv_tree_reserve(&t), 0);
		rsv_tree_insert(&t, fake(i), BKEY(i), BKEY(i) + 0x1000);
		i++;
	}
	/* fill the spares, then make the next node fail both ways */
	cr_assert_eq(rsv_tree_reserve(&t), 0);
	int ret = 0, tries = 0;
	while (ret == 0 && tries++ < 10000) {
		core_fault_set(CORE_FAULT_MMAP, 0);
		core_fault_set(CORE_FAULT_ALLOC, 0);
		ret = rsv_tree_reserve(&t);
		int hit = core_fault_get(CORE_FAULT_MMAP) == -1;
		core_fault_set(CORE_FAULT_MMAP, -1);
		core_fault_set(CORE_FAULT_ALLOC, -1);
		if (ret == 0) {
			cr_assert_not(hit, "a reserve that allocated failed");
			rsv_tree_insert(&t, fake(i), BKEY(i),
				BKEY(i) + 0x1000);
			i++;
		}
	}
	cr_assert_eq(ret, -ENOMEM);
	cr_assert_null(t.chunks);
	/* nothing changed: the tree answers and grows once memory is back */
	struct rsv_node n;
	cr_assert_eq(rsv_tree_last(&t, &n), 1);
	cr_assert_eq(n.start, BKEY(i - 1));
	for (int j = i; j < i + 5000; j++) {
		cr_assert_eq(rsv_tree_reserve(&t), 0);
		rsv_tree_insert(&t, fake(j), BKEY(j), BKEY(j) + 0x1000);
	}
	cr_assert_not_null(t.chunks);
	cr_assert_eq(rsv_tree_floor(&t, BKEY(i) + 1, &n), 1);
	cr_assert_eq(n.map, fake(i));
	rsv_tree_destroy(&t);
}
