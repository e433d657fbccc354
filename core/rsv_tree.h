/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rsv_tree.h -- the ordered index of the mappings in one reservation: an
 * intrusive AVL tree keyed by mapping address (mappings never overlap, so
 * ordering by start also orders by end).  All operations are O(log n).
 */
#ifndef PMEM2_RSV_TREE_H
#define PMEM2_RSV_TREE_H

#include <stdint.h>

struct pmem2_map;

struct pmem2_map *rsv_tree_insert(struct pmem2_map *root,
	struct pmem2_map *node);
struct pmem2_map *rsv_tree_remove(struct pmem2_map *root,
	struct pmem2_map *node, int *found);
/* greatest node with start <= key (floor), or NULL */
struct pmem2_map *rsv_tree_floor(struct pmem2_map *root, uintptr_t key);
/* greatest node with start < key, or NULL */
struct pmem2_map *rsv_tree_below(struct pmem2_map *root, uintptr_t key);
/* least node with start > key, or NULL */
struct pmem2_map *rsv_tree_above(struct pmem2_map *root, uintptr_t key);
struct pmem2_map *rsv_tree_first(struct pmem2_map *root);
struct pmem2_map *rsv_tree_last(struct pmem2_map *root);

#endif /* PMEM2_RSV_TREE_H */
