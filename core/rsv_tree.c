/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rsv_tree.c -- B+tree of a reservation's mappings.
 *
 * Internal nodes hold separator keys (full addresses): child i holds the
 * entries with key[i] <= start < key[i + 1] (key[0] of the leftmost path
 * acts as -inf).  Separators are never raised when entries go away, so they
 * stay lower bounds; a search that lands in a leaf whose entries are all
 * above the key steps to the previous leaf.  Deletion frees empty nodes and
 * does not rebalance half-empty ones: the height is bounded by the largest
 * size the tree ever had, which keeps removal simple and O(log n).
 *
 * Leaves hold their entries' starts and ends, and internal nodes their
 * separators, either compact (32-bit unit counts from t->base) or wide
 * (addresses); see rsv_tree.h.  Every access to them goes through
 * lkey()/lend()/lset()/lmove() and ikey()/iset()/imove().
 */
#include <stdlib.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "os.h"
#include "pmem2_utils.h"
#include "rsv_tree.h"

#define RSV_FANOUT 64

struct rsv_bnode {
	int n;			/* entries (leaf) or children (internal) */
	unsigned char leaf;
	unsigned char pooled;	/* from a chunk (else from malloc) */
	struct rsv_bnode *prev, *next;	/* leaves only; spare list: next */
	union {
		struct {
			union {		/* separators, compact or wide */
				uint32_t c[RSV_FANOUT];
				uintptr_t w[RSV_FANOUT];
			} key;
			struct rsv_bnode *child[RSV_FANOUT];
		} in;
		struct {
			union {
				struct {	/* compact: units from base */
					uint32_t key[RSV_FANOUT];
					uint32_t end[RSV_FANOUT];
				} c;
				struct {	/* wide: addresses */
					uintptr_t key[RSV_FANOUT];
					uintptr_t end[RSV_FANOUT];
				} w;
			} k;
			struct pmem2_map *map[RSV_FANOUT];
		} lf;
	} u;
};

static inline uintptr_t
unit_addr(const struct rsv_tree *t, uint32_t u)
{
	return t->base + ((uintptr_t)u << t->shift);
}

/* to_unit -- a in the compact form (the caller made sure it fits) */
static inline uint32_t
to_unit(const struct rsv_tree *t, uintptr_t a)
{
	return (uint32_t)((a - t->base) >> t->shift);
}

static inline uintptr_t
lkey(const struct rsv_tree *t, const struct rsv_bnode *b, int i)
{
	return t->wide ? b->u.lf.k.w.key[i] : unit_addr(t, b->u.lf.k.c.key[i]);
}

static inline uintptr_t
lend(const struct rsv_tree *t, const struct rsv_bnode *b, int i)
{
	return t->wide ? b->u.lf.k.w.end[i] : unit_addr(t, b->u.lf.k.c.end[i]);
}

/* fits -- can a is stored compact? */
static int
fits(const struct rsv_tree *t, uintptr_t a)
{
	if (a < t->base)
		return 0;
	uintptr_t rel = a - t->base;
	return (rel & (((uintptr_t)1 << t->shift) - 1)) == 0 &&
		(rel >> t->shift) <= UINT32_MAX;
}

static void
lset(const struct rsv_tree *t, struct rsv_bnode *b, int i,
		const struct rsv_node *e)
{
	if (t->wide) {
		b->u.lf.k.w.key[i] = e->start;
		b->u.lf.k.w.end[i] = e->end;
	} else {	/* the caller made sure both fit */
		b->u.lf.k.c.key[i] = to_unit(t, e->start);
		b->u.lf.k.c.end[i] = to_unit(t, e->end);
	}
	b->u.lf.map[i] = e->map;
}

