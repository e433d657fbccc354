/* SPDX-License-Identifier: BSD-3-Clause */
/* test_config.c -- pmem2_config: defaults, every setter, every error. */
#include <stdint.h>

#include "config.h"
#include "ut_common.h"

static struct pmem2_config *cfg;

static void
setup(void)
{
	ut_assert_ok(pmem2_config_new(&cfg));
}

static void
teardown(void)
{
	pmem2_config_delete(&cfg);
}

TestSuite(config, .init = setup, .fini = teardown);

Test(config, defaults)
{
	cr_assert_eq(cfg->offset, 0);
	cr_assert_eq(cfg->length, 0);
	cr_assert_eq(cfg->requested_max_granularity, PMEM2_GRANULARITY_INVALID);
	cr_assert_eq(cfg->sharing, PMEM2_SHARED);
	cr_assert_eq(cfg->protection_flag, PMEM2_PROT_READ | PMEM2_PROT_WRITE);
	cr_assert_null(cfg->reserv);
}

Test(config, delete_sets_null)
{
	struct pmem2_config *c;
	ut_assert_ok(pmem2_config_new(&c));
	ut_assert_ok(pmem2_config_delete(&c));
	cr_assert_null(c);
	ut_assert_ok(pmem2_config_delete(&c)); /* NULL is fine */
}

Test(config, granularity)
{
	for (int g = PMEM2_GRANULARITY_BYTE; g <= PMEM2_GRANULARITY_PAGE; g++) {
		ut_assert_ok(pmem2_config_set_required_store_granularity(cfg,
				(enum pmem2_granularity)g));
		cr_assert_eq(cfg->requested_max_granularity, g);
	}
	ut_assert_err(pmem2_config_set_required_store_granularity(cfg,
			(enum pmem2_granularity)3),
		PMEM2_E_GRANULARITY_NOT_SUPPORTED);
	ut_assert_err(pmem2_config_set_required_store_granularity(cfg,
			(enum pmem2_granularity)-1),
		PMEM2_E_GRANULARITY_NOT_SUPPORTED);
	/* a failed set leaves the old value */
	cr_assert_eq(cfg->requested_max_granularity, PMEM2_GRANULARITY_PAGE);
}

Test(config, offset)
{
	ut_assert_ok(pmem2_config_set_offset(cfg, 4096));
	cr_assert_eq(cfg->offset, 4096);
	ut_assert_ok(pmem2_config_set_offset(cfg, (size_t)INT64_MAX));
	ut_assert_err(pmem2_config_set_offset(cfg, (size_t)INT64_MAX + 1),
		PMEM2_E_OFFSET_OUT_OF_RANGE);
	ut_assert_err(pmem2_config_set_offset(cfg, SIZE_MAX),
		PMEM2_E_OFFSET_OUT_OF_RANGE);
	cr_assert_eq(cfg->offset, (size_t)INT64_MAX);
}

Test(config, length)
{
	ut_assert_ok(pmem2_config_set_length(cfg, 12345));
	cr_assert_eq(cfg->length, 12345);
	cr_assert_str_empty(pmem2_errormsg());
}

Test(config, sharing)
{
	ut_assert_ok(pmem2_config_set_sharing(cfg, PMEM2_PRIVATE));
	cr_assert_eq(cfg->sharing, PMEM2_PRIVATE);
	ut_assert_ok(pmem2_config_set_sharing(cfg, PMEM2_SHARED));
	ut_assert_err(pmem2_config_set_sharing(cfg, (enum pmem2_sharing_type)2),
		PMEM2_E_INVALID_SHARING_VALUE);
	ut_assert_err(pmem2_config_set_sharing(cfg,
			(enum pmem2_sharing_type)-7),
		PMEM2_E_INVALID_SHARING_VALUE);
	cr_assert_eq(cfg->sharing, PMEM2_SHARED);
}

Test(config, protection)
{
	unsigned all[] = { PMEM2_PROT_NONE, PMEM2_PROT_READ, PMEM2_PROT_WRITE,
		PMEM2_PROT_EXEC, PMEM2_PROT_READ | PMEM2_PROT_WRITE,
		PMEM2_PROT_READ | PMEM2_PROT_EXEC,
		PMEM2_PROT_READ | PMEM2_PROT_WRITE | PMEM2_PROT_EXEC };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		ut_assert_ok(pmem2_config_set_protection(cfg, all[i]));
		cr_assert_eq(cfg->protection_flag, all[i]);
	}
	for (unsigned bit = 0; bit < 29; bit++)
		ut_assert_err(pmem2_config_set_protection(cfg,
				PMEM2_PROT_READ | (1U << bit)),
			PMEM2_E_INVALID_PROT_FLAG);
}

Test(config, vm_reservation)
{
	struct pmem2_vm_reservation *rsv = (void *)0x1000;
	ut_assert_ok(pmem2_config_set_vm_reservation(cfg, rsv, 8192));
	cr_assert_eq(cfg->reserv, rsv);
	cr_assert_eq(cfg->reserv_offset, 8192);
	ut_assert_ok(pmem2_config_set_vm_reservation(cfg, NULL, 0));
	cr_assert_null(cfg->reserv);
}

Test(config, validate_length)
{
	ut_assert_err(config_validate_length(cfg, 0, 4096),
		PMEM2_E_SOURCE_EMPTY);
	cfg->length = 100;
	ut_assert_err(config_validate_length(cfg, 8192, 4096),
		PMEM2_E_LENGTH_UNALIGNED);
	cfg->length = 8192;
	cfg->offset = 4096;
	ut_assert_err(config_validate_length(cfg, 8192, 4096),
		PMEM2_E_MAP_RANGE);
	cfg->offset = SIZE_MAX - 4095;
	ut_assert_err(config_validate_length(cfg, 8192, 4096),
		PMEM2_E_MAP_RANGE);
	cfg->offset = 0;
	ut_assert_ok(config_validate_length(cfg, 8192, 4096));
}

Test(config, async_vdm_nosupp)
{
	extern int pmem2_config_set_vdm(struct pmem2_config *, void *);
	ut_assert_err(pmem2_config_set_vdm(cfg, NULL), PMEM2_E_NOSUPP);
}
