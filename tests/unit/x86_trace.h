/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * x86_trace.h -- single-step a traced child between two INT3 markers and
 * classify each instruction before it executes: non-temporal stores,
 * cache-line flushes, store fences and locked instructions.  Shared by
 * tests/unit/test_mover_fence.c (the core's movers) and
 * tests/shim/shim_fence.c (the shim's copy hooks); no test framework here.
 */
#ifndef X86_TRACE_H
#define X86_TRACE_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <signal.h>

enum insn { I_OTHER, I_NT, I_FENCE, I_FLUSH, I_MARK, I_LOCKED };

/*
 * x86_classify -- just enough of an x86-64 decoder: legacy/VEX/EVEX
 * encodings of MOVNTI, MOVNTPS/PD, MOVNTQ/MOVNTDQ, MOVDIR64B; SFENCE,
 * MFENCE; CLFLUSH, CLFLUSHOPT, CLWB; INT3 (the markers); any instruction
 * with a LOCK prefix.
 */
static inline enum insn
x86_classify(const uint8_t *b)
{
	int i = 0, p66 = 0, lock = 0;
	for (;; i++) {
		if (b[i] == 0x66)
			p66 = 1;
		else if (b[i] == 0xf0)
			lock = 1;
		else if (b[i] != 0xf2 && b[i] != 0xf3 && b[i] != 0x2e &&
				b[i] != 0x3e && b[i] != 0x26 && b[i] != 0x64 &&
				b[i] != 0x65 && b[i] != 0x36 && b[i] != 0x67)
			break;
	}
	if (lock)
		return I_LOCKED;
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
	unsigned nt, fences, flushes, locked, steps;
	int pending;	/* an NT store or flush not yet fenced */
	int pending_nt;	/* an NT store not yet ordered by a fence or a
			 * locked instruction */
};

/*
 * x86_step_to_marker -- the tracee stopped just after a start marker:
 * single-step to the end marker (skipped over, the tracee left stopped
 * there), classifying each instruction.  0, or -1 (status in *st) if the
 * tracee stopped otherwise or ptrace failed.
 */
static inline int
x86_step_to_marker(pid_t pid, struct trace *tr, int *st)
{
	*tr = (struct trace){ 0 };
	for (;;) {
		uintptr_t rip = (uintptr_t)ptrace(PTRACE_PEEKUSER, pid,
			(void *)offsetof(struct user_regs_struct, rip), NULL);
		long w[2] = {
			ptrace(PTRACE_PEEKTEXT, pid, (void *)rip, NULL),
			ptrace(PTRACE_PEEKTEXT, pid, (void *)(rip + 8), NULL),
		};
		enum insn in = x86_classify((const uint8_t *)w);
		if (in == I_MARK) {	/* skip the end marker */
			ptrace(PTRACE_POKEUSER, pid, (void *)offsetof(
				struct user_regs_struct, rip), (void *)(rip + 1));
			return 0;
		}
		if (in == I_NT || in == I_FLUSH) {
			tr->pending = 1;
			if (in == I_NT) {
				tr->nt++;
				tr->pending_nt = 1;
			} else {
				tr->flushes++;
			}
		} else if (in == I_FENCE) {
			tr->pending = tr->pending_nt = 0;
			tr->fences++;
		} else if (in == I_LOCKED) {
			tr->pending_nt = 0;	/* orders NT stores, not CLWB */
			tr->locked++;
		}
		tr->steps++;
		if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) != 0 ||
				waitpid(pid, st, 0) != pid ||
				!WIFSTOPPED(*st) || WSTOPSIG(*st) != SIGTRAP)
			return -1;
	}
}

/*
 * x86_trace_unfenced/x86_trace_fenced -- the checker's own negative and
 * positive controls: one non-temporal store, without and with the fence
 */
static __attribute__((noinline, unused)) void
x86_trace_unfenced(char *d, const char *s)
{
	_mm_stream_si128((__m128i *)d, _mm_loadu_si128((const __m128i *)s));
}

static __attribute__((noinline, unused)) void
x86_trace_fenced(char *d, const char *s)
{
	x86_trace_unfenced(d, s);
	_mm_sfence();
}

#endif /* X86_TRACE_H */
