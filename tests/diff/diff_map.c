/* SPDX-License-Identifier: BSD-3-Clause */
/* diff_map.c -- differential transcript of pmem2_map_new/_delete/_from_existing */

#include "diff_common.h"
#include "diff_probe.h"

/*
 * try_map -- pmem2_map_new with a transcript line: return code, output
 * pointer state, size, granularity, page/2M alignment of the address
 * and what the memory allows
 */
static struct pmem2_map *
try_map(const char *desc, struct pmem2_config *cfg, struct pmem2_source *src)
{
	struct pmem2_map *map = SENTINEL;
	L("map_new(%s)", desc);
	int rc = RC(pmem2_map_new(&map, cfg, src));
	PTR("map", map);
	if (rc) {
		E();
		return NULL;
	}
	void *addr = pmem2_map_get_address(map);
	size_t size = pmem2_map_get_size(map);
	L(" size=%zu gran=%s", size,
		gname(pmem2_map_get_store_granularity(map)));
	L(" addr%%4K=%s", (uintptr_t)addr % 4096 ? "no" : "0");
	if (size >= 2 * MiB)
		L(" addr%%2M=%s", (uintptr_t)addr % (2 * MiB) ? "no" : "0");
	ACCESS("first", addr, 1);
	ACCESS("last", (char *)addr + size - 1, 1);
	E();
	return map;
}

/* del_map -- pmem2_map_delete and whether the range is gone afterwards */
static void
del_map(const char *desc, struct pmem2_map **map)
{
	void *addr = pmem2_map_get_address(*map);
	size_t size = pmem2_map_get_size(*map);
	L("map_delete(%s)", desc);
	RC(pmem2_map_delete(map));
	PTR("map", *map);
	L(" range=%s", is_mapped(addr, size) ? "mapped" : "unmapped");
	E();
}

static struct pmem2_source *
src_fd(int fd)
{
	struct pmem2_source *src;
	if (pmem2_source_from_fd(&src, fd))
		die("source_from_fd");
	return src;
}

/* basic -- offsets, lengths and granularities on a 64 KiB file */
static void
basic(void)
{
	SECTION("map_new: granularity, offset, length");
	int fd = mkfile(64 * KiB, 5, O_RDWR, NULL);
	struct pmem2_source *src = src_fd(fd);
	struct pmem2_config *cfg = cfg_new();
	struct pmem2_map *m;

	m = try_map("no granularity set", cfg, src);
	if (m)
		del_map("", &m);

	static const int grans[] = { PMEM2_GRANULARITY_BYTE,
		PMEM2_GRANULARITY_CACHE_LINE, PMEM2_GRANULARITY_PAGE };
	for (int i = 0; i < 3; i++) {
		char d[64];
		if (pmem2_config_set_required_store_granularity(cfg,
			(enum pmem2_granularity)grans[i]))
			die("set gran");
		snprintf(d, sizeof(d), "required=%s", gname(grans[i]));
		m = try_map(d, cfg, src);
		if (m) {
			L("  content(%s)", d);
			MSUM("sum", pmem2_map_get_address(m),
				pmem2_map_get_size(m));
			E();
			del_map(d, &m);
		}
	}
	if (pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE))
		die("set gran");

	static const size_t cases[][2] = {
		{ 0, 0 }, { 4096, 0 }, { 60 * KiB, 0 }, { 64 * KiB, 0 },
		{ 128 * KiB, 0 }, { 0, 4096 }, { 4096, 8192 },
		{ 4097, 8192 }, { 1, 0 }, { 4096, 8193 }, { 0, 1 },
		{ 0, 64 * KiB }, { 0, 64 * KiB + 4096 }, { 60 * KiB, 8192 },
		{ 64 * KiB, 4096 }, { 128 * KiB, 4096 },
		{ (size_t)INT64_MAX - 4095, 4096 },
		{ 4096, (size_t)INT64_MAX - 4095 }, { 0, SIZE_MAX - 4095 },
		{ 60 * KiB, SIZE_MAX - 4095 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char d[96];
		snprintf(d, sizeof(d), "off=%zu,len=%zu", cases[i][0],
			cases[i][1]);
		if (pmem2_config_set_offset(cfg, cases[i][0]) ||
			pmem2_config_set_length(cfg, cases[i][1]))
			die("config setters");
		m = try_map(d, cfg, src);
		if (m) {
			L("  content(%s)", d);
			MSUM("sum", pmem2_map_get_address(m),
				pmem2_map_get_size(m));
			E();
			del_map(d, &m);
		}
	}
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	close(fd);

	SECTION("map_new: odd file sizes");
	static const size_t fsizes[] = { 0, 100, 4096 + 100, 2 * MiB + 1 };
	for (size_t i = 0; i < sizeof(fsizes) / sizeof(fsizes[0]); i++) {
		fd = mkfile(fsizes[i], 7, O_RDWR, NULL);
		src = src_fd(fd);
		cfg = cfg_new();
		pmem2_config_set_required_store_granularity(cfg,
			PMEM2_GRANULARITY_PAGE);
		char d[96];
		static const size_t lens[] = { 0, 4096, 8192 };
		for (size_t j = 0; j < 3; j++) {
			snprintf(d, sizeof(d), "filesize=%zu,len=%zu",
				fsizes[i], lens[j]);
			pmem2_config_set_length(cfg, lens[j]);
			m = try_map(d, cfg, src);
			if (m)
				del_map(d, &m);
		}
		pmem2_config_delete(&cfg);
		pmem2_source_delete(&src);
		close(fd);
	}
}