/* lmove -- entry j of leaf s becomes entry i of leaf d */
static void
lmove(const struct rsv_tree *t, struct rsv_bnode *d, int i,
		const struct rsv_bnode *s, int j)
{
	if (t->wide) {
		d->u.lf.k.w.key[i] = s->u.lf.k.w.key[j];
		d->u.lf.k.w.end[i] = s->u.lf.k.w.end[j];
	} else {
		d->u.lf.k.c.key[i] = s->u.lf.k.c.key[j];
		d->u.lf.k.c.end[i] = s->u.lf.k.c.end[j];
	}
	d->u.lf.map[i] = s->u.lf.map[j];
}

static inline uintptr_t
ikey(const struct rsv_tree *t, const struct rsv_bnode *b, int i)
{
	return t->wide ? b->u.in.key.w[i] : unit_addr(t, b->u.in.key.c[i]);
}

/*
 * iset -- separator i of internal node b is sep, child i is c.  Separators
 * are entries' starts, so they fit the compact form; the one exception is
 * a new root's key[0] (0), which searches never read.
 */
static void
iset(const struct rsv_tree *t, struct rsv_bnode *b, int i, uintptr_t sep,
		struct rsv_bnode *c)
{
	if (t->wide)
		b->u.in.key.w[i] = sep;
	else
		b->u.in.key.c[i] = sep < t->base ? 0 : to_unit(t, sep);
	b->u.in.child[i] = c;
}

/* imove -- separator and child j of s become number i of d */
static void
imove(const struct rsv_tree *t, struct rsv_bnode *d, int i,
		const struct rsv_bnode *s, int j)
{
	if (t->wide)
		d->u.in.key.w[i] = s->u.in.key.w[j];
	else
		d->u.in.key.c[i] = s->u.in.key.c[j];
	d->u.in.child[i] = s->u.in.child[j];
}

static int
lget(const struct rsv_tree *t, const struct rsv_bnode *b, int i,
		struct rsv_node *out)
{
	out->start = lkey(t, b, i);
	out->end = lend(t, b, i);
	out->map = b->u.lf.map[i];
	return 1;
}

static struct rsv_bnode *
leftmost_leaf(const struct rsv_tree *t)
{
	struct rsv_bnode *b = t->root;
	while (b && !b->leaf)
		b = b->u.in.child[0];
	return b;
}

/* widen_inner -- the wide form for b's subtree's internal nodes */
static void
widen_inner(const struct rsv_tree *t, struct rsv_bnode *b)
{
	if (!b || b->leaf)
		return;
	uint32_t key[RSV_FANOUT];
	for (int i = 0; i < b->n; i++)
		key[i] = b->u.in.key.c[i];
	for (int i = 0; i < b->n; i++) {
		b->u.in.key.w[i] = unit_addr(t, key[i]);
		widen_inner(t, b->u.in.child[i]);
	}
}

/* widen -- turn the whole tree into the wide form, in place */
static void
widen(struct rsv_tree *t)
{
	widen_inner(t, t->root);
	for (struct rsv_bnode *b = leftmost_leaf(t); b; b = b->next) {
		uint32_t key[RSV_FANOUT], end[RSV_FANOUT];
		for (int i = 0; i < b->n; i++) {
			key[i] = b->u.lf.k.c.key[i];
			end[i] = b->u.lf.k.c.end[i];
		}
		for (int i = 0; i < b->n; i++) {
			b->u.lf.k.w.key[i] = unit_addr(t, key[i]);
			b->u.lf.k.w.end[i] = unit_addr(t, end[i]);
		}
	}
	t->wide = 1;
}

void
rsv_tree_init(struct rsv_tree *t, uintptr_t base, unsigned shift)
{
	*t = (struct rsv_tree){ .base = base, .shift = shift };
}

#define CHUNK_SIZE ((size_t)2 << 20)
#define NODE_SIZE ALIGN_UP(sizeof(struct rsv_bnode), 64)

/* the head of a chunk, in its first NODE_SIZE bytes */
struct rsv_chunk {
	struct rsv_chunk *next;
	void *map;		/* the mapping holding it */
	size_t map_len;
};

