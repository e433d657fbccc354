/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_mover_fence.c -- single-steps the movers and persist functions
 * under ptrace and decodes each instruction they execute: every
 * non-temporal store and every CLWB/CLFLUSHOPT must be followed by an
 * SFENCE (or MFENCE) before the call returns, unless NODRAIN/NOFLUSH was
 * asked for; CACHE_LINE temporal copies must flush every line written;
 * BYTE granularity must flush nothing.  A deliberately broken copy shows
 * the checker does fail.
 */
#include <immintrin.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>

#include "map.h"
#include "mover_ut.h"
#include "persist.h"
#include "ut_common.h"

enum insn { I_OTHER, I_NT, I_FENCE, I_FLUSH, I_MARK };

/*
 * classify -- just enough of an x86-64 decoder: legacy/VEX/EVEX encodings
 * of MOVNTI, MOVNTPS/PD, MOVNTQ/MOVNTDQ, MOVDIR64B; SFENCE, MFENCE;
 * CLFLUSH, CLFLUSHOPT, CLWB; and INT3 (our markers).
 */
static enum insn
classify(const uint8_t *b)
{
	int i = 0, p66 = 0;
	for (;; i++) {
		if (b[i] == 0x66)
			p66 = 1;
		else if (b[i] != 0xf2 && b[i] != 0xf3 && b[i] != 0x2e &&
				b[i] != 0x3e && b[i] != 0x26 && b[i] != 0x64 &&
				b[i] != 0x65 && b[i] != 0x36 && b[i] != 0x67 &&
				b[i] != 0xf0)
			break;
	}
	if (b[i] == 0xcc)
		return I_MARK;
	if (b[i] == 0xc5)	/* 2-byte VEX, map 0F */
		return b[i + 2] == 0x2b || b[i + 2] == 0xe7 ? I_NT : I_OTHER;
	if (b[i] == 0xc4)	/* 3-byte VEX */
		return (b[i + 1] & 0x1f) == 1 &&
			(b[i + 3] == 0x2b || b[i + 3] == 0xe7) ? I_NT : I_OTHER;
	if (b[i] == 0x62)	/* EVEX */
		return (b[i + 1] & 0x7) == 1 &&
			(b[i + 4] == 0x2b || b[i + 4] == 0xe7) ? I_NT : I_OTHER;
	if ((b[i] & 0xf0) == 0x40)	/* REX */
		i++;
	if (b[i] != 0x0f)
		return I_OTHER;
	uint8_t op = b[i + 1], modrm = b[i + 2];
	if (op == 0x2b || op == 0xe7 || op == 0xc3)
		return I_NT;
	if (op == 0x38 && modrm == 0xf8 && p66)
		return I_NT;	/* MOVDIR64B */
	if (op != 0xae)
		return I_OTHER;
	int mod = modrm >> 6, reg = (modrm >> 3) & 7;
	if (mod == 3)
		return reg == 7 || reg == 6 ? I_FENCE : I_OTHER;
	if (reg == 7 || (reg == 6 && p66))
		return I_FLUSH;
	return I_OTHER;
}

struct trace {
	unsigned nt, fences, flushes, steps;
	int pending;	/* an NT store or flush not yet fenced */
};

enum top { T_COPY, T_MOVE, T_SET, T_PERSIST, T_BAD, T_GOOD };

struct tcase {
	int variant;	/* index in Mover_variants */
	enum pmem2_granularity gran;
	enum top op;
	size_t off, len;
	unsigned flags;
};

#define MAXCASES 8192
static struct tcase Cases[MAXCASES];
static int Ncases;
static char *Pm, *Src;

static void
add_case(int v, enum pmem2_granularity g, enum top op, size_t off,
		size_t len, unsigned flags)
{
	cr_assert_lt(Ncases, MAXCASES);
	Cases[Ncases++] = (struct tcase){ v, g, op, off, len, flags };
}

/* bad_nt_copy/good_nt_copy -- the checker's own negative/positive control */
static __attribute__((noinline)) void
bad_nt_copy(char *d, const char *s)
{
	_mm_stream_si128((__m128i *)d, _mm_loadu_si128((const __m128i *)s));
}

static __attribute__((noinline)) void
good_nt_copy(char *d, const char *s)
{
	bad_nt_copy(d, s);
	_mm_sfence();
}

