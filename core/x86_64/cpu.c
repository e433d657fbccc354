/* SPDX-License-Identifier: BSD-3-Clause */
/* cpu.c -- CPUID feature detection for the flush core. */
#include <cpuid.h>
#include <stdint.h>

#include "flush.h"

/* CPUID.1 */
#define EDX_CLFLUSH (1u << 19)
#define EDX_SSE2 (1u << 26)
#define ECX_OSXSAVE (1u << 27)
#define ECX_AVX (1u << 28)
/* CPUID.(7,0) */
#define EBX_AVX512F (1u << 16)
#define EBX_CLFLUSHOPT (1u << 23)
#define EBX_CLWB (1u << 24)
#define ECX_MOVDIR64B (1u << 28)
#define ECX_OSPKE (1u << 4)	/* protection keys, enabled by the OS */

/* XCR0: SSE + AVX state, then opmask + ZMM_Hi256 + Hi16_ZMM */
#define XCR0_AVX 0x6u
#define XCR0_AVX512 0xe0u

static uint64_t
xgetbv0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

/* the CPUID words cpu_detect reads; zero where the CPU lacks the leaf */
struct cpuid_words {
	unsigned ecx1, edx1;	/* leaf 1 */
	unsigned ebx7, ecx7;	/* leaf (7, 0) */
};

#if defined(__has_include) && __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
/*
 * read_words -- glibc 2.33+ hands out the CPUID words its dynamic loader
 * read at start (the raw registers, which GLIBC_TUNABLES does not mask).
 * A CPUID instruction traps to the hypervisor in a virtual machine --
 * 5.7 us each on the machine this was written on, four per process start
 * with the shim preloaded -- and these are the same bits.
 */
static void
read_words(struct cpuid_words *w)
{
	/* cpuid_array: eax, ebx, ecx, edx */
	const unsigned *l1 =
		__x86_get_cpuid_feature_leaf(CPUID_INDEX_1)->cpuid_array;
	const unsigned *l7 =
		__x86_get_cpuid_feature_leaf(CPUID_INDEX_7)->cpuid_array;
	*w = (struct cpuid_words){ l1[2], l1[3], l7[1], l7[2] };
}
#else
/* read_words -- the instructions themselves (glibc before 2.33) */
static void
read_words(struct cpuid_words *w)
{
	unsigned a, b, c, d;
	*w = (struct cpuid_words){ 0 };
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return;
	w->ecx1 = c;
	w->edx1 = d;
	if (__get_cpuid_max(0, NULL) < 7)
		return;
	__cpuid_count(7, 0, a, b, c, d);
	w->ebx7 = b;
	w->ecx7 = c;
}
#endif

/*
 * cpu_detect -- AVX and AVX-512 count only when the OS saves their register
 * state (OSXSAVE + XCR0), otherwise using them would fault.
 */
void
cpu_detect(struct cpu_features *f)
{
	struct cpuid_words w;
	read_words(&w);
	*f = (struct cpu_features){ 0 };
	f->clflush = (w.edx1 & EDX_CLFLUSH) != 0;
	f->sse2 = (w.edx1 & EDX_SSE2) != 0;
	uint64_t xcr0 = (w.ecx1 & ECX_OSXSAVE) ? xgetbv0() : 0;
	bool avx_os = (xcr0 & XCR0_AVX) == XCR0_AVX;
	f->avx = (w.ecx1 & ECX_AVX) && avx_os;
	f->clflushopt = (w.ebx7 & EBX_CLFLUSHOPT) != 0;
	f->clwb = (w.ebx7 & EBX_CLWB) != 0;
	f->movdir64b = (w.ecx7 & ECX_MOVDIR64B) != 0;
	f->ospke = (w.ecx7 & ECX_OSPKE) != 0;
	f->avx512f = (w.ebx7 & EBX_AVX512F) && avx_os &&
		(xcr0 & XCR0_AVX512) == XCR0_AVX512;
}
