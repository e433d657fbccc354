/* SPDX-License-Identifier: BSD-3-Clause */
/* diff_vmr.c -- differential transcript of the VM reservation API */

#include "diff_common.h"
#include "diff_probe.h"

/* base of the reservation under test; map positions print relative to it */
static char *base0;

static const char *
mname(struct pmem2_map *m)
{
	static char buf[4][64];
	static int k;
	k = (k + 1) % 4;
	if (m == NULL)
		return "NULL";
	if (m == SENTINEL)
		return "untouched";
	snprintf(buf[k], sizeof(buf[k]), "@%td+%zu",
		(char *)pmem2_map_get_address(m) - base0,
		pmem2_map_get_size(m));
	return buf[k];
}

/* RSV -- append reservation address (relative to base0) and size */
static void
RSV(struct pmem2_vm_reservation *r)
{
	L(" rsv.addr=@%td rsv.size=%zu",
		(char *)pmem2_vm_reservation_get_address(r) - base0,
		pmem2_vm_reservation_get_size(r));
}

static struct pmem2_source *
file_src(size_t size, unsigned seed, int *fdp)
{
	int fd = mkfile(size, seed, O_RDWR, NULL);
	struct pmem2_source *src;
	if (pmem2_source_from_fd(&src, fd))
		die("source_from_fd");
	*fdp = fd;
	return src;
}

/* rmap -- map 'src' at 'off' of 'rsv' with a transcript line */
static struct pmem2_map *
rmap(const char *desc, struct pmem2_vm_reservation *rsv, size_t off,
	size_t len, struct pmem2_source *src)
{
	struct pmem2_config *cfg = cfg_new();
	pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE);
	pmem2_config_set_length(cfg, len);
	L("set_vm_reservation(off=%zu)", off);
	RC(pmem2_config_set_vm_reservation(cfg, rsv, off));
	E();
	struct pmem2_map *m = SENTINEL;
	L("  map_new(%s,rsv_off=%zu,len=%zu)", desc, off, len);
	int rc = RC(pmem2_map_new(&m, cfg, src));
	if (rc) {
		PTR("map", m);
		m = NULL;
	} else {
		L(" map=%s gran=%s", mname(m),
			gname(pmem2_map_get_store_granularity(m)));
		ACCESS("first", pmem2_map_get_address(m), 1);
	}
	E();
	pmem2_config_delete(&cfg);
	return m;
}

static void
rdel(const char *desc, struct pmem2_map **m)
{
	char *a = pmem2_map_get_address(*m);
	size_t s = pmem2_map_get_size(*m);
	L("map_delete(%s %s)", desc, mname(*m));
	RC(pmem2_map_delete(m));
	PTR("map", *m);
	/* inside a reservation the range must stay reserved (no access) */
	ACCESS("range", a, s);
	E();
}

static void
find(struct pmem2_vm_reservation *rsv, size_t off, size_t len)
{
	struct pmem2_map *m = SENTINEL;
	L("map_find(off=%zu,len=%zu)", off, len);
	RC(pmem2_vm_reservation_map_find(rsv, off, len, &m));
	L(" map=%s", mname(m));
	E();
}

static void
walk(struct pmem2_vm_reservation *rsv, const char *label, int verbose)
{
	struct pmem2_map *m = SENTINEL, *last = SENTINEL;
	L("map_find_first(%s)", label);
	RC(pmem2_vm_reservation_map_find_first(rsv, &m));
	L(" map=%s", mname(m));
	E();
	L("map_find_last(%s)", label);
	RC(pmem2_vm_reservation_map_find_last(rsv, &last));
	L(" map=%s", mname(last));
	E();
	unsigned n = 0;
	uint64_t h = 0;
	while (m && m != SENTINEL) {
		struct pmem2_map *next = SENTINEL;
		int rc = pmem2_vm_reservation_map_find_next(rsv, m, &next);
		n++;
		h = h * 31 + (uint64_t)((char *)pmem2_map_get_address(m) -
			base0) + pmem2_map_get_size(m);
		if (verbose || rc) {
			L("  find_next(%s)", mname(m));
			RC(rc);
			L(" map=%s", mname(next));
			E();
		}
		if (rc || n > 100000)
			break;
		m = next;
	}
	L("walk forward(%s) visited=%u hash=%016llx", label, n,
		(unsigned long long)h);
	E();
	n = 0;
	h = 0;
	m = last;
	while (m && m != SENTINEL) {
		struct pmem2_map *prev = SENTINEL;
		int rc = pmem2_vm_reservation_map_find_prev(rsv, m, &prev);
		n++;
		h = h * 31 + (uint64_t)((char *)pmem2_map_get_address(m) -
			base0) + pmem2_map_get_size(m);
		if (verbose || rc) {
			L("  find_prev(%s)", mname(m));
			RC(rc);
			L(" map=%s", mname(prev));
			E();
		}
		if (rc || n > 100000)
			break;
		m = prev;
	}
	L("walk backward(%s) visited=%u hash=%016llx", label, n,
		(unsigned long long)h);
	E();
}

