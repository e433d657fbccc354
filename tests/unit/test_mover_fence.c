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
#include "x86_trace.h"

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
		x86_trace_unfenced(Pm, Src);
		break;
	case T_GOOD:
		x86_trace_fenced(Pm, Src);
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

/*
 * step_case -- the tracee stopped just after a start marker: single-step to
 * the end marker, classifying each instruction before it executes.
 */
static struct trace
step_case(pid_t pid)
{
	struct trace tr;
	int st = 0;
	cr_assert_eq(x86_step_to_marker(pid, &tr, &st), 0,
		"tracee died while stepping (status 0x%x)", st);
	return tr;
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