/* write_via -- write a pattern, persist it, unmap, compare the file */
static void
sharing(void)
{
	SECTION("sharing");
	for (int sh = 0; sh < 2; sh++) {
		const char *shn = sh ? "PRIVATE" : "SHARED";
		int fd = mkfile(64 * KiB, 9, O_RDWR, NULL);
		struct pmem2_source *src = src_fd(fd);
		struct pmem2_config *cfg = cfg_new();
		pmem2_config_set_required_store_granularity(cfg,
			PMEM2_GRANULARITY_PAGE);
		L("set_sharing(%s)", shn);
		RC(pmem2_config_set_sharing(cfg, sh ? PMEM2_PRIVATE :
			PMEM2_SHARED));
		E();
		L("before");
		FSUM("file", fd);
		E();
		struct pmem2_map *m = try_map(shn, cfg, src);
		if (m) {
			char *a = pmem2_map_get_address(m);
			for (size_t i = 0; i < 10000; i++)
				a[1000 + i] = (char)(i * 13 + 1);
			pmem2_persist_fn persist = pmem2_get_persist_fn(m);
			persist(a + 1000, 10000);
			L("after write+persist (%s)", shn);
			MSUM("mem", a, pmem2_map_get_size(m));
			FSUM("file", fd);
			E();
			del_map(shn, &m);
			L("after unmap (%s)", shn);
			FSUM("file", fd);
			E();
		}
		pmem2_config_delete(&cfg);
		pmem2_source_delete(&src);
		close(fd);
	}
}

/* protection -- each protection value against O_RDONLY and O_RDWR fds */
static void
protection(void)
{
	SECTION("protection");
	static const unsigned prots[] = { PMEM2_PROT_NONE, PMEM2_PROT_READ,
		PMEM2_PROT_READ | PMEM2_PROT_WRITE,
		PMEM2_PROT_READ | PMEM2_PROT_EXEC,
		PMEM2_PROT_READ | PMEM2_PROT_WRITE | PMEM2_PROT_EXEC,
		PMEM2_PROT_WRITE, PMEM2_PROT_EXEC };
	static const int modes[] = { O_RDONLY, O_RDWR };
	for (int sh = 0; sh < 2; sh++)
	for (int mo = 0; mo < 2; mo++)
	for (size_t p = 0; p < sizeof(prots) / sizeof(prots[0]); p++) {
		int fd = mkfile(16 * KiB, 11, modes[mo], NULL);
		struct pmem2_source *src = src_fd(fd);
		struct pmem2_config *cfg = cfg_new();
		pmem2_config_set_required_store_granularity(cfg,
			PMEM2_GRANULARITY_PAGE);
		pmem2_config_set_sharing(cfg, sh ? PMEM2_PRIVATE :
			PMEM2_SHARED);
		char d[96];
		snprintf(d, sizeof(d), "%s,%s,prot=0x%x",
			sh ? "PRIVATE" : "SHARED",
			mo ? "O_RDWR" : "O_RDONLY", prots[p]);
		L("set_protection(0x%x)", prots[p]);
		RC(pmem2_config_set_protection(cfg, prots[p]));
		E();
		struct pmem2_map *m = try_map(d, cfg, src);
		if (m) {
			L("  get_fn on %s", d);
			/* the functions exist for every mapping */
			L(" persist=%s memcpy=%s",
				pmem2_get_persist_fn(m) ? "set" : "NULL",
				pmem2_get_memcpy_fn(m) ? "set" : "NULL");
			E();
			/* deep flush must not touch memory it cannot read
			 * (found by pmem2-fuzz, seed 212957) */
			L("  deep_flush(first 169 bytes) on %s", d);
			RC(pmem2_deep_flush(m, pmem2_map_get_address(m), 169));
			E();
			del_map(d, &m);
		}
		L("  file after");
		FSUM("file", fd);
		E();
		pmem2_config_delete(&cfg);
		pmem2_source_delete(&src);
		close(fd);
	}
}

