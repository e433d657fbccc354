/* SPDX-License-Identifier: BSD-3-Clause */
/* diff_mem.c -- differential transcript of persist/flush/drain and the mem* functions */

#include "diff_common.h"

#define FSIZE (1 * MiB)

static const unsigned flagsets[] = {
	0,
	PMEM2_F_MEM_NODRAIN,
	PMEM2_F_MEM_NONTEMPORAL,
	PMEM2_F_MEM_TEMPORAL,
	PMEM2_F_MEM_WC,
	PMEM2_F_MEM_WB,
	PMEM2_F_MEM_NOFLUSH,
	PMEM2_F_MEM_NONTEMPORAL | PMEM2_F_MEM_NODRAIN,
	PMEM2_F_MEM_TEMPORAL | PMEM2_F_MEM_NODRAIN,
	PMEM2_F_MEM_WC | PMEM2_F_MEM_NODRAIN,
	PMEM2_F_MEM_WB | PMEM2_F_MEM_NODRAIN,
	PMEM2_F_MEM_NOFLUSH | PMEM2_F_MEM_TEMPORAL,
	PMEM2_F_MEM_NOFLUSH | PMEM2_F_MEM_NODRAIN,
	PMEM2_F_MEM_NONTEMPORAL | PMEM2_F_MEM_TEMPORAL,	/* exclusive */
	PMEM2_F_MEM_WC | PMEM2_F_MEM_WB,		/* exclusive */
	PMEM2_F_MEM_VALID_FLAGS,
	1U << 6,	/* invalid bits */
	(1U << 7) | PMEM2_F_MEM_NODRAIN,
	0xffffffc0U,
};

static const size_t sizes[] = { 0, 1, 7, 8, 63, 64, 65, 255, 256, 4095,
	4096, 4097, 12345, 65536 + 17, 300 * KiB };
static const size_t offs[] = { 0, 1, 8, 63, 4096 + 24 };

static unsigned char srcbuf[400 * KiB];

/* check -- memory and file checksum after one operation */
static void
check(int fd, const char *map, int ret_ok)
{
	L(" ret=%s", ret_ok ? "dest" : "OTHER");
	MSUM("mem", map, FSIZE);
	FSUM("file", fd);
	E();
}