/* traced_call -- one case between two INT3 markers (the tracee side) */
static __attribute__((noinline)) void
traced_call(const struct tcase *t, struct pmem2_map *m)
{
	char *d = Pm + t->off;
	__asm__ volatile("int3" : : : "memory");
	switch (t->op) {
	case T_COPY:
		m->memcpy_fn(d, Src, t->len, t->flags);
		break;
	case T_MOVE:	/* overlapping, destination above the source */
		m->memmove_fn(d, d - 100, t->len, t->flags);
		break;
	case T_SET:
		m->memset_fn(d, 0x3c, t->len, t->flags);
		break;
	case T_PERSIST:
		m->persist_fn(d, t->len);
		break;
	case T_BAD:
		bad_nt_copy(Pm, Src);
		break;
	case T_GOOD:
		good_nt_copy(Pm, Src);
		break;
	}
	__asm__ volatile("int3" : : : "memory");
}

/* tracee -- run every case in order, switching variants as needed */
static void __attribute__((noreturn))
tracee(void)
{
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
		_exit(2);
	raise(SIGSTOP);
	int cur = -1;
	for (int i = 0; i < Ncases; i++) {
		const struct tcase *t = &Cases[i];
		if (t->variant != cur) {
			cur = t->variant;
			if (!mover_variant_apply(&Mover_variants[cur]))
				_exit(3);
		}
		struct pmem2_map m = { .effective_granularity = t->gran };
		persist_set_fns(&m);
		for (size_t j = 0; j < t->len + 200; j++)	/* dirty lines */
			Pm[t->off - 100 + j] = (char)j;
		traced_call(t, &m);
	}
	_exit(0);
}

static long
peek(pid_t pid, uintptr_t addr)
{
	return ptrace(PTRACE_PEEKTEXT, pid, (void *)addr, NULL);
}

/*
 * step_case -- the tracee stopped just after a start marker: single-step to
 * the end marker, classifying each instruction before it executes.
 */
static struct trace
step_case(pid_t pid)
{
	struct trace tr = { 0 };
	int st;
	for (;;) {
		uintptr_t rip = (uintptr_t)ptrace(PTRACE_PEEKUSER, pid,
			(void *)offsetof(struct user_regs_struct, rip), NULL);
		long w[2] = { peek(pid, rip), peek(pid, rip + 8) };
		enum insn in = classify((const uint8_t *)w);
		if (in == I_MARK) {	/* skip the end marker, run on */
			ptrace(PTRACE_POKEUSER, pid, (void *)offsetof(
				struct user_regs_struct, rip), (void *)(rip + 1));
			return tr;
		}
		if (in == I_NT || in == I_FLUSH) {
			tr.pending = 1;
			in == I_NT ? tr.nt++ : tr.flushes++;
		} else if (in == I_FENCE) {
			tr.pending = 0;
			tr.fences++;
		}
		tr.steps++;
		cr_assert_eq(ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL), 0);
		cr_assert_eq(waitpid(pid, &st, 0), pid);
		cr_assert(WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP,
			"tracee died while stepping (status 0x%x)", st);
	}
}

static size_t
lines_of(size_t off, size_t len)
{
	return len ? (off + len - 1) / 64 - off / 64 + 1 : 0;
}

/* judge -- what each case's trace must show */
static void
judge(const struct tcase *t, const struct trace *tr)
{
	const char *vn = t->variant >= 0 ? Mover_variants[t->variant].name :
		"control";
	unsigned f = t->flags;
	int drain = !(f & (PMEM2_F_MEM_NODRAIN | PMEM2_F_MEM_NOFLUSH));
	int cl = t->gran == PMEM2_GRANULARITY_CACHE_LINE;
	int vector = t->variant >= 0 &&
		strcmp(Mover_variants[t->variant].isa, "generic") &&
		strcmp(Mover_variants[t->variant].isa, "libc");

	cr_expect(!drain || !tr->pending, "%s gran %d op %d len %zu flags 0x%x:"
		" %u NT stores/%u flushes, not fenced before return",
		vn, t->gran, t->op, t->len, f, tr->nt, tr->flushes);
	if (f & PMEM2_F_MEM_NOFLUSH)
		cr_expect(tr->flushes == 0 && tr->nt == 0,
			"%s: NOFLUSH flushed or streamed", vn);
	if (!cl)
		cr_expect_eq(tr->flushes, 0, "%s op %d: BYTE flushed", vn, t->op);
	if (vector && (f & PMEM2_F_MEM_NONTEMPORAL) && t->len >= 256)
		cr_expect(tr->nt > 0, "%s op %d len %zu: NT asked, none done",
			vn, t->op, t->len);
	if (cl && t->op != T_PERSIST && !(f & (PMEM2_F_MEM_NOFLUSH |
			PMEM2_F_MEM_NONTEMPORAL)) && tr->nt == 0)
		cr_expect_geq(tr->flushes, lines_of(t->off, t->len),
			"%s op %d len %zu flags 0x%x: %u flushes for %zu lines",
			vn, t->op, t->len, f, tr->flushes,
			lines_of(t->off, t->len));
	if (cl && t->op == T_PERSIST)
		cr_expect_geq(tr->flushes, lines_of(t->off, t->len));
}

