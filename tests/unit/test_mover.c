/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_mover.c -- every mover variant x granularity x flags x size x
 * alignment, byte-exact against a reference, on a /dev/shm mapping.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <cpuid.h>
#include <sys/mman.h>

#include "map.h"
#include "mover_ut.h"
#include "persist.h"
#include "ut_common.h"

#define REGION (64 * 1024)
#define BASE 4096	/* where destinations start inside the region */
#define GUARD 64	/* bytes checked on each side of an operation */

static char *Pm;	/* the "pmem": a MAP_SHARED /dev/shm mapping */
static char *Pristine;	/* its initial contents */
static char *Expect;	/* what Pm must hold after the operation */
static char *Src;	/* a source outside Pm */

static void
fill_random(char *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		p[i] = (char)seed;
	}
}

static void
region_setup(void)
{
	int fd = ut_tmpfile(REGION, O_RDWR);
	Pm = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert(Pm != MAP_FAILED);
	close(fd);
	Pristine = malloc(REGION);
	Expect = malloc(REGION);
	Src = malloc(REGION);
	cr_assert(Pristine && Expect && Src);
	fill_random(Pristine, REGION, 0x9e3779b97f4a7c15ULL);
	fill_random(Src, REGION, 0x0123456789abcdefULL);
	memcpy(Pm, Pristine, REGION);
	memcpy(Expect, Pristine, REGION);
}

static void
region_teardown(void)
{
	munmap(Pm, REGION);
	free(Pristine);
	free(Expect);
	free(Src);
}

enum op { OP_COPY, OP_MOVE, OP_SET };

struct ctx {
	const char *variant;
	enum pmem2_granularity gran;
	struct pmem2_map map;
};

static const char *
gran_name(enum pmem2_granularity g)
{
	return g == PMEM2_GRANULARITY_BYTE ? "BYTE" :
		g == PMEM2_GRANULARITY_CACHE_LINE ? "CACHE_LINE" : "PAGE";
}

/*
 * run_op -- one call through the mapping's function, then compare the whole
 * window around it with the reference and restore it.  For OP_MOVE, soff is
 * an offset inside Pm (overlap allowed); for OP_COPY inside Src; OP_SET
 * uses soff as the fill value.
 */
static void
run_op(struct ctx *c, enum op op, size_t doff, size_t soff, size_t len,
		unsigned flags)
{
	size_t lo = doff, hi = doff + len;
	void *ret;
	if (op == OP_MOVE) {
		lo = doff < soff ? doff : soff;
		hi = (doff > soff ? doff : soff) + len;
	}
	lo = lo > GUARD ? lo - GUARD : 0;
	hi = hi + GUARD < REGION ? hi + GUARD : REGION;

	if (op == OP_COPY) {
		memcpy(Expect + doff, Src + soff, len);
		ret = c->map.memcpy_fn(Pm + doff, Src + soff, len, flags);
	} else if (op == OP_MOVE) {
		memmove(Expect + doff, Expect + soff, len);
		ret = c->map.memmove_fn(Pm + doff, Pm + soff, len, flags);
	} else {
		memset(Expect + doff, (int)soff, len);
		ret = c->map.memset_fn(Pm + doff, (int)soff, len, flags);
	}
	cr_assert_eq(ret, Pm + doff, "%s: wrong return value", c->variant);

	if (memcmp(Pm + lo, Expect + lo, hi - lo) != 0) {
		size_t i = lo;
		while (Pm[i] == Expect[i])
			i++;
		cr_assert_fail("%s %s op %d dst+%zu src+%zu len %zu flags 0x%x:"
			" byte %zd (relative to dst) is 0x%02x, expected 0x%02x",
			c->variant, gran_name(c->gran), op, doff, soff, len,
			flags, (ssize_t)i - (ssize_t)doff,
			(uint8_t)Pm[i], (uint8_t)Expect[i]);
	}
	memcpy(Pm + lo, Pristine + lo, hi - lo);
	memcpy(Expect + lo, Pristine + lo, hi - lo);
}

/* the whole region must be back to its initial state: no stray writes */
static void
check_region_intact(const char *what)
{
	cr_assert(memcmp(Pm, Pristine, REGION) == 0,
		"%s: bytes changed far from any destination", what);
}

#define F_ND PMEM2_F_MEM_NODRAIN
#define F_NT PMEM2_F_MEM_NONTEMPORAL
#define F_T PMEM2_F_MEM_TEMPORAL
#define F_NF PMEM2_F_MEM_NOFLUSH
#define F_BAD 0xffffffc0u	/* every bit that is not a flag */

