/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rsv_tree.c -- B+tree of a reservation's mappings.
 *
 * Internal nodes hold separator keys: child i holds the entries with
 * key[i] <= start < key[i + 1] (key[0] of the leftmost path acts as -inf).
 * Separators are never raised when entries go away, so they stay lower
 * bounds; a search that lands in a leaf whose entries are all above the key
 * steps to the previous leaf.  Deletion frees empty nodes and does not
 * rebalance half-empty ones: the height is bounded by the largest size the
 * tree ever had, which keeps removal simple and O(log n).
 */
#include <stdlib.h>

#include "pmem2_utils.h"
#include "rsv_tree.h"

#define RSV_FANOUT 64

/*
 * key[] holds the entries' starts (leaf) or the separators (internal) in a
 * dense array of its own, so a binary search touches 4 cache lines; the
 * entries (which repeat the start) are read once the index is known.
 */
struct rsv_bnode {
	int n;			/* entries (leaf) or children (internal) */
	int leaf;
	struct rsv_bnode *prev, *next;	/* leaves only; spare list: next */
	uintptr_t key[RSV_FANOUT];
	union {
		struct rsv_node e[RSV_FANOUT];		/* leaf */
		struct rsv_bnode *child[RSV_FANOUT];	/* internal */
	} u;
};

int
rsv_tree_reserve(struct rsv_tree *t)
{
	/* a split per level plus a new root */
	while (t->nspare < t->height + 2) {
		int err;
		struct rsv_bnode *b = pmem2_malloc(sizeof(*b), &err);
		if (!b)
			return err;
		b->next = t->spare;
		t->spare = b;
		t->nspare++;
	}
	return 0;
}

static struct rsv_bnode *
take_spare(struct rsv_tree *t, int leaf)
{
	struct rsv_bnode *b = t->spare;	/* reserved: never NULL here */
	t->spare = b->next;
	t->nspare--;
	b->n = 0;
	b->leaf = leaf;
	b->prev = b->next = NULL;
	return b;
}

static void
free_node(struct rsv_tree *t, struct rsv_bnode *b)
{
	/* keep a few for the next inserts, free the rest */
	if (t->nspare < t->height + 2) {
		b->next = t->spare;
		t->spare = b;
		t->nspare++;
	} else {
		free(b);
	}
}

static void
destroy(struct rsv_bnode *b)
{
	if (!b->leaf)
		for (int i = 0; i < b->n; i++)
			destroy(b->u.child[i]);
	free(b);
}

void
rsv_tree_destroy(struct rsv_tree *t)
{
	if (t->root)
		destroy(t->root);
	while (t->spare) {
		struct rsv_bnode *b = t->spare;
		t->spare = b->next;
		free(b);
	}
	t->root = NULL;
	t->height = 0;
	t->nspare = 0;
}

/*
 * upper_from -- the index of the first key > key, searching key[from..n)
 * (keys are sorted).  A leaf searches from 0: the result counts the entries
 * with start <= key.  An internal node searches from 1, so that key[0]
 * acts as -inf on the leftmost path: the result less one is the child that
 * holds key.
 */
