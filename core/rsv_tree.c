/* SPDX-License-Identifier: BSD-3-Clause */
/* rsv_tree.c -- intrusive AVL tree of mappings ordered by address. */
#include "map.h"
#include "rsv_tree.h"

#define KEY(n) ((uintptr_t)(n)->addr)

static int
height(const struct pmem2_map *n)
{
	return n ? n->rsv_height : 0;
}

static void
update(struct pmem2_map *n)
{
	int l = height(n->rsv_left), r = height(n->rsv_right);
	n->rsv_height = (l > r ? l : r) + 1;
}

static struct pmem2_map *
rotate_right(struct pmem2_map *n)
{
	struct pmem2_map *l = n->rsv_left;
	n->rsv_left = l->rsv_right;
	l->rsv_right = n;
	update(n);
	update(l);
	return l;
}

static struct pmem2_map *
rotate_left(struct pmem2_map *n)
{
	struct pmem2_map *r = n->rsv_right;
	n->rsv_right = r->rsv_left;
	r->rsv_left = n;
	update(n);
	update(r);
	return r;
}

/* rebalance -- restore the AVL invariant at n after one insert/remove. */
static struct pmem2_map *
rebalance(struct pmem2_map *n)
{
	update(n);
	int bal = height(n->rsv_left) - height(n->rsv_right);
	if (bal > 1) {
		if (height(n->rsv_left->rsv_left) <
				height(n->rsv_left->rsv_right))
			n->rsv_left = rotate_left(n->rsv_left);
		return rotate_right(n);
	}
	if (bal < -1) {
		if (height(n->rsv_right->rsv_right) <
				height(n->rsv_right->rsv_left))
			n->rsv_right = rotate_right(n->rsv_right);
		return rotate_left(n);
	}
	return n;
}

struct pmem2_map *
rsv_tree_insert(struct pmem2_map *root, struct pmem2_map *node)
{
	if (!root) {
		node->rsv_left = node->rsv_right = NULL;
		node->rsv_height = 1;
		return node;
	}
	if (KEY(node) < KEY(root))
		root->rsv_left = rsv_tree_insert(root->rsv_left, node);
	else
		root->rsv_right = rsv_tree_insert(root->rsv_right, node);
	return rebalance(root);
}

static struct pmem2_map *
remove_min(struct pmem2_map *n, struct pmem2_map **min)
{
	if (!n->rsv_left) {
		*min = n;
		return n->rsv_right;
	}
	n->rsv_left = remove_min(n->rsv_left, min);
	return rebalance(n);
}

struct pmem2_map *
rsv_tree_remove(struct pmem2_map *root, struct pmem2_map *node, int *found)
{
	if (!root)
		return NULL;
	if (KEY(node) < KEY(root)) {
		root->rsv_left = rsv_tree_remove(root->rsv_left, node, found);
	} else if (KEY(node) > KEY(root)) {
		root->rsv_right = rsv_tree_remove(root->rsv_right, node, found);
	} else {
		if (root != node)
			return root; /* same address, other object: absent */
		*found = 1;
		if (!root->rsv_right)
			return root->rsv_left;
		struct pmem2_map *min;
		struct pmem2_map *right = remove_min(root->rsv_right, &min);
		min->rsv_right = right;
		min->rsv_left = root->rsv_left;
		return rebalance(min);
	}
	return rebalance(root);
}

struct pmem2_map *
rsv_tree_floor(struct pmem2_map *n, uintptr_t key)
{
	struct pmem2_map *best = NULL;
	while (n) {
		if (KEY(n) <= key) {
			best = n;
			n = n->rsv_right;
		} else {
			n = n->rsv_left;
		}
	}
	return best;
}

struct pmem2_map *
rsv_tree_below(struct pmem2_map *n, uintptr_t key)
{
	return key ? rsv_tree_floor(n, key - 1) : NULL;
}

struct pmem2_map *
rsv_tree_above(struct pmem2_map *n, uintptr_t key)
{
	struct pmem2_map *best = NULL;
	while (n) {
		if (KEY(n) > key) {
			best = n;
			n = n->rsv_left;
		} else {
			n = n->rsv_right;
		}
	}
	return best;
}

struct pmem2_map *
rsv_tree_first(struct pmem2_map *n)
{
	while (n && n->rsv_left)
		n = n->rsv_left;
	return n;
}

struct pmem2_map *
rsv_tree_last(struct pmem2_map *n)
{
	while (n && n->rsv_right)
		n = n->rsv_right;
	return n;
}