/* rnew -- pmem2_vm_reservation_new with a transcript line */
static struct pmem2_vm_reservation *
rnew(const char *desc, void *addr, size_t size)
{
	struct pmem2_vm_reservation *r = SENTINEL;
	L("vm_reservation_new(%s,size=%zu)", desc, size);
	int rc = RC(pmem2_vm_reservation_new(&r, addr, size));
	PTR("rsv", r);
	if (rc) {
		E();
		return NULL;
	}
	char *a = pmem2_vm_reservation_get_address(r);
	size_t s = pmem2_vm_reservation_get_size(r);
	L(" size=%zu", s);
	if (addr)
		L(" addr_same=%s", a == addr ? "yes" : "no");
	if (size >= 2 * MiB)
		L(" addr%%2M=%s", (uintptr_t)a % (2 * MiB) ? "no" : "0");
	if (size >= 2048 * MiB)
		L(" addr%%1G=%s", (uintptr_t)a % (1024 * MiB) ? "no" : "0");
	if (s)
		ACCESS("mem", a, s);
	E();
	return r;
}

static void
rfree(const char *desc, struct pmem2_vm_reservation **r)
{
	char *a = pmem2_vm_reservation_get_address(*r);
	size_t s = pmem2_vm_reservation_get_size(*r);
	L("vm_reservation_delete(%s)", desc);
	int rc = RC(pmem2_vm_reservation_delete(r));
	PTR("rsv", *r);
	if (!rc && s)
		L(" range=%s", is_mapped(a, s) ? "mapped" : "unmapped");
	E();
}

/* fresh_addr -- an address that was free a moment ago (reserve+release) */
static char *
fresh_addr(size_t size)
{
	struct pmem2_vm_reservation *r;
	if (pmem2_vm_reservation_new(&r, NULL, size))
		die("reservation for a fresh address");
	char *a = pmem2_vm_reservation_get_address(r);
	if (pmem2_vm_reservation_delete(&r))
		die("reservation delete");
	return a;
}