static void
ops(const char *label, int sharing)
{
	SECTION(label);
	int fd = mkfile(FSIZE, 21, O_RDWR, NULL);
	struct pmem2_source *src;
	if (pmem2_source_from_fd(&src, fd))
		die("source_from_fd");
	struct pmem2_config *cfg = cfg_new();
	pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE);
	pmem2_config_set_sharing(cfg, sharing);
	struct pmem2_map *m;
	L("map_new(%s)", label);
	if (RC(pmem2_map_new(&m, cfg, src))) {
		E();
		die("map_new failed");
	}
	L(" size=%zu gran=%s", pmem2_map_get_size(m),
		gname(pmem2_map_get_store_granularity(m)));
	E();
	char *a = pmem2_map_get_address(m);

	pmem2_memcpy_fn mcpy = pmem2_get_memcpy_fn(m);
	pmem2_memmove_fn mmov = pmem2_get_memmove_fn(m);
	pmem2_memset_fn mset = pmem2_get_memset_fn(m);
	pmem2_persist_fn persist = pmem2_get_persist_fn(m);
	pmem2_flush_fn flush = pmem2_get_flush_fn(m);
	pmem2_drain_fn drain = pmem2_get_drain_fn(m);
	L("get_fns same on second call");
	L(" %s", mcpy == pmem2_get_memcpy_fn(m) &&
		mmov == pmem2_get_memmove_fn(m) &&
		mset == pmem2_get_memset_fn(m) &&
		persist == pmem2_get_persist_fn(m) &&
		flush == pmem2_get_flush_fn(m) &&
		drain == pmem2_get_drain_fn(m) ? "yes" : "no");
	E();

	unsigned round = 0;
	size_t pos = 0;
	for (size_t f = 0; f < sizeof(flagsets) / sizeof(flagsets[0]); f++)
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t off = offs[(f + s) % (sizeof(offs) / sizeof(offs[0]))];
		size_t len = sizes[s];
		round++;
		for (size_t i = 0; i < len; i++)
			srcbuf[i] = (unsigned char)(i * 31 + round);
		pos = (pos + 40 * KiB + 4096) % (FSIZE - 400 * KiB);
		pos &= ~(size_t)4095;
		char *d = a + pos + off;
		unsigned fl = flagsets[f];
		void *r;

		L("memcpy(dst=%zu,len=%zu,flags=0x%x)", pos + off, len, fl);
		r = mcpy(d, srcbuf, len, fl);
		if (fl & PMEM2_F_MEM_NOFLUSH)
			persist(d, len);
		else if (fl & PMEM2_F_MEM_NODRAIN)
			drain();
		check(fd, a, r == d);

		L("memset(dst=%zu,c=%u,len=%zu,flags=0x%x)", pos + off + 3,
			round & 0xff, len, fl);
		r = mset(d + 3, (int)(round & 0xff) | 0x1000, len, fl);
		if (fl & PMEM2_F_MEM_NOFLUSH)
			flush(d + 3, len), drain();
		check(fd, a, r == d + 3);

		/* overlapping moves, forward and backward */
		size_t delta = 1 + (len / 3);
		L("memmove(fwd overlap dst=%zu,src=%zu,len=%zu,flags=0x%x)",
			pos + off + delta, pos + off, len, fl);
		r = mmov(d + delta, d, len, fl);
		check(fd, a, r == d + delta);
		L("memmove(bwd overlap dst=%zu,src=%zu,len=%zu,flags=0x%x)",
			pos + off, pos + off + delta, len, fl);
		r = mmov(d, d + delta, len, fl);
		check(fd, a, r == d);
		L("memmove(from outside dst=%zu,len=%zu,flags=0x%x)",
			pos + off + 5, len, fl);
		r = mmov(d + 5, srcbuf, len, fl);
		check(fd, a, r == d + 5);
	}

	SECTION("plain stores + persist/flush/drain");
	static const size_t ranges[][2] = { { 0, 0 }, { 1, 1 }, { 63, 2 },
		{ 100, 5000 }, { 4095, 2 }, { 8192, 4096 }, { 0, FSIZE } };
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		size_t o = ranges[i][0], l = ranges[i][1];
		for (size_t k = 0; k < l; k++)
			a[o + k] = (char)(k * 5 + i);
		L("store+persist(off=%zu,len=%zu)", o, l);
		persist(a + o, l);
		check(fd, a, 1);
		for (size_t k = 0; k < l; k++)
			a[o + k] = (char)(k * 3 + i);
		L("store+flush+drain(off=%zu,len=%zu)", o, l);
		flush(a + o, l);
		drain();
		check(fd, a, 1);
	}
	L("drain() alone");
	drain();
	check(fd, a, 1);

	L("map_delete");
	RC(pmem2_map_delete(&m));
	FSUM("file", fd);
	E();
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
	close(fd);
}

/* anon_ops -- the mem* functions on an anonymous mapping */
static void
anon_ops(void)
{
	SECTION("anonymous mapping mem*");
	struct pmem2_source *src;
	if (pmem2_source_from_anon(&src, 256 * KiB))
		die("source_from_anon");
	struct pmem2_config *cfg = cfg_new();
	pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE);
	struct pmem2_map *m;
	L("map_new(anon)");
	if (RC(pmem2_map_new(&m, cfg, src))) {
		E();
		die("map_new anon");
	}
	E();
	char *a = pmem2_map_get_address(m);
	for (size_t i = 0; i < 200 * KiB; i++)
		srcbuf[i] = (unsigned char)(i * 7);
	for (size_t f = 0; f < sizeof(flagsets) / sizeof(flagsets[0]); f++) {
		unsigned fl = flagsets[f];
		pmem2_get_memcpy_fn(m)(a + 1 + f, srcbuf, 100 * KiB + f, fl);
		pmem2_get_memset_fn(m)(a + 200 * KiB, (int)f, 1000 + f, fl);
		pmem2_get_memmove_fn(m)(a + 64, a + 1000, 50 * KiB, fl);
		if (fl & PMEM2_F_MEM_NOFLUSH)
			pmem2_get_persist_fn(m)(a, 256 * KiB);
		L("anon ops flags=0x%x", fl);
		MSUM("mem", a, 256 * KiB);
		E();
	}
	pmem2_map_delete(&m);
	pmem2_config_delete(&cfg);
	pmem2_source_delete(&src);
}

int
main(void)
{
	diff_init();
	ops("SHARED file mapping", PMEM2_SHARED);
	ops("PRIVATE file mapping", PMEM2_PRIVATE);
	anon_ops();
	printf("== end\n");
	return 0;
}