Test(mover_fence, every_nt_path_is_fenced, .timeout = 300)
{
	static const size_t lens[] = { 1, 64, 100, 256, 1000, 4129 };
	static const unsigned flags[] = { 0, PMEM2_F_MEM_NONTEMPORAL,
		PMEM2_F_MEM_TEMPORAL, PMEM2_F_MEM_WC, PMEM2_F_MEM_NODRAIN,
		PMEM2_F_MEM_NONTEMPORAL | PMEM2_F_MEM_NODRAIN,
		PMEM2_F_MEM_NOFLUSH, 0x40 | PMEM2_F_MEM_NONTEMPORAL };
	static const enum pmem2_granularity grans[] = {
		PMEM2_GRANULARITY_CACHE_LINE, PMEM2_GRANULARITY_BYTE };

	Pm = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
		MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	Src = malloc(1 << 16);
	cr_assert(Pm != MAP_FAILED && Src);
	memset(Src, 0x77, 1 << 16);

	add_case(-1, PMEM2_GRANULARITY_BYTE, T_GOOD, 4096, 16, 0);
	add_case(-1, PMEM2_GRANULARITY_BYTE, T_BAD, 4096, 16, 0);
	/* each ISA and each flush instruction at least once (stepping is slow) */
	static const char *const names[] = { "avx512f-clwb", "avx512f-clflush",
		"avx-clflushopt", "sse2-clwb", "sse2-clflush", "generic-clwb",
		"libc-clflushopt", "avx512f-nt-always", "sse2-nt-never" };
	int nv = 0;
	for (int v = 0; v < (int)MOVER_NVARIANTS; v++) {
		const struct mover_variant *mv = &Mover_variants[v];
		int pick = 0;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			pick |= !strcmp(names[i], mv->name);
		if (!pick || !mover_variant_usable(mv))
			continue;
		nv++;
		int plain = !strcmp(mv->isa, "generic") ||
			!strcmp(mv->isa, "libc");
		for (size_t g = 0; g < 2; g++)
		for (size_t li = 0; li < (plain ? 5 : 6); li++) {
			size_t off = 4096 + (li == 2 ? 3 : 0) + (li == 4 ? 17 : 0);
			add_case(v, grans[g], T_PERSIST, off, lens[li], 0);
			for (size_t fi = 0; fi < 8; fi++)
			for (int op = T_COPY; op <= T_SET; op++)
				add_case(v, grans[g], op, off, lens[li],
					flags[fi]);
		}
	}
	cr_assert_gt(nv, 0);

	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		tracee();
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFSTOPPED(st), "tracee could not be traced");
	for (int i = 0; i < Ncases; i++) {
		cr_assert_eq(ptrace(PTRACE_CONT, pid, NULL, NULL), 0);
		cr_assert_eq(waitpid(pid, &st, 0), pid);
		if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP) {
			kill(pid, SIGKILL);
			cr_assert_fail("case %d: tracee status 0x%x", i, st);
		}
		struct trace tr = step_case(pid);
		if (Cases[i].op == T_BAD)	/* the checker must catch it */
			cr_assert(tr.nt == 1 && tr.pending,
				"the checker missed an unfenced NT store");
		else if (Cases[i].op == T_GOOD)
			cr_assert(tr.nt == 1 && !tr.pending && tr.fences == 1);
		else
			judge(&Cases[i], &tr);
	}
	cr_assert_eq(ptrace(PTRACE_CONT, pid, NULL, NULL), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "tracee status 0x%x",
		st);
}