/*
 * chunk_new -- map a 2 MiB-aligned chunk (twice the size, so that one fits;
 * the rest is address space only) and let the kernel back it with a huge
 * page.  0 when it cannot be mapped.
 */
static int
chunk_new(struct rsv_tree *t)
{
	size_t len = 2 * CHUNK_SIZE;
	char *p = os_mmap(NULL, len, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	char *a = (char *)ALIGN_UP((uintptr_t)p, CHUNK_SIZE);
	/* a hint: without huge pages the chunk still works */
	(void) syscall(SYS_madvise, a, CHUNK_SIZE, MADV_HUGEPAGE);
	struct rsv_chunk *c = (struct rsv_chunk *)a;
	c->next = t->chunks;
	c->map = p;
	c->map_len = len;
	t->chunks = c;
	t->bump = a + NODE_SIZE;
	t->bump_end = a + CHUNK_SIZE;
	return 1;
}

static struct rsv_bnode *
node_alloc(struct rsv_tree *t, int *err)
{
	struct rsv_bnode *b = t->pool_free;
	if (b) {
		t->pool_free = b->next;
		return b;
	}
	if ((t->chunks || t->nheap >= RSV_POOL_FROM) &&
			((size_t)(t->bump_end - t->bump) >= NODE_SIZE ||
			chunk_new(t))) {
		b = (struct rsv_bnode *)t->bump;
		t->bump += NODE_SIZE;
		b->pooled = 1;
		return b;
	}
	b = pmem2_malloc(sizeof(*b), err);
	if (b) {
		b->pooled = 0;
		t->nheap++;
	}
	return b;
}

static void
node_free(struct rsv_tree *t, struct rsv_bnode *b)
{
	if (b->pooled) {
		b->next = t->pool_free;
		t->pool_free = b;
	} else {
		t->nheap--;
		free(b);
	}
}

int
rsv_tree_reserve(struct rsv_tree *t)
{
	/* a split per level plus a new root */
	while (t->nspare < t->height + 2) {
		int err;
		struct rsv_bnode *b = node_alloc(t, &err);
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
		node_free(t, b);
	}
}

static void
destroy(struct rsv_tree *t, struct rsv_bnode *b)
{
	if (!b->leaf)
		for (int i = 0; i < b->n; i++)
			destroy(t, b->u.in.child[i]);
	node_free(t, b);
}

void
rsv_tree_destroy(struct rsv_tree *t)
{
	if (t->root)
		destroy(t, t->root);
	while (t->spare) {
		struct rsv_bnode *b = t->spare;
		t->spare = b->next;
		node_free(t, b);
	}
	/* every pool node is on pool_free now: drop them with their chunks */
	while (t->chunks) {
		struct rsv_chunk *c = t->chunks;
		t->chunks = c->next;
		(void) os_munmap(c->map, c->map_len);
	}
	t->pool_free = NULL;
	t->bump = t->bump_end = NULL;
	t->root = NULL;
	t->height = 0;
	t->nspare = 0;
}

/*
 * upper64/upper32 -- the index of the first element > key in the sorted
 * a[0..n), found by counting the elements <= key.  Counting reads every
 * line of the array at once, so their misses overlap, and has no branch to
 * mispredict; a binary search waits for one line after another and
 * mispredicts about every other step (~10 per lookup), which cost twice as
 * much at 1 k mappings and at 100 k.
 */
static int
upper64(const uintptr_t *a, int n, uintptr_t key)
{
	int c = 0;
	for (int i = 0; i < n; i++)
		c += a[i] <= key;
	return c;
}

static int
upper32(const uint32_t *a, int n, uint32_t key)
{
	int le = 0, i = 0;
#ifdef __SSE2__
	/* SSE2 compares signed: flipping the top bit orders unsigned values */
	const __m128i flip = _mm_set1_epi32(INT32_MIN);
	const __m128i k = _mm_xor_si128(_mm_set1_epi32((int)key), flip);
	__m128i gt = _mm_setzero_si128();	/* -1 per element > key */
	for (; i + 4 <= n; i += 4) {
		__m128i v = _mm_loadu_si128((const __m128i *)(a + i));
		gt = _mm_add_epi32(gt, _mm_cmpgt_epi32(_mm_xor_si128(v, flip),
			k));
	}
	gt = _mm_add_epi32(gt, _mm_shuffle_epi32(gt, 0x4e));
	gt = _mm_add_epi32(gt, _mm_shuffle_epi32(gt, 0xb1));
	le = i + _mm_cvtsi128_si32(gt);
#endif
	for (; i < n; i++)
		le += a[i] <= key;
	return le;
}

/*
 * count_le -- how many of n sorted keys are <= key: c[] in the compact
 * form, w[] in the wide one (the same array of a node, seen both ways).
 */
static int
count_le(const struct rsv_tree *t, const uint32_t *c, const uintptr_t *w,
		int n, uintptr_t key)
{
	if (t->wide)
		return upper64(w, n, key);
	if (key < t->base)
		return 0;
	/* unit <= key <=> unit <= (key - base) >> shift, keys being whole
	 * units */
	uintptr_t rel = (key - t->base) >> t->shift;
	return rel > UINT32_MAX ? n : upper32(c, n, (uint32_t)rel);
}

/*
 * child_for -- the child of internal node b that holds key: counting from
 * separator 1 makes key[0] act as -inf on the leftmost path.
 */
static int
child_for(const struct rsv_tree *t, const struct rsv_bnode *b, uintptr_t key)
{
	return count_le(t, b->u.in.key.c + 1, b->u.in.key.w + 1, b->n - 1,
		key);
}

/* upper -- how many of leaf b's entries start at or below key */
static int
upper(const struct rsv_tree *t, const struct rsv_bnode *b, uintptr_t key)
{
	return count_le(t, b->u.lf.k.c.key, b->u.lf.k.w.key, b->n, key);
}

static inline void
prefetch_range(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)63;
	for (; a < (uintptr_t)p + len; a += 64)
		__builtin_prefetch((const void *)a);
}