static const unsigned Flags_main[] = {
	0, F_ND, F_NT, F_NT | F_ND, F_T, F_T | F_ND, PMEM2_F_MEM_WC,
	PMEM2_F_MEM_WB | F_ND, F_NF, F_NF | F_ND, F_NT | PMEM2_F_MEM_WC,
	F_BAD, F_BAD | F_NT, F_BAD | F_T | F_ND,
};
#define NFLAGS_MAIN (sizeof(Flags_main) / sizeof(Flags_main[0]))

static const size_t Doffs[] = { 0, 1, 8, 33, 63 };
static const size_t Soffs[] = { 0, 5, 8, 63 };
static const size_t Sizes_few[] = { 0, 1, 7, 8, 63, 64, 65, 200, 255, 256,
	257, 1000, 4097 };
static const size_t Sizes_big[] = { 511, 1000, 1023, 1024, 2047, 2048,
	2049, 3333, 4095, 4096, 4097, 5003 };

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* sizes: 0..300 each, then odd steps to 1.1 KiB, then a few up to 5 KiB */
static size_t
size_at(size_t i, int few)
{
	if (few)
		return i < NELEMS(Sizes_few) ? Sizes_few[i] : SIZE_MAX;
	if (i <= 300)
		return i;
	i -= 301;
	if (301 + i * 37 <= 1100)
		return 301 + i * 37;
	i -= (1100 - 301) / 37 + 1;
	return i < NELEMS(Sizes_big) ? Sizes_big[i] : SIZE_MAX;
}

static void
ctx_init(struct ctx *c, const struct mover_variant *v,
		enum pmem2_granularity g)
{
	memset(c, 0, sizeof(*c));
	c->variant = v->name;
	c->gran = g;
	c->map.effective_granularity = g;
	persist_set_fns(&c->map);
	cr_assert_eq(pmem2_get_memcpy_fn(&c->map), c->map.memcpy_fn);
	cr_assert_eq(pmem2_get_memmove_fn(&c->map), c->map.memmove_fn);
	cr_assert_eq(pmem2_get_memset_fn(&c->map), c->map.memset_fn);
}

static void
variant_enter(const struct mover_variant *v)
{
	if (!mover_variant_usable(v))
		cr_skip_test("%s: this CPU lacks the instructions", v->name);
	cr_assert(mover_variant_apply(v), "%s: switches chose %s/%s",
		v->name, flush_isa_name(),
		flush_kind_name(flush_chosen_kind()));
	region_setup();
}

/* sweep -- one op over sizes x alignments x flag sets for a granularity */
static void
sweep(const struct mover_variant *v, enum pmem2_granularity g, enum op op)
{
	struct ctx c;
	ctx_init(&c, v, g);
	int page = g == PMEM2_GRANULARITY_PAGE;

	/* the main flag set over every size (PAGE: fewer, msync each) */
	for (size_t fi = 0; fi < NFLAGS_MAIN; fi++)
	for (size_t si = 0; size_at(si, page) != SIZE_MAX; si++)
	for (size_t di = 0; di < NELEMS(Doffs); di++)
	for (size_t oi = 0; oi < (op == OP_SET ? 2 : NELEMS(Soffs)); oi++) {
		size_t len = size_at(si, page);
		size_t src = op == OP_SET ? (oi ? 0x1a5 : 0) : Soffs[oi];
		run_op(&c, op, BASE + Doffs[di], src, len, Flags_main[fi]);
	}
	/* every combination of the six flags on the short size list */
	if (!page)
		for (unsigned f = 0; f < 64; f++)
		for (size_t si = 0; si < NELEMS(Sizes_few); si++)
		for (size_t di = 0; di < NELEMS(Doffs); di++)
			run_op(&c, op, BASE + Doffs[di],
				op == OP_SET ? 0x5a : Soffs[di % 4],
				Sizes_few[si], f);
	check_region_intact(v->name);
}

static const enum pmem2_granularity Grans[] = {
	PMEM2_GRANULARITY_CACHE_LINE, PMEM2_GRANULARITY_BYTE,
	PMEM2_GRANULARITY_PAGE,
};

/*
 * Parameters are indexes: criterion runs each test in a fresh process of
 * the binary, where pointers inside a parameter would be stale.
 */
static int Variant_idx[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
	14, 15 };
_Static_assert(sizeof(Variant_idx) / sizeof(int) == MOVER_NVARIANTS,
	"one index per variant");

ParameterizedTestParameters(mover, copy)
{
	return cr_make_param_array(int, Variant_idx, MOVER_NVARIANTS);
}

ParameterizedTest(const int *vi, mover, copy, .timeout = 120)
{
	const struct mover_variant *v = &Mover_variants[*vi];
	variant_enter(v);
	for (size_t i = 0; i < NELEMS(Grans); i++)
		sweep(v, Grans[i], OP_COPY);
	region_teardown();
}