/* anon -- mappings of anonymous sources */
static void
anon(void)
{
	SECTION("anonymous mappings");
	static const size_t cases[][3] = { /* srcsize, off, len */
		{ 64 * KiB, 0, 0 }, { 64 * KiB, 4096, 0 },
		{ 64 * KiB, 0, 4096 }, { 64 * KiB, 4096, 4096 },
		{ 64 * KiB, 0, 128 * KiB }, { 64 * KiB, 1, 0 },
		{ 64 * KiB, 0, 100 }, { 100, 0, 0 }, { 0, 0, 0 },
		{ 0, 0, 4096 }, { 4 * MiB, 0, 0 }, { 64 * KiB, 128 * KiB, 0 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pmem2_source *src;
		if (pmem2_source_from_anon(&src, cases[i][0]))
			die("source_from_anon");
		struct pmem2_config *cfg = cfg_new();
		pmem2_config_set_required_store_granularity(cfg,
			PMEM2_GRANULARITY_PAGE);
		pmem2_config_set_offset(cfg, cases[i][1]);
		pmem2_config_set_length(cfg, cases[i][2]);
		char d[96];
		snprintf(d, sizeof(d), "anon=%zu,off=%zu,len=%zu",
			cases[i][0], cases[i][1], cases[i][2]);
		struct pmem2_map *m = try_map(d, cfg, src);
		if (m) {
			char *a = pmem2_map_get_address(m);
			L("  content(%s)", d);
			MSUM("sum", a, pmem2_map_get_size(m));
			memset(a, 0x42, pmem2_map_get_size(m));
			pmem2_get_persist_fn(m)(a, pmem2_map_get_size(m));
			MSUM("written", a, pmem2_map_get_size(m));
			E();
			del_map(d, &m);
		}
		for (int g = 0; g < 2 && i == 0; g++) {
			pmem2_config_set_required_store_granularity(cfg,
				g ? PMEM2_GRANULARITY_BYTE :
				PMEM2_GRANULARITY_CACHE_LINE);
			snprintf(d, sizeof(d), "anon,required=%s",
				gname(g ? PMEM2_GRANULARITY_BYTE :
				PMEM2_GRANULARITY_CACHE_LINE));
			m = try_map(d, cfg, src);
			if (m)
				del_map(d, &m);
		}
		pmem2_config_delete(&cfg);
		pmem2_source_delete(&src);
	}
}

/* existing -- pmem2_map_from_existing and its overlap rules */
static void
existing(void)
{
	SECTION("map_from_existing");
	int fd = mkfile(64 * KiB, 13, O_RDWR, NULL);
	struct pmem2_source *src = src_fd(fd);
	char *a = mmap(NULL, 64 * KiB, PROT_READ | PROT_WRITE, MAP_SHARED,
		fd, 0);
	if (a == MAP_FAILED)
		die("mmap: %s", strerror(errno));

	struct pmem2_map *m1 = SENTINEL, *m2 = SENTINEL, *m3 = SENTINEL;
	/*
	 * CACHE_LINE, not PAGE: PMDK 1.12's persist on a PAGE-granularity
	 * map from pmem2_map_from_existing loops forever (msync of 0 bytes)
	 */
	L("map_from_existing(whole,CACHE_LINE)");
	int rc = RC(pmem2_map_from_existing(&m1, src, a, 64 * KiB,
		PMEM2_GRANULARITY_CACHE_LINE));
	PTR("map", m1);
	if (!rc)
		L(" size=%zu gran=%s addr_same=%s", pmem2_map_get_size(m1),
			gname(pmem2_map_get_store_granularity(m1)),
			pmem2_map_get_address(m1) == a ? "yes" : "no");
	E();

	L("map_from_existing(whole again)");
	rc = RC(pmem2_map_from_existing(&m2, src, a, 64 * KiB,
		PMEM2_GRANULARITY_PAGE));
	PTR("map", m2);
	E();
	if (!rc)
		del_map("second", &m2);

	L("map_from_existing(overlapping tail [32K,96K))");
	m2 = SENTINEL;
	rc = RC(pmem2_map_from_existing(&m2, src, a + 32 * KiB, 64 * KiB,
		PMEM2_GRANULARITY_PAGE));
	PTR("map", m2);
	E();
	if (!rc) {
		L("map_delete(overlap)");
		RC(pmem2_map_delete(&m2));
		E();
	}

	L("map_from_existing(inside [4K,8K))");
	m2 = SENTINEL;
	rc = RC(pmem2_map_from_existing(&m2, src, a + 4 * KiB, 4 * KiB,
		PMEM2_GRANULARITY_PAGE));
	PTR("map", m2);
	E();
	if (!rc) {
		L("map_delete(inside)");
		RC(pmem2_map_delete(&m2));
		E();
	}

	/* a pmem2_map_new mapping, then from_existing on its range */
	struct pmem2_config *cfg = cfg_new();
	pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE);
	struct pmem2_map *mn = try_map("for from_existing", cfg, src);
	if (mn) {
		L("map_from_existing(range of map_new)");
		rc = RC(pmem2_map_from_existing(&m3,  src,
			pmem2_map_get_address(mn), pmem2_map_get_size(mn),
			PMEM2_GRANULARITY_PAGE));
		PTR("map", m3);
		E();
		if (!rc) {
			L("map_delete(dup of map_new)");
			RC(pmem2_map_delete(&m3));
			E();
		}
		del_map("map_new one", &mn);
	}
	pmem2_config_delete(&cfg);

	if (m1 && m1 != SENTINEL) {
		L("write through from_existing + persist");
		memset(a + 100, 0x77, 5000);
		pmem2_get_persist_fn(m1)(a + 100, 5000);
		FSUM("file", fd);
		E();
		del_map("from_existing", &m1);
		L("  own mmap still usable");
		ACCESS("mem", a, 64 * KiB);
		E();
		L("map_from_existing(whole, after delete)");
		m1 = SENTINEL;
		rc = RC(pmem2_map_from_existing(&m1, src, a, 64 * KiB,
			PMEM2_GRANULARITY_PAGE));
		PTR("map", m1);
		if (!rc)
			L(" gran=%s", gname(pmem2_map_get_store_granularity(
				m1)));
		E();
		if (!rc)
			del_map("from_existing again", &m1);
	}
	/* an invalid granularity (3, -1) makes PMDK 1.12 abort(): not tested */
	static const int bad_grans[] = { PMEM2_GRANULARITY_BYTE };
	for (int i = 0; i < 1; i++) {
		L("map_from_existing(gran=%d)", bad_grans[i]);
		m1 = SENTINEL;
		rc = RC(pmem2_map_from_existing(&m1, src, a, 4096,
			(enum pmem2_granularity)bad_grans[i]));
		PTR("map", m1);
		if (!rc)
			L(" gran=%d", (int)pmem2_map_get_store_granularity(
				m1));
		E();
		if (!rc)
			del_map("gran", &m1);
	}
	munmap(a, 64 * KiB);
	pmem2_source_delete(&src);
	close(fd);
}

/* reuse -- delete, then map the same file again; two maps of one file */
static void
reuse(void)
{
	SECTION("map twice / remap");
	int fd = mkfile(64 * KiB, 15, O_RDWR, NULL);
	struct pmem2_source *src = src_fd(fd);
	struct pmem2_config *cfg = cfg_new();
	pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE);
	struct pmem2_map *a = try_map("first", cfg, src);
	struct pmem2_map *b = try_map("second of same file", cfg, src);
	if (a && b) {
		char *pa = pmem2_map_get_address(a);
		char *pb = pmem2_map_get_address(b);
		pmem2_get_memset_fn(a)(pa + 10, 0x31, 100, 0);
		L("write via first, read via second");
		L(" same=%s", memcmp(pa, pb, 64 * KiB) ? "no" : "yes");
		E();
	}
	if (a)
		del_map("first", &a);
	if (b)
		del_map("second", &b);
	L("file");
	FSUM("file", fd);
	E();
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	close(fd);
}

int
main(void)
{
	diff_init();
	probe_init();
	basic();
	sharing();
	protection();
	anon();
	existing();
	reuse();
	printf("== end\n");
	return 0;
}