static void
new_delete(void)
{
	SECTION("vm_reservation_new/delete");
	static const size_t sizes[] = { 1, 4095, 4096, 4097, 8192,
		2 * MiB - 4096, 2 * MiB, 2 * MiB + 4096, 64 * MiB,
		2048 * MiB, (size_t)1 << 47 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		base0 = NULL;
		struct pmem2_vm_reservation *r = rnew("NULL", NULL, sizes[i]);
		if (r) {
			base0 = pmem2_vm_reservation_get_address(r);
			rfree("", &r);
		}
	}

	char *a = fresh_addr(16 * MiB);
	base0 = a;
	struct pmem2_vm_reservation *r = rnew("fixed free aligned", a,
		4 * MiB);
	struct pmem2_vm_reservation *x;
	x = rnew("fixed same addr (occupied)", a, 4 * MiB);
	if (x)
		rfree("dup", &x);
	x = rnew("fixed inside (occupied)", a + 1 * MiB, 4096);
	if (x)
		rfree("inside", &x);
	x = rnew("fixed overlapping end (occupied)", a + 2 * MiB, 4 * MiB);
	if (x)
		rfree("overlap end", &x);
	x = rnew("fixed unaligned addr+1", a + 4 * MiB + 1, 4096);
	if (x)
		rfree("unaligned", &x);
	x = rnew("fixed unaligned addr+2048", a + 4 * MiB + 2048, 4 * MiB);
	if (x)
		rfree("unaligned", &x);
	x = rnew("fixed addr+4096 (page aligned)", a + 8 * MiB + 4096,
		4096);
	if (x)
		rfree("page aligned", &x);
	x = rnew("fixed unaligned size", a + 8 * MiB, 4097);
	if (x)
		rfree("unaligned size", &x);
	if (r)
		rfree("fixed", &r);

	/* an address occupied by a plain mmap, not by libpmem2 */
	char *p = mmap(a, 2 * MiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		die("mmap fixed: %s", strerror(errno));
	x = rnew("fixed on a plain mmap", a, 2 * MiB);
	if (x)
		rfree("on plain mmap", &x);
	x = rnew("fixed overlapping a plain mmap", a + 1 * MiB, 2 * MiB);
	if (x)
		rfree("overlap plain mmap", &x);
	L("plain mmap still there");
	ACCESS("mem", p, 2 * MiB);
	E();
	munmap(p, 2 * MiB);
}

static void
mapping_in_rsv(void)
{
	SECTION("maps in a reservation");
	base0 = NULL;
	struct pmem2_vm_reservation *r = rnew("NULL", NULL, 4 * MiB);
	if (!r)
		die("reservation");
	base0 = pmem2_vm_reservation_get_address(r);
	int fd1, fd2, fd3;
	struct pmem2_source *s64 = file_src(64 * KiB, 31, &fd1);
	struct pmem2_source *sodd = file_src(4096 + 100, 33, &fd2);
	struct pmem2_source *s1m = file_src(1 * MiB, 35, &fd3);
	struct pmem2_source *anon;
	if (pmem2_source_from_anon(&anon, 64 * KiB))
		die("anon");

	walk(r, "empty", 1);
	find(r, 0, 4 * MiB);

	struct pmem2_map *m0 = rmap("file64K", r, 0, 0, s64);
	struct pmem2_map *m1 = rmap("file64K", r, 64 * KiB, 0, s64);
	struct pmem2_map *bad;
	bad = rmap("overlap same", r, 0, 0, s64);
	bad = rmap("overlap partial", r, 32 * KiB, 0, s64);
	bad = rmap("overlap two", r, 60 * KiB, 8192, s64);
	bad = rmap("unaligned rsv offset", r, 200 * KiB + 100, 0, s64);
	bad = rmap("unaligned rsv offset 2048", r, 200 * KiB + 2048, 4096,
		s64);
	bad = rmap("past end", r, 4 * MiB - 32 * KiB, 0, s64);
	bad = rmap("at end", r, 4 * MiB, 4096, s64);
	bad = rmap("far past end", r, 8 * MiB, 4096, s64);
	/*
	 * not tested: rsv offset SIZE_MAX-4095 -- PMDK 1.12 accepts it and
	 * maps at (reservation - 4096) with MAP_FIXED, outside the reservation
	 */
	(void)bad;
	struct pmem2_map *m2 = rmap("fits at end", r, 4 * MiB - 64 * KiB, 0,
		s64);
	struct pmem2_map *m3 = rmap("odd-size file", r, 1 * MiB, 0, sodd);
	struct pmem2_map *m4 = rmap("after odd-size file (next page)", r,
		1 * MiB + 4096, 4096, s64);
	struct pmem2_map *m5 = rmap("after odd-size file (2 pages)", r,
		1 * MiB + 8192, 4096, s64);
	struct pmem2_map *m6 = rmap("anon", r, 2 * MiB, 0, anon);
	struct pmem2_map *m7 = rmap("1M file", r, 2 * MiB + 64 * KiB,
		0, s1m);

	SECTION("map_find");
	find(r, 0, 1);
	find(r, 0, 4 * MiB);
	find(r, 4096, 4096);
	find(r, 64 * KiB - 1, 2);
	find(r, 64 * KiB, 1);
	find(r, 128 * KiB, 4096);
	find(r, 128 * KiB, 1 * MiB - 128 * KiB);
	find(r, 128 * KiB, 1 * MiB - 128 * KiB + 1);
	find(r, 1 * MiB + 4096 + 100, 1);
	find(r, 1 * MiB + 101, 1);
	find(r, 3 * MiB + 512 * KiB, 1);
	find(r, 4 * MiB - 1, 1);
	find(r, 4 * MiB, 4096);
	find(r, 8 * MiB, 4096);
	find(r, 0, 0);
	find(r, 4096, 0);
	find(r, 200 * KiB, 0);
	find(r, 1, SIZE_MAX);
	walk(r, "several", 1);

	SECTION("delete non-empty, shrink/extend around maps");
	{
		struct pmem2_vm_reservation *rr = r;
		rfree("non-empty", &rr);
		r = rr ? rr : r;
	}
	static const size_t shr[][2] = { { 0, 4096 }, { 0, 64 * KiB },
		{ 4 * MiB - 4096, 4096 }, { 1 * MiB, 4096 }, { 0, 4 * MiB },
		{ 100, 4096 }, { 4 * MiB - 4096, 100 }, { 4 * MiB, 4096 },
		{ 4 * MiB - 4096, 8192 }, { 0, 0 }, { 4 * MiB - 4096, 0 },
		{ SIZE_MAX - 4095, 4096 }, { 4096, SIZE_MAX - 4095 } };
	for (size_t i = 0; i < sizeof(shr) / sizeof(shr[0]); i++) {
		L("vm_reservation_shrink(off=%zu,size=%zu)", shr[i][0],
			shr[i][1]);
		RC(pmem2_vm_reservation_shrink(r, shr[i][0], shr[i][1]));
		RSV(r);
		E();
	}

	SECTION("map_delete and remap inside the reservation");
	if (m1) {
		rdel("m1", &m1);
		find(r, 64 * KiB, 64 * KiB);
		m1 = rmap("remap same spot", r, 64 * KiB, 0, s64);
		if (m1) {
			char *p = pmem2_map_get_address(m1);
			p[5] = 0x5a;
			pmem2_get_persist_fn(m1)(p + 5, 1);
			L("write through remap");
			FSUM("file", fd1);
			E();
		}
	}
	if (m3)
		rdel("m3 odd", &m3);
	m3 = rmap("8K where odd-size was", r, 1 * MiB, 8192, s64);
	walk(r, "after remap", 1);

	SECTION("shrink/extend with maps present");
	/* free the first 128K and shrink from the start */
	if (m0)
		rdel("m0", &m0);
	if (m1)
		rdel("m1", &m1);
	L("vm_reservation_shrink(off=0,size=128K) [now empty there]");
	RC(pmem2_vm_reservation_shrink(r, 0, 128 * KiB));
	RSV(r);
	E();
	find(r, 0, 4096);
	find(r, 1 * MiB - 128 * KiB, 4096);
	walk(r, "after shrink start", 0);
	if (m2)
		rdel("m2 (end)", &m2);
	L("vm_reservation_shrink(end 64K) [now empty there]");
	RC(pmem2_vm_reservation_shrink(r, pmem2_vm_reservation_get_size(r) -
		64 * KiB, 64 * KiB));
	RSV(r);
	E();
	L("vm_reservation_shrink(end 1M) [holds the 1M file map]");
	RC(pmem2_vm_reservation_shrink(r, pmem2_vm_reservation_get_size(r) -
		1 * MiB, 1 * MiB));
	RSV(r);
	E();

	static const size_t ext[] = { 4096, 100, 0, 2 * MiB, 64 * KiB + 1 };
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		L("vm_reservation_extend(%zu)", ext[i]);
		RC(pmem2_vm_reservation_extend(r, ext[i]));
		RSV(r);
		E();
	}
	{
		size_t sz = pmem2_vm_reservation_get_size(r);
		char *a = pmem2_vm_reservation_get_address(r);
		struct pmem2_map *me = rmap("in extended part", r, sz - 64 * KiB,
			0, s64);
		L("extended tail");
		ACCESS("mem", a + sz - 128 * KiB, 1);
		E();
		if (me)
			rdel("me", &me);
	}
	walk(r, "before teardown", 1);
	find(r, 0, pmem2_vm_reservation_get_size(r));

	/* shrink the whole span around a mapping: middle / whole */
	{
		size_t sz = pmem2_vm_reservation_get_size(r);
		L("vm_reservation_shrink(whole)");
		RC(pmem2_vm_reservation_shrink(r, 0, sz));
		RSV(r);
		E();
		L("vm_reservation_shrink(middle 4K at 512K)");
		RC(pmem2_vm_reservation_shrink(r, 512 * KiB, 4096));
		RSV(r);
		E();
		L("vm_reservation_shrink(from start over a map)");
		RC(pmem2_vm_reservation_shrink(r, 0, sz - 4096));
		RSV(r);
		E();
	}

	struct pmem2_map **all[] = { &m0, &m1, &m2, &m3, &m4, &m5, &m6,
		&m7 };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (*all[i])
			rdel("teardown", all[i]);
	walk(r, "emptied", 1);
	rfree("emptied", &r);

	pmem2_source_delete(&s64);
	pmem2_source_delete(&sodd);
	pmem2_source_delete(&s1m);
	pmem2_source_delete(&anon);
	close(fd1);
	close(fd2);
	close(fd3);
}