ParameterizedTestParameters(mover, set)
{
	return cr_make_param_array(int, Variant_idx, MOVER_NVARIANTS);
}

ParameterizedTest(const int *vi, mover, set, .timeout = 120)
{
	const struct mover_variant *v = &Mover_variants[*vi];
	variant_enter(v);
	for (size_t i = 0; i < NELEMS(Grans); i++)
		sweep(v, Grans[i], OP_SET);
	region_teardown();
}

/* distances between source and destination, both directions */
static const long Deltas[] = { 0, 1, -1, 7, -7, 8, -8, 15, -16, 17, -17,
	63, -63, 64, -64, 65, -65, 127, -128, 129, -129, 255, -256, 257, -257,
	1000, -1000, 4096, -4097 };

ParameterizedTestParameters(mover, overlap)
{
	return cr_make_param_array(int, Variant_idx, MOVER_NVARIANTS);
}

ParameterizedTest(const int *vi, mover, overlap, .timeout = 120)
{
	const struct mover_variant *v = &Mover_variants[*vi];
	variant_enter(v);
	for (size_t gi = 0; gi < 2; gi++) {
		struct ctx c;
		ctx_init(&c, v, Grans[gi]);
		for (size_t fi = 0; fi < NFLAGS_MAIN; fi++)
		for (size_t di = 0; di < NELEMS(Deltas); di++)
		for (size_t len = 0; len < 5200; len += len < 300 ? 3 : 211)
		for (size_t b = 0; b < 2; b++) {
			size_t dst = 3 * BASE + b * 13;
			size_t src = (size_t)((long)dst + Deltas[di]);
			run_op(&c, OP_MOVE, dst, src, len, Flags_main[fi]);
		}
		check_region_intact(v->name);
	}
	region_teardown();
}

/*
 * persist/flush/drain for every granularity: they must accept any range
 * (odd starts, page crossings, zero length) and change no data.
 */
Test(mover, persist_fns)
{
	region_setup();
	for (size_t gi = 0; gi < NELEMS(Grans); gi++) {
		struct pmem2_map m = { .effective_granularity = Grans[gi] };
		persist_set_fns(&m);
		cr_assert_eq(pmem2_get_persist_fn(&m), m.persist_fn);
		cr_assert_eq(pmem2_get_flush_fn(&m), m.flush_fn);
		cr_assert_eq(pmem2_get_drain_fn(&m), m.drain_fn);
		for (size_t off = 0; off < 3 * 4096; off += 1021)
		for (size_t len = 0; len < 9000; len += 997) {
			m.persist_fn(Pm + off, len);
			m.flush_fn(Pm + off, len);
			m.drain_fn();
		}
	}
	check_region_intact("persist_fns");
	region_teardown();
}

