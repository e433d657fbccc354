/* SPDX-License-Identifier: BSD-3-Clause */
/* ex_common.h -- stand-in for PMDK's examples/ex_common.h (log.c needs it). */
#ifndef PMEMSHIM_EX_COMMON_H
#define PMEMSHIM_EX_COMMON_H
#include <unistd.h>
#endif