/*
 * prefetch_node -- ask for all the lines a search of b reads at once (for
 * a leaf, also the ends and maps read right after it), so that their
 * misses overlap instead of following one another.  Whether b is a leaf
 * comes from the depth, not from b->leaf, which would wait for b's first
 * line.
 */
static inline void
prefetch_node(const struct rsv_tree *t, const struct rsv_bnode *b,
		int is_leaf)
{
	if (!is_leaf) {
		prefetch_range(b, offsetof(struct rsv_bnode, u.in.key) +
			(t->wide ? sizeof(b->u.in.key.w) :
			sizeof(b->u.in.key.c)));
		return;
	}
	size_t keys = t->wide ? sizeof(b->u.lf.k.w) : sizeof(b->u.lf.k.c);
	prefetch_range(b, offsetof(struct rsv_bnode, u.lf.k) + keys);
	prefetch_range(b->u.lf.map, sizeof(b->u.lf.map));
}

static struct rsv_bnode *
leaf_for(const struct rsv_tree *t, uintptr_t key)
{
	struct rsv_bnode *b = t->root;
	for (int level = t->height; level > 1; level--) {
		b = b->u.in.child[child_for(t, b, key)];
		prefetch_node(t, b, level == 2);
	}
	return b;
}

int
rsv_tree_floor(const struct rsv_tree *t, uintptr_t key, struct rsv_node *out)
{
	struct rsv_bnode *b = leaf_for(t, key);
	if (!b)
		return 0;
	int i = upper(t, b, key);
	if (i > 0)
		return lget(t, b, i - 1, out);
	/* all entries here are above key: the floor ends the previous leaf */
	return b->prev ? lget(t, b->prev, b->prev->n - 1, out) : 0;
}

