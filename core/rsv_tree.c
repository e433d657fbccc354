/* SPDX-License-Identifier: BSD-3-Clause */
/* rsv_tree.c -- AVL tree of a reservation's mappings, nodes from slabs. */
#include <stdlib.h>

#include "pmem2_utils.h"
#include "rsv_tree.h"

#define SLAB_NODES 256

struct rsv_slab {
	struct rsv_slab *next;
	struct rsv_node nodes[SLAB_NODES];
};

int
rsv_tree_reserve(struct rsv_tree *t)
{
	if (t->free)
		return 0;
	int err;
	struct rsv_slab *s = pmem2_malloc(sizeof(*s), &err);
	if (!s)
		return err;
	s->next = t->slabs;
	t->slabs = s;
	for (int i = SLAB_NODES - 1; i >= 0; i--) {
		s->nodes[i].left = t->free;
		t->free = &s->nodes[i];
	}
	return 0;
}

void
rsv_tree_destroy(struct rsv_tree *t)
{
	while (t->slabs) {
		struct rsv_slab *s = t->slabs;
		t->slabs = s->next;
		free(s);
	}
	t->root = t->free = NULL;
}

static int
height(const struct rsv_node *n)
{
	return n ? n->height : 0;
}

static void
update(struct rsv_node *n)
{
	int l = height(n->left), r = height(n->right);
	n->height = (l > r ? l : r) + 1;
}

static struct rsv_node *
rotate_right(struct rsv_node *n)
{
	struct rsv_node *l = n->left;
	n->left = l->right;
	l->right = n;
	update(n);
	update(l);
	return l;
}

static struct rsv_node *
rotate_left(struct rsv_node *n)
{
	struct rsv_node *r = n->right;
	n->right = r->left;
	r->left = n;
	update(n);
	update(r);
	return r;
}

/* rebalance -- restore the AVL invariant at n after one insert/remove. */
static struct rsv_node *
rebalance(struct rsv_node *n)
{
	update(n);
	int bal = height(n->left) - height(n->right);
	if (bal > 1) {
		if (height(n->left->left) < height(n->left->right))
			n->left = rotate_left(n->left);
		return rotate_right(n);
	}
	if (bal < -1) {
		if (height(n->right->right) < height(n->right->left))
			n->right = rotate_right(n->right);
		return rotate_left(n);
	}
	return n;
}

static struct rsv_node *
insert(struct rsv_node *root, struct rsv_node *node)
{
	if (!root)
		return node;
	if (node->start < root->start)
		root->left = insert(root->left, node);
	else
		root->right = insert(root->right, node);
	return rebalance(root);
}

void
rsv_tree_insert(struct rsv_tree *t, struct pmem2_map *map, uintptr_t start,
		uintptr_t end)
{
	struct rsv_node *n = t->free;	/* reserved by rsv_tree_reserve */
	t->free = n->left;
	n->start = start;
	n->end = end;
	n->map = map;
	n->left = n->right = NULL;
	n->height = 1;
	t->root = insert(t->root, n);
}

static struct rsv_node *
remove_min(struct rsv_node *n, struct rsv_node **min)
{
	if (!n->left) {
		*min = n;
		return n->right;
	}
	n->left = remove_min(n->left, min);
	return rebalance(n);
}

static struct rsv_node *
remove_node(struct rsv_node *root, const struct pmem2_map *map,
		uintptr_t key, struct rsv_node **gone)
{
	if (!root)
		return NULL;
	if (key < root->start) {
		root->left = remove_node(root->left, map, key, gone);
	} else if (key > root->start) {
		root->right = remove_node(root->right, map, key, gone);
	} else {
		if (root->map != map)
			return root; /* same address, other mapping: absent */
		*gone = root;
		if (!root->right)
			return root->left;
		struct rsv_node *min;
		struct rsv_node *right = remove_min(root->right, &min);
		min->right = right;
		min->left = root->left;
		return rebalance(min);
	}
	return rebalance(root);
}

int
rsv_tree_remove(struct rsv_tree *t, struct pmem2_map *map, uintptr_t start)
{
	struct rsv_node *gone = NULL;
	t->root = remove_node(t->root, map, start, &gone);
	if (!gone)
		return -1;
	gone->left = t->free;
	t->free = gone;
	return 0;
}

struct rsv_node *
rsv_tree_floor(const struct rsv_tree *t, uintptr_t key)
{
	struct rsv_node *best = NULL, *n = t->root;
	while (n) {
		if (n->start <= key) {
			best = n;
			n = n->right;
		} else {
			n = n->left;
		}
	}
	return best;
}

struct rsv_node *
rsv_tree_below(const struct rsv_tree *t, uintptr_t key)
{
	return key ? rsv_tree_floor(t, key - 1) : NULL;
}

struct rsv_node *
rsv_tree_above(const struct rsv_tree *t, uintptr_t key)
{
	struct rsv_node *best = NULL, *n = t->root;
	while (n) {
		if (n->start > key) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

struct rsv_node *
rsv_tree_first(const struct rsv_tree *t)
{
	struct rsv_node *n = t->root;
	while (n && n->left)
		n = n->left;
	return n;
}

struct rsv_node *
rsv_tree_last(const struct rsv_tree *t)
{
	struct rsv_node *n = t->root;
	while (n && n->right)
		n = n->right;
	return n;
}
