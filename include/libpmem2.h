/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libpmem2.h -- public entry point of pmemshim's libpmem2.
 *
 * A drop-in, binary-compatible implementation of PMDK 1.12's libpmem2:
 * map files on persistent memory and make stores to them durable from user
 * space.  All definitions live in <libpmem2/base.h>; see libpmem2(7).
 */
#ifndef LIBPMEM2_H
#define LIBPMEM2_H 1

#include <libpmem2/base.h>

#endif /* LIBPMEM2_H */