int
rsv_tree_below(const struct rsv_tree *t, uintptr_t key, struct rsv_node *out)
{
	return key ? rsv_tree_floor(t, key - 1, out) : 0;
}

int
rsv_tree_above(const struct rsv_tree *t, uintptr_t key, struct rsv_node *out)
{
	struct rsv_bnode *b = leaf_for(t, key);
	if (!b)
		return 0;
	int i = upper(t, b, key);
	if (i < b->n)
		return lget(t, b, i, out);
	return b->next ? lget(t, b->next, 0, out) : 0;
}

int
rsv_tree_first(const struct rsv_tree *t, struct rsv_node *out)
{
	struct rsv_bnode *b = leftmost_leaf(t);
	return b ? lget(t, b, 0, out) : 0;
}

int
rsv_tree_last(const struct rsv_tree *t, struct rsv_node *out)
{
	struct rsv_bnode *b = t->root;
	while (b && !b->leaf)
		b = b->u.in.child[b->n - 1];
	return b ? lget(t, b, b->n - 1, out) : 0;
}

/* first_key -- the lowest key under b (its separator in the parent) */
static uintptr_t
first_key(const struct rsv_tree *t, const struct rsv_bnode *b)
{
	return b->leaf ? lkey(t, b, 0) : ikey(t, b, 0);
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
		if (b->leaf)
			lmove(t, r, j - keep, b, j);
		else
			imove(t, r, j - keep, b, j);
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
		i = upper(t, b, e->start);
	} else {
		int c = child_for(t, b, e->start);
		insert(t, b->u.in.child[c], e, rightmost && c == b->n - 1,
			&cr, &csep);
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
		if (b->leaf)
			lmove(t, b, j, b, j - 1);
		else
			imove(t, b, j, b, j - 1);
	}
	if (b->leaf)
		lset(t, b, i, e);
	else
		iset(t, b, i, csep, cr);
	b->n++;
	if (*right)
		*sep = first_key(t, *right);
}

void
rsv_tree_insert(struct rsv_tree *t, struct pmem2_map *map, uintptr_t start,
		uintptr_t end)
{
	struct rsv_node e = { start, end, map };
	if (!t->wide && !(fits(t, start) && fits(t, end)))
		widen(t);
	if (!t->root) {
		t->root = take_spare(t, 1);
		t->height = 1;
	}
	struct rsv_bnode *r;
	uintptr_t sep;
	insert(t, t->root, &e, 1, &r, &sep);
	if (r) {
		struct rsv_bnode *nr = take_spare(t, 0);
		iset(t, nr, 0, 0, t->root);
		iset(t, nr, 1, sep, r);
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
		int i = upper(t, b, key);
		if (i == 0 || lkey(t, b, i - 1) != key ||
				b->u.lf.map[i - 1] != map)
			return 0;
		*found = 1;
		for (int j = i - 1; j < b->n - 1; j++)
			lmove(t, b, j, b, j + 1);
		if (--b->n)
			return 0;
		if (b->prev)
			b->prev->next = b->next;
		if (b->next)
			b->next->prev = b->prev;
		return 1;
	}
	int c = child_for(t, b, key);
	struct rsv_bnode *ch = b->u.in.child[c];
	if (!remove_entry(t, ch, map, key, found))
		return 0;
	free_node(t, ch);
	for (int j = c; j < b->n - 1; j++)
		imove(t, b, j, b, j + 1);
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
		t->wide = 0;	/* empty: compact again */
	}
	/* a root with one child is one level too many */
	while (t->root && !t->root->leaf && t->root->n == 1) {
		struct rsv_bnode *old = t->root;
		t->root = old->u.in.child[0];
		t->height--;
		free_node(t, old);
	}
	return found ? 0 : -1;
}