/*
 * vma_end -- end of the memory mapping that contains p (p if none).
 * A reservation may own more address space than its size (PMDK keeps
 * alignment slack), so ranges "right after" one start there.
 */
static char *
vma_end(char *p)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		die("/proc/self/maps");
	char line[1024];
	char *end = p;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		if ((uintptr_t)end >= lo && (uintptr_t)end < hi)
			end = (char *)hi;	/* maps are sorted: follow */
	}
	fclose(f);
	return end;
}

/* extend_blocked -- extend into ranges occupied by others */
static void
extend_blocked(void)
{
	SECTION("extend into occupied ranges");
	char *x = fresh_addr(64 * MiB);
	base0 = x;
	struct pmem2_vm_reservation *r = rnew("fixed", x, 1 * MiB);
	if (!r)
		die("fixed reservation");
	/* the blocker: 64K of plain mmap, 64K past what the reservation owns */
	char *blk = vma_end(x + 1 * MiB) + 64 * KiB;
	size_t gap = (size_t)(blk - (x + 1 * MiB));
	if (mmap(blk, 64 * KiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		MAP_FIXED_NOREPLACE, -1, 0) != blk)
		die("mmap blocker: %s", strerror(errno));
	L("vm_reservation_extend(gap+64K) [range holds a plain mmap]");
	RC(pmem2_vm_reservation_extend(r, gap + 64 * KiB));
	L(" size_is_1M=%s", pmem2_vm_reservation_get_size(r) == 1 * MiB ?
		"yes" : "no");
	E();
	L("vm_reservation_extend(gap) [free up to the plain mmap]");
	RC(pmem2_vm_reservation_extend(r, gap));
	L(" size_is_1M+gap=%s", pmem2_vm_reservation_get_size(r) ==
		1 * MiB + gap ? "yes" : "no");
	ACCESS("new part", x + 1 * MiB, gap);
	E();
	L("vm_reservation_extend(4K) [exactly the plain mmap]");
	RC(pmem2_vm_reservation_extend(r, 4096));
	L(" size_is_1M+gap=%s", pmem2_vm_reservation_get_size(r) ==
		1 * MiB + gap ? "yes" : "no");
	E();
	L("blocker");
	ACCESS("mem", blk, 64 * KiB);
	E();
	int fd;
	struct pmem2_source *src = file_src(64 * KiB, 45, &fd);
	struct pmem2_map *m = rmap("last 64K of extended", r,
		1 * MiB + gap - 64 * KiB, 0, src);
	L("map in extended part");
	L(" at_end=%s", m && (char *)pmem2_map_get_address(m) + 64 * KiB ==
		blk ? "yes" : "no");
	E();
	munmap(blk, 64 * KiB);

	/* another reservation right where the blocker was */
	struct pmem2_vm_reservation *r2 = rnew("2nd where blocker was", blk,
		1 * MiB);
	L("vm_reservation_extend(64K) [over another empty reservation]");
	RC(pmem2_vm_reservation_extend(r, 64 * KiB));
	L(" size_is_1M+gap=%s", pmem2_vm_reservation_get_size(r) ==
		1 * MiB + gap ? "yes" : "no");
	E();
	struct pmem2_map *m2 = NULL;
	if (r2) {
		m2 = rmap("first 64K of 2nd", r2, 0, 0, src);
		L("vm_reservation_extend(4K) [2nd reservation maps there]");
		RC(pmem2_vm_reservation_extend(r, 4096));
		L(" size_is_1M+gap=%s", pmem2_vm_reservation_get_size(r) ==
			1 * MiB + gap ? "yes" : "no");
		E();
	}
	if (m)
		rdel("extended", &m);
	if (m2)
		rdel("2nd", &m2);
	if (r2)
		rfree("2nd", &r2);
	L("vm_reservation_extend(1M) [free again]");
	RC(pmem2_vm_reservation_extend(r, 1 * MiB));
	L(" size_is_2M+gap=%s", pmem2_vm_reservation_get_size(r) ==
		2 * MiB + gap ? "yes" : "no");
	E();
	rfree("fixed", &r);
	pmem2_source_delete(&src);
	close(fd);
}

