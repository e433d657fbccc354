/* SPDX-License-Identifier: BSD-3-Clause */
/* mover_ut.h -- the mover variants the mover suites force via PMEM_* vars. */
#ifndef MOVER_UT_H
#define MOVER_UT_H

#include <stdlib.h>
#include <string.h>

#include "flush.h"

struct mover_variant {
	const char *name;
	const char *env[5];	/* "NAME=value" switches to set */
	const char *isa;	/* what flush_isa_name() must then say */
	int kind;		/* what flush_chosen_kind() must then say */
};

#define MV_NOAVX512 "PMEM_AVX512F=0"
#define MV_NOAVX "PMEM_AVX=0"
#define MV_NOCLWB "PMEM_NO_CLWB=1"
#define MV_NOCLFO "PMEM_NO_CLFLUSHOPT=1"

/* every mover ISA with every flush instruction, plus the NT thresholds */
static const struct mover_variant Mover_variants[] = {
	{ "avx512f-clwb", { NULL }, "avx512f", FLUSH_CLWB },
	{ "avx512f-clflushopt", { MV_NOCLWB }, "avx512f", FLUSH_CLFLUSHOPT },
	{ "avx512f-clflush", { MV_NOCLWB, MV_NOCLFO }, "avx512f",
		FLUSH_CLFLUSH },
	{ "avx-clwb", { MV_NOAVX512 }, "avx", FLUSH_CLWB },
	{ "avx-clflushopt", { MV_NOAVX512, MV_NOCLWB }, "avx",
		FLUSH_CLFLUSHOPT },
	{ "avx-clflush", { MV_NOAVX512, MV_NOCLWB, MV_NOCLFO }, "avx",
		FLUSH_CLFLUSH },
	{ "sse2-clwb", { MV_NOAVX512, MV_NOAVX }, "sse2", FLUSH_CLWB },
	{ "sse2-clflushopt", { MV_NOAVX512, MV_NOAVX, MV_NOCLWB }, "sse2",
		FLUSH_CLFLUSHOPT },
	{ "sse2-clflush", { MV_NOAVX512, MV_NOAVX, MV_NOCLWB, MV_NOCLFO },
		"sse2", FLUSH_CLFLUSH },
	{ "generic-clwb", { "PMEM_NO_MOVNT=1" }, "generic", FLUSH_CLWB },
	{ "generic-clflush", { "PMEM_NO_MOVNT=1", MV_NOCLWB, MV_NOCLFO },
		"generic", FLUSH_CLFLUSH },
	{ "libc-clwb", { "PMEM_NO_MOVNT=1", "PMEM_NO_GENERIC_MEMCPY=1" },
		"libc", FLUSH_CLWB },
	{ "libc-clflushopt", { "PMEM_NO_MOVNT=1", "PMEM_NO_GENERIC_MEMCPY=1",
		MV_NOCLWB }, "libc", FLUSH_CLFLUSHOPT },
	{ "avx512f-nt-always", { "PMEM_MOVNT_THRESHOLD=0" }, "avx512f",
		FLUSH_CLWB },
	{ "sse2-nt-never", { MV_NOAVX512, MV_NOAVX,
		"PMEM_MOVNT_THRESHOLD=1000000" }, "sse2", FLUSH_CLWB },
	{ "avx-nt-always", { MV_NOAVX512, "PMEM_MOVNT_THRESHOLD=0" }, "avx",
		FLUSH_CLWB },
};
#define MOVER_NVARIANTS (sizeof(Mover_variants) / sizeof(Mover_variants[0]))

static const char *const Mover_env_names[] = {
	"PMEM_NO_CLWB", "PMEM_NO_CLFLUSHOPT", "PMEM_NO_FLUSH", "PMEM_NO_MOVNT",
	"PMEM_MOVNT_THRESHOLD", "PMEM_AVX", "PMEM_AVX512F", "PMEM_MOVDIR64B",
	"PMEM_NO_GENERIC_MEMCPY",
};

/*
 * mover_variant_usable -- whether this CPU can run the variant at all
 * (MOVDIR64B is switched off so the ISA chosen is the one named).
 */
static inline int
mover_variant_usable(const struct mover_variant *v)
{
	struct cpu_features f;
	cpu_detect(&f);
	if (!strcmp(v->isa, "avx512f") && !f.avx512f)
		return 0;
	if (!strcmp(v->isa, "avx") && !f.avx)
		return 0;
	if (v->kind == FLUSH_CLWB && !f.clwb)
		return 0;
	if (v->kind == FLUSH_CLFLUSHOPT && !f.clflushopt)
		return 0;
	return 1;
}

/*
 * mover_variant_apply -- set exactly the variant's switches and re-run the
 * flush core's selection.  Returns 0 if what was chosen is not what the
 * switches ask for.
 */
static inline int
mover_variant_apply(const struct mover_variant *v)
{
	for (size_t i = 0; i < sizeof(Mover_env_names) / sizeof(char *); i++)
		unsetenv(Mover_env_names[i]);
	setenv("PMEM_MOVDIR64B", "0", 1);
	for (int i = 0; v->env[i]; i++) {
		char buf[128];
		strncpy(buf, v->env[i], sizeof(buf) - 1);
		buf[sizeof(buf) - 1] = '\0';
		char *eq = strchr(buf, '=');
		*eq = '\0';
		setenv(buf, eq + 1, 1);
	}
	flush_init_from_env();
	return strcmp(flush_isa_name(), v->isa) == 0 &&
		(int)flush_chosen_kind() == v->kind;
}

#endif /* MOVER_UT_H */