/* capture_stderr -- run flush_init_from_env with fd 2 sent to a file */
static void
init_capturing_stderr(char *out, size_t outsz)
{
	int fd = ut_tmpfile(0, O_RDWR);
	int saved = dup(2);
	dup2(fd, 2);
	flush_init_from_env();
	dup2(saved, 2);
	close(saved);
	ssize_t n = pread(fd, out, outsz - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
}

Test(mover, env_bad_values)
{
	char out[1024];
	setenv("PMEM_NO_CLWB", "yes", 1);
	setenv("PMEM_MOVNT_THRESHOLD", "12k", 1);
	setenv("PMEM_AVX512F", "2", 1);
	init_capturing_stderr(out, sizeof(out));
	cr_assert(strstr(out, "PMEM_NO_CLWB=\"yes\""), "stderr: %s", out);
	cr_assert(strstr(out, "PMEM_MOVNT_THRESHOLD=\"12k\""), "%s", out);
	cr_assert(strstr(out, "PMEM_AVX512F=\"2\""), "%s", out);
	cr_assert_eq(memops_nt_threshold, MEMOPS_NT_THRESHOLD_DEFAULT);
	cr_assert_eq(memops_nt_threshold_eadr,
		MEMOPS_NT_THRESHOLD_EADR_DEFAULT);
	cr_assert_eq(memops_nt_threshold_eadr_set,
		MEMOPS_NT_THRESHOLD_EADR_SET_DEFAULT);

	struct cpu_features f;
	cpu_detect(&f);
	if (f.clwb)	/* a bad value keeps the default: CLWB stays on */
		cr_assert_eq(flush_chosen_kind(), FLUSH_CLWB);
	if (f.avx512f && !f.movdir64b)
		cr_assert_str_eq(flush_isa_name(), "avx512f");

	setenv("PMEM_NO_CLWB", "1", 1);
	setenv("PMEM_MOVNT_THRESHOLD", "12345", 1);
	unsetenv("PMEM_AVX512F");
	init_capturing_stderr(out, sizeof(out));
	cr_assert_str_eq(out, "", "good values must be silent");
	cr_assert_eq(memops_nt_threshold, 12345);
	cr_assert_eq(memops_nt_threshold_eadr, 12345);
	cr_assert_eq(memops_nt_threshold_eadr_set, 12345);
	cr_assert_neq(flush_chosen_kind(), FLUSH_CLWB);
}

/*
 * cpu_detect reads glibc's copy of the CPUID words where it can: every
 * feature must be what the instructions themselves say (an index off by
 * one leaf or register would still build and pick some variant).
 */
Test(mover, cpu_detect_matches_cpuid)
{
	unsigned a, b, c, d;
	cr_assert(__get_cpuid(1, &a, &b, &c, &d));
	struct cpu_features want = {
		.clflush = d & (1u << 19),
		.sse2 = d & (1u << 26),
	};
	bool osxsave = c & (1u << 27), avx = c & (1u << 28);
	uint64_t xcr0 = 0;
	if (osxsave) {
		uint32_t lo, hi;
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		xcr0 = ((uint64_t)hi << 32) | lo;
	}
	want.avx = avx && (xcr0 & 6) == 6;
	if (__get_cpuid_max(0, NULL) >= 7) {
		__cpuid_count(7, 0, a, b, c, d);
		want.avx512f = (b & (1u << 16)) && (xcr0 & 0xe6) == 0xe6;
		want.clflushopt = b & (1u << 23);
		want.clwb = b & (1u << 24);
		want.movdir64b = c & (1u << 28);
	}
	struct cpu_features got;
	cpu_detect(&got);
	cr_assert_eq(got.clflush, want.clflush);
	cr_assert_eq(got.sse2, want.sse2);
	cr_assert_eq(got.avx, want.avx);
	cr_assert_eq(got.avx512f, want.avx512f);
	cr_assert_eq(got.clflushopt, want.clflushopt);
	cr_assert_eq(got.clwb, want.clwb);
	cr_assert_eq(got.movdir64b, want.movdir64b);
	/* this machine has them all (see README): a test that saw only
	 * zeros on both sides would prove nothing */
	cr_log_info("clwb %d clflushopt %d avx512f %d movdir64b %d",
		got.clwb, got.clflushopt, got.avx512f, got.movdir64b);
}

/* PMEM_NO_FLUSH=1: CACHE_LINE behaves as BYTE; =0: BYTE as CACHE_LINE */
Test(mover, env_no_flush)
{
	struct pmem2_map cl = { .effective_granularity =
		PMEM2_GRANULARITY_CACHE_LINE };
	struct pmem2_map by = { .effective_granularity =
		PMEM2_GRANULARITY_BYTE };
	flush_init_from_env();
	persist_set_fns(&cl);
	persist_set_fns(&by);
	cr_assert_neq(cl.flush_fn, by.flush_fn);
	pmem2_flush_fn cl_flush = cl.flush_fn, by_flush = by.flush_fn;

	setenv("PMEM_NO_FLUSH", "1", 1);
	flush_init_from_env();
	persist_set_fns(&cl);
	cr_assert_eq(cl.flush_fn, by_flush);

	setenv("PMEM_NO_FLUSH", "0", 1);
	flush_init_from_env();
	persist_set_fns(&by);
	cr_assert_eq(by.flush_fn, cl_flush);
}

/*
 * The constructor's own choice, without any re-init: run by ctest with
 * PMEM_* switches and MOVER_EXPECT_ISA / MOVER_EXPECT_KIND in the
 * environment (see mover.cmake); skipped when run without them.
 */
Test(mover, constructor_choice)
{
	const char *isa = getenv("MOVER_EXPECT_ISA");
	const char *kind = getenv("MOVER_EXPECT_KIND");
	if (!isa || !kind)
		cr_skip_test("MOVER_EXPECT_ISA/KIND not set");
	struct cpu_features f;
	cpu_detect(&f);
	if ((!strcmp(kind, "clwb") && !f.clwb) ||
			(!strcmp(kind, "clflushopt") && !f.clflushopt) ||
			(!strcmp(isa, "avx") && !f.avx))
		cr_skip_test("this CPU cannot make that choice");
	const char *thr = getenv("PMEM_MOVNT_THRESHOLD");
	cr_assert_str_eq(flush_isa_name(), isa);
	cr_assert_str_eq(flush_kind_name(flush_chosen_kind()), kind);
	cr_assert_eq(memops_nt_threshold, thr ? strtoull(thr, NULL, 10) :
		MEMOPS_NT_THRESHOLD_DEFAULT);
}