/* degenerate -- size 0 and SIZE_MAX-4095; last: PMDK leaks these */
static void
degenerate(void)
{
	SECTION("degenerate reservation sizes (last: may leak)");
	static const size_t sizes[] = { 0, SIZE_MAX - 4095 };
	for (size_t i = 0; i < 2; i++) {
		base0 = NULL;
		struct pmem2_vm_reservation *r = rnew("NULL", NULL, sizes[i]);
		if (r) {
			base0 = pmem2_vm_reservation_get_address(r);
			rfree("", &r);
		}
	}
}

/* shrink_empty -- shrink cases on an empty reservation */
static void
shrink_empty(void)
{
	SECTION("shrink/extend an empty reservation");
	base0 = NULL;
	struct pmem2_vm_reservation *r = rnew("NULL", NULL, 1 * MiB);
	if (!r)
		die("reservation");
	base0 = pmem2_vm_reservation_get_address(r);
	static const size_t shr[][2] = { { 0, 1 * MiB }, { 4096, 4096 },
		{ 0, 4096 }, { 1 * MiB - 8192, 8192 }, { 0, 4096 },
		{ 1, 4096 }, { 0, 4097 }, { 1 * MiB, 4096 },
		{ 4096, 1 * MiB } };
	for (size_t i = 0; i < sizeof(shr) / sizeof(shr[0]); i++) {
		L("vm_reservation_shrink(off=%zu,size=%zu)", shr[i][0],
			shr[i][1]);
		RC(pmem2_vm_reservation_shrink(r, shr[i][0], shr[i][1]));
		RSV(r);
		E();
	}
	L("vm_reservation_extend(1M)");
	RC(pmem2_vm_reservation_extend(r, 1 * MiB));
	RSV(r);
	E();
	/* shrink until one page is left */
	while (pmem2_vm_reservation_get_size(r) > 4096) {
		size_t sz = pmem2_vm_reservation_get_size(r);
		size_t cut = sz / 2 > 4096 ? (sz / 2) & ~(size_t)4095 : 4096;
		L("vm_reservation_shrink(start %zu)", cut);
		int rc = RC(pmem2_vm_reservation_shrink(r, 0, cut));
		RSV(r);
		E();
		if (rc)
			break;
	}
	L("vm_reservation_shrink(last page)");
	RC(pmem2_vm_reservation_shrink(r, 0, 4096));
	RSV(r);
	E();
	rfree("shrunk", &r);
}

