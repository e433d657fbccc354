/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * empty_preload.c -- a library with nothing in it: preloaded in the
 * acceptance tests' timed runs, it measures what LD_PRELOAD itself costs
 * (the loader's work at every process start), the floor under the shim's
 * own.
 */
int empty_preload_unused;
