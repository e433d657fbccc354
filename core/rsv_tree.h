/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rsv_tree.h -- the ordered index of the mappings in one reservation: a
 * B+tree keyed by mapping address (mappings never overlap, so ordering by
 * start also orders by end).  All operations are O(log n).
 *
 * Nodes are wide (64 entries, keys in their own dense array) and a lookup
 * prefetches the whole node it descends into, so at 100 k mappings it
 * costs about one round trip to L3 per level below the cached top (two
 * levels) instead of ~20 dependent misses through a binary tree.  Leaves
 * are linked, so the neighbours of an entry are O(1) away.
 */
#ifndef PMEM2_RSV_TREE_H
#define PMEM2_RSV_TREE_H

#include <stddef.h>
#include <stdint.h>

struct pmem2_map;

/* one entry: what lookups return (valid until the tree next changes) */
struct rsv_node {
	uintptr_t start;	/* map->addr */
	uintptr_t end;		/* start + content_length */
	struct pmem2_map *map;
};

struct rsv_bnode;

struct rsv_tree {
	struct rsv_bnode *root;	/* NULL: empty */
	int height;		/* 1: the root is a leaf */
	struct rsv_bnode *spare;	/* nodes reserved for splits */
	int nspare;
};

/* rsv_tree_reserve -- make sure the next insert cannot fail (enough spare
 * nodes for a split at every level); -ENOMEM otherwise. */
int rsv_tree_reserve(struct rsv_tree *t);
/* rsv_tree_insert -- add map (after a successful rsv_tree_reserve). */
void rsv_tree_insert(struct rsv_tree *t, struct pmem2_map *map,
	uintptr_t start, uintptr_t end);
/* rsv_tree_remove -- take out map's entry; 0 if found, -1 if not. */
int rsv_tree_remove(struct rsv_tree *t, struct pmem2_map *map,
	uintptr_t start);
void rsv_tree_destroy(struct rsv_tree *t);

/* greatest entry with start <= key (floor), or NULL */
struct rsv_node *rsv_tree_floor(const struct rsv_tree *t, uintptr_t key);
/* greatest entry with start < key, or NULL */
struct rsv_node *rsv_tree_below(const struct rsv_tree *t, uintptr_t key);
/* least entry with start > key, or NULL */
struct rsv_node *rsv_tree_above(const struct rsv_tree *t, uintptr_t key);
struct rsv_node *rsv_tree_first(const struct rsv_tree *t);
struct rsv_node *rsv_tree_last(const struct rsv_tree *t);

#endif /* PMEM2_RSV_TREE_H */