/* many -- 1000 mappings in one reservation */
static void
many(void)
{
	SECTION("1000 mappings");
	enum { N = 1000 };
	base0 = NULL;
	struct pmem2_vm_reservation *r = rnew("NULL", NULL, 2 * N * 4096);
	if (!r)
		die("reservation");
	base0 = pmem2_vm_reservation_get_address(r);
	int fd;
	struct pmem2_source *src = file_src(8192, 41, &fd);
	struct pmem2_config *cfg = cfg_new();
	pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE);
	static struct pmem2_map *maps[N];
	unsigned fails = 0;
	/* map every other page, in a scrambled order */
	for (unsigned i = 0; i < N; i++) {
		unsigned k = (i * 617) % N;
		pmem2_config_set_length(cfg, (k % 3 == 0) ? 8192 : 4096);
		pmem2_config_set_vm_reservation(cfg, r, (size_t)k * 8192);
		int rc = pmem2_map_new(&maps[k], cfg, src);
		if (rc) {
			maps[k] = NULL;
			if (fails++ < 10) {
				L("map_new(rsv_off=%u)", k * 8192);
				RC(rc);
				E();
			}
		}
	}
	L("mapped %u of %u, failures=%u", N - fails, N, fails);
	E();
	walk(r, "1000", 0);
	find(r, 0, 2 * N * 4096);
	find(r, 777 * 8192 + 4096, 4096);
	find(r, 777 * 8192 + 4096, 4097);
	find(r, 999 * 8192 + 4096, 4096);
	/* overlapping attempts on 8K maps */
	pmem2_config_set_length(cfg, 4096);
	pmem2_config_set_vm_reservation(cfg, r, 3 * 8192 + 4096);
	struct pmem2_map *bad = SENTINEL;
	L("map_new(into 8K map's 2nd page)");
	RC(pmem2_map_new(&bad, cfg, src));
	PTR("map", bad);
	E();
	/* delete every third one and walk again */
	for (unsigned i = 0; i < N; i += 3)
		if (maps[i] && pmem2_map_delete(&maps[i]))
			die("map_delete");
	walk(r, "after deleting every 3rd", 0);
	find(r, 3 * 8192, 8192);
	find(r, 3 * 8192, 8193);
	{
		struct pmem2_vm_reservation *rr = r;
		rfree("non-empty 1000", &rr);
	}
	for (unsigned i = 0; i < N; i++)
		if (maps[i] && pmem2_map_delete(&maps[i]))
			die("map_delete");
	walk(r, "all deleted", 1);
	rfree("1000", &r);
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	close(fd);
}

