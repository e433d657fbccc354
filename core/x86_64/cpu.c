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

#if defined(__has_include) && __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
/*
 * glibc 2.33+ hands out the CPUID words its dynamic loader read at start
 * (CPU_FEATURE_PRESENT: the raw bits, GLIBC_TUNABLES does not mask them).
 * A CPUID instruction traps to the hypervisor in a virtual machine --
 * 5.7 us each on the machine this was written on, four per process start
 * with the shim preloaded -- and these are the same bits.  A leaf the CPU
 * lacks reads as zero, as it does below.
 */
#define HAVE(x) CPU_FEATURE_PRESENT(x)
void
cpu_detect(struct cpu_features *f)
{
	*f = (struct cpu_features){ 0 };
	f->clflush = HAVE(CLFSH);
	f->sse2 = HAVE(SSE2);
	uint64_t xcr0 = HAVE(OSXSAVE) ? xgetbv0() : 0;
	bool avx_os = (xcr0 & XCR0_AVX) == XCR0_AVX;
	f->avx = HAVE(AVX) && avx_os;
	f->clflushopt = HAVE(CLFLUSHOPT);
	f->clwb = HAVE(CLWB);
	f->movdir64b = HAVE(MOVDIR64B);
	f->avx512f = HAVE(AVX512F) && avx_os &&
		(xcr0 & XCR0_AVX512) == XCR0_AVX512;
}
#else
/*
 * cpu_detect -- AVX and AVX-512 count only when the OS saves their register
 * state (OSXSAVE + XCR0), otherwise using them would fault.
 */
void
cpu_detect(struct cpu_features *f)
{
	unsigned a, b, c, d;
	*f = (struct cpu_features){ 0 };
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return;
	f->clflush = (d & EDX_CLFLUSH) != 0;
	f->sse2 = (d & EDX_SSE2) != 0;
	uint64_t xcr0 = (c & ECX_OSXSAVE) ? xgetbv0() : 0;
	bool avx_os = (xcr0 & XCR0_AVX) == XCR0_AVX;
	f->avx = (c & ECX_AVX) && avx_os;

	if (__get_cpuid_max(0, NULL) < 7)
		return;
	__cpuid_count(7, 0, a, b, c, d);
	f->clflushopt = (b & EBX_CLFLUSHOPT) != 0;
	f->clwb = (b & EBX_CLWB) != 0;
	f->movdir64b = (c & ECX_MOVDIR64B) != 0;
	f->avx512f = (b & EBX_AVX512F) && avx_os &&
		(xcr0 & XCR0_AVX512) == XCR0_AVX512;
}
#endif