static int
upper_from(const struct rsv_bnode *b, uintptr_t key, int from)
{
	int lo = from, hi = b->n;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (b->key[mid] <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
child_for(const struct rsv_bnode *b, uintptr_t key)
{
	return upper_from(b, key, 1) - 1;
}

static int
upper(const struct rsv_bnode *b, uintptr_t key)
{
	return upper_from(b, key, 0);
}

/*
 * prefetch_node -- ask for all of a node's key lines at once (and, for a
 * leaf, its entries, read right after the search): the binary search would
 * otherwise miss on them one after another, and at 100 k mappings the
 * leaves live in L3, not L2.  Whether b is a leaf comes from the depth, not
 * from b->leaf, which would wait for b's first line.
 */
static inline void
prefetch_node(const struct rsv_bnode *b, int is_leaf)
{
	for (size_t off = 0; off < sizeof(b->key); off += 64)
		__builtin_prefetch((const char *)b->key + off);
	if (is_leaf)
		for (size_t off = 0; off < sizeof(b->u.e); off += 64)
			__builtin_prefetch((const char *)b->u.e + off);
}

static struct rsv_bnode *
leaf_for(const struct rsv_tree *t, uintptr_t key)
{
	struct rsv_bnode *b = t->root;
	for (int level = t->height; level > 1; level--) {
		b = b->u.child[child_for(b, key)];
		prefetch_node(b, level == 2);
	}
	return b;
}

struct rsv_node *
rsv_tree_floor(const struct rsv_tree *t, uintptr_t key)
{
	struct rsv_bnode *b = leaf_for(t, key);
	if (!b)
		return NULL;
	int i = upper(b, key);
	if (i > 0)
		return &b->u.e[i - 1];
	/* all entries here are above key: the floor ends the previous leaf */
	return b->prev ? &b->prev->u.e[b->prev->n - 1] : NULL;
}

struct rsv_node *
rsv_tree_below(const struct rsv_tree *t, uintptr_t key)
{
	return key ? rsv_tree_floor(t, key - 1) : NULL;
}

struct rsv_node *
rsv_tree_above(const struct rsv_tree *t, uintptr_t key)
{
	struct rsv_bnode *b = leaf_for(t, key);
	if (!b)
		return NULL;
	int i = upper(b, key);
	if (i < b->n)
		return &b->u.e[i];
	return b->next ? &b->next->u.e[0] : NULL;
}

struct rsv_node *
rsv_tree_first(const struct rsv_tree *t)
{
	struct rsv_bnode *b = t->root;
	while (b && !b->leaf)
		b = b->u.child[0];
	return b ? &b->u.e[0] : NULL;
}

struct rsv_node *
rsv_tree_last(const struct rsv_tree *t)
{
	struct rsv_bnode *b = t->root;
	while (b && !b->leaf)
		b = b->u.child[b->n - 1];
	return b ? &b->u.e[b->n - 1] : NULL;
}

/*
 * split -- move the entries of full node b from index keep on into a new
 * node r (a spare); leaves are linked.  Returns r.
 */
static struct rsv_bnode *
split(struct rsv_tree *t, struct rsv_bnode *b, int keep)
{
	struct rsv_bnode *r = take_spare(t, b->leaf);
	for (int j = keep; j < RSV_FANOUT; j++) {
		r->key[j - keep] = b->key[j];
		if (b->leaf)
			r->u.e[j - keep] = b->u.e[j];
		else
			r->u.child[j - keep] = b->u.child[j];
	}
	r->n = RSV_FANOUT - keep;
	b->n = keep;
	if (b->leaf) {
		r->next = b->next;
		if (r->next)
			r->next->prev = r;
		r->prev = b;
		b->next = r;
	}
	return r;
}

/*
 * insert -- put e under b.  When b had to split, *right is the new right
 * sibling and *sep its lowest key, for the parent to add.  An entry that
 * goes past the end of the rightmost node of its level starts a new node
 * and leaves the full one full: addresses handed out in increasing order
 * then fill every node instead of leaving each half empty.
 */
static void
insert(struct rsv_tree *t, struct rsv_bnode *b, const struct rsv_node *e,
		int rightmost, struct rsv_bnode **right, uintptr_t *sep)
{
	*right = NULL;
	struct rsv_bnode *cr = NULL;
	uintptr_t csep = 0;
	int i;
	if (b->leaf) {
		i = upper(b, e->start);
	} else {
		int c = child_for(b, e->start);
		insert(t, b->u.child[c], e, rightmost && c == b->n - 1, &cr,
			&csep);
		if (!cr)
			return;
		i = c + 1;	/* the new child goes right after c */
	}
	if (b->n == RSV_FANOUT) {
		int append = rightmost && i == RSV_FANOUT;
		*right = split(t, b, append ? RSV_FANOUT : RSV_FANOUT / 2);
		if (i > b->n || append) {
			i -= b->n;
			b = *right;
		}
	}
	for (int j = b->n; j > i; j--) {
		b->key[j] = b->key[j - 1];
		if (b->leaf)
			b->u.e[j] = b->u.e[j - 1];
		else
			b->u.child[j] = b->u.child[j - 1];
	}
	if (b->leaf) {
		b->key[i] = e->start;
		b->u.e[i] = *e;
	} else {
		b->key[i] = csep;
		b->u.child[i] = cr;
	}
	b->n++;
	if (*right)
		*sep = (*right)->key[0];
}

void
rsv_tree_insert(struct rsv_tree *t, struct pmem2_map *map, uintptr_t start,
		uintptr_t end)
{
	struct rsv_node e = { start, end, map };
	if (!t->root) {
		t->root = take_spare(t, 1);
		t->height = 1;
	}
	struct rsv_bnode *r;
	uintptr_t sep;
	insert(t, t->root, &e, 1, &r, &sep);
	if (r) {
		struct rsv_bnode *nr = take_spare(t, 0);
		nr->key[0] = 0;
		nr->u.child[0] = t->root;
		nr->key[1] = sep;
		nr->u.child[1] = r;
		nr->n = 2;
		t->root = nr;
		t->height++;
	}
}

/*
 * remove -- take the entry (key, map) out of b's subtree; returns 1 when b
 * is left empty (the caller drops it).  Empty leaves leave the leaf list.
 */
static int
remove_entry(struct rsv_tree *t, struct rsv_bnode *b,
		const struct pmem2_map *map, uintptr_t key, int *found)
{
	if (b->leaf) {
		int i = upper(b, key);
		if (i == 0 || b->key[i - 1] != key || b->u.e[i - 1].map != map)
			return 0;
		*found = 1;
		for (int j = i - 1; j < b->n - 1; j++) {
			b->key[j] = b->key[j + 1];
			b->u.e[j] = b->u.e[j + 1];
		}
		if (--b->n)
			return 0;
		if (b->prev)
			b->prev->next = b->next;
		if (b->next)
			b->next->prev = b->prev;
		return 1;
	}
	int c = child_for(b, key);
	struct rsv_bnode *ch = b->u.child[c];
	if (!remove_entry(t, ch, map, key, found))
		return 0;
	free_node(t, ch);
	for (int j = c; j < b->n - 1; j++) {
		b->key[j] = b->key[j + 1];
		b->u.child[j] = b->u.child[j + 1];
	}
	return --b->n == 0;
}

int
rsv_tree_remove(struct rsv_tree *t, struct pmem2_map *map, uintptr_t start)
{
	if (!t->root)
		return -1;
	int found = 0;
	if (remove_entry(t, t->root, map, start, &found)) {
		free_node(t, t->root);
		t->root = NULL;
		t->height = 0;
	}
	/* a root with one child is one level too many */
	while (t->root && !t->root->leaf && t->root->n == 1) {
		struct rsv_bnode *old = t->root;
		t->root = old->u.child[0];
		t->height--;
		free_node(t, old);
	}
	return found ? 0 : -1;
}