/* cross -- maps of two reservations, find_next with a foreign map */
static void
cross(void)
{
	SECTION("two reservations");
	base0 = NULL;
	struct pmem2_vm_reservation *a = rnew("A", NULL, 1 * MiB);
	struct pmem2_vm_reservation *b = rnew("B", NULL, 1 * MiB);
	if (!a || !b)
		die("reservations");
	base0 = pmem2_vm_reservation_get_address(a);
	int fd;
	struct pmem2_source *src = file_src(64 * KiB, 43, &fd);
	struct pmem2_map *ma = rmap("in A", a, 0, 0, src);
	base0 = pmem2_vm_reservation_get_address(b);
	struct pmem2_map *mb = rmap("in B", b, 0, 0, src);
	base0 = pmem2_vm_reservation_get_address(a);
	find(a, 0, 1 * MiB);
	if (ma && mb) {
		struct pmem2_map *n = SENTINEL;
		L("map_find_next(A, map of B)");
		RC(pmem2_vm_reservation_map_find_next(a, mb, &n));
		PTR("map", n);
		E();
		n = SENTINEL;
		L("map_find_prev(A, map of B)");
		RC(pmem2_vm_reservation_map_find_prev(a, mb, &n));
		PTR("map", n);
		E();
		n = SENTINEL;
		L("map_find_next(A, only map of A)");
		RC(pmem2_vm_reservation_map_find_next(a, ma, &n));
		PTR("map", n);
		E();
		n = SENTINEL;
		L("map_find_prev(A, only map of A)");
		RC(pmem2_vm_reservation_map_find_prev(a, ma, &n));
		PTR("map", n);
		E();
	}
	if (ma)
		rdel("in A", &ma);
	base0 = pmem2_vm_reservation_get_address(b);
	if (mb)
		rdel("in B", &mb);
	rfree("A", &a);
	rfree("B", &b);
	pmem2_source_delete(&src);
	close(fd);
}

int
main(void)
{
	diff_init();
	probe_init();
	new_delete();
	mapping_in_rsv();
	shrink_empty();
	many();
	cross();
	extend_blocked();
	degenerate();
	printf("== end\n");
	return 0;
}
