/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rsv_tree.h -- the ordered index of the mappings in one reservation: an
 * AVL tree keyed by mapping address (mappings never overlap, so ordering by
 * start also orders by end).  All operations are O(log n).
 *
 * Nodes are small (start, end, map, links) and come from slabs owned by the
 * tree, so a lookup walks a few contiguous kilobytes instead of chasing
 * pointers through heap-scattered pmem2_map objects: with 100 k mappings
 * the whole index stays in the CPU caches.
 */
#ifndef PMEM2_RSV_TREE_H
#define PMEM2_RSV_TREE_H

#include <stdint.h>

struct pmem2_map;

struct rsv_node {
	uintptr_t start;	/* map->addr */
	uintptr_t end;		/* start + content_length */
	struct pmem2_map *map;
	struct rsv_node *left, *right;	/* free list: left is the link */
	int height;
};

struct rsv_tree {
	struct rsv_node *root;
	struct rsv_node *free;	/* spare nodes */
	struct rsv_slab *slabs;
};

/* rsv_tree_reserve -- make sure one node is available for the next
 * insert, so that an insert after a successful mmap cannot fail. */
int rsv_tree_reserve(struct rsv_tree *t);
/* rsv_tree_insert -- add map (a node was reserved). */
void rsv_tree_insert(struct rsv_tree *t, struct pmem2_map *map,
	uintptr_t start, uintptr_t end);
/* rsv_tree_remove -- take out the node of map; 0 if found, -1 if not. */
int rsv_tree_remove(struct rsv_tree *t, struct pmem2_map *map,
	uintptr_t start);
void rsv_tree_destroy(struct rsv_tree *t);

/* greatest node with start <= key (floor), or NULL */
struct rsv_node *rsv_tree_floor(const struct rsv_tree *t, uintptr_t key);
/* greatest node with start < key, or NULL */
struct rsv_node *rsv_tree_below(const struct rsv_tree *t, uintptr_t key);
/* least node with start > key, or NULL */
struct rsv_node *rsv_tree_above(const struct rsv_tree *t, uintptr_t key);
struct rsv_node *rsv_tree_first(const struct rsv_tree *t);
struct rsv_node *rsv_tree_last(const struct rsv_tree *t);

#endif /* PMEM2_RSV_TREE_H */
