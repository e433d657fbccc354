/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rsv_tree.h -- the ordered index of the mappings in one reservation: a
 * B+tree keyed by mapping address (mappings never overlap, so ordering by
 * start also orders by end).  All operations are O(log n).
 *
 * What a lookup touches is kept small, because at 100 k mappings the
 * leaves no longer fit in this machine's caches otherwise: a leaf stores
 * its starts and ends as 32-bit counts of units (a page) from a base (the
 * reservation's first address), 16 bytes per mapping with the map pointer,
 * instead of 32; internal nodes store their separators the same way.
 * Nodes are wide (64 entries, keys in their own dense array); a lookup
 * prefetches the lines of the node it descends into and counts the keys
 * at or below the one it looks for (rsv_tree.c), so it costs one round
 * trip to memory per level below the cached top.  Leaves are linked, so
 * the neighbours of an entry are O(1) away.
 *
 * An entry that does not fit the compact form (not a multiple of the unit,
 * below the base, or more than 2^32 units past it: a reservation larger
 * than 16 TiB) turns the whole tree, once and in place, into the wide
 * form, which stores full addresses; nothing else changes.
 */
#ifndef PMEM2_RSV_TREE_H
#define PMEM2_RSV_TREE_H

#include <stddef.h>
#include <stdint.h>

struct pmem2_map;

/* one entry, as lookups return it (a copy) */
struct rsv_node {
	uintptr_t start;	/* map->addr */
	uintptr_t end;		/* start + content_length */
	struct pmem2_map *map;
};

struct rsv_bnode;
struct rsv_chunk;

/*
 * Node memory: the first RSV_POOL_FROM nodes of a tree come from malloc;
 * a tree that grows past them takes its nodes from 2 MiB chunks of its own
 * (transparent huge pages where the kernel gives them), so that a search
 * through a big tree stays within a few TLB entries instead of one page
 * per node scattered over the heap among the mappings' own structures.
 * Freed pool nodes are kept for reuse; the chunks go at rsv_tree_destroy.
 * A chunk that cannot be mapped is no error: the node comes from malloc.
 */
#define RSV_POOL_FROM 64

/*
 * A zeroed struct rsv_tree is an empty tree whose compact form counts bytes
 * from address 0 (so only entries below 4 GiB stay compact);
 * rsv_tree_init() picks a better base and unit.
 */
struct rsv_tree {
	struct rsv_bnode *root;	/* NULL: empty */
	int height;		/* 1: the root is a leaf */
	int wide;		/* leaves hold full addresses */
	uintptr_t base;		/* compact form: address of unit 0 */
	unsigned shift;		/* compact form: log2 of the unit */
	struct rsv_bnode *spare;	/* nodes reserved for splits */
	int nspare;
	size_t nheap;		/* nodes from malloc, in use or spare */
	struct rsv_chunk *chunks;	/* node pool (see above) */
	char *bump, *bump_end;	/* the unused part of the newest chunk */
	struct rsv_bnode *pool_free;	/* freed pool nodes */
};

/* rsv_tree_init -- an empty tree whose compact form counts units of
 * 2^shift bytes from base. */
void rsv_tree_init(struct rsv_tree *t, uintptr_t base, unsigned shift);
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

/*
 * The queries fill *out and return 1, or return 0 when there is no such
 * entry:
 * floor: the greatest entry with start <= key; below: start < key;
 * above: the least entry with start > key; first and last.
 */
int rsv_tree_floor(const struct rsv_tree *t, uintptr_t key,
	struct rsv_node *out);
int rsv_tree_below(const struct rsv_tree *t, uintptr_t key,
	struct rsv_node *out);
int rsv_tree_above(const struct rsv_tree *t, uintptr_t key,
	struct rsv_node *out);
int rsv_tree_first(const struct rsv_tree *t, struct rsv_node *out);
int rsv_tree_last(const struct rsv_tree *t, struct rsv_node *out);

#endif /* PMEM2_RSV_TREE_H */
