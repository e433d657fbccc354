/* SPDX-License-Identifier: BSD-3-Clause */
/* plot.h -- pmem2-bench --plot: throughput against size, drawn by gnuplot */
#ifndef PMEM2_BENCH_PLOT_H
#define PMEM2_BENCH_PLOT_H
#include <stddef.h>

/* plot_check -- 0 if FILE can be drawn (.png or .svg, gnuplot found);
 * else -1 with the reason printed */
int plot_check(const char *file);
/* plot_add -- one throughput row (GB/s) of one case */
void plot_add(const char *name, const char *gran, size_t size, double ours,
	double pmdk, double ceil);
/* plot_write -- FILE.dat, FILE.gp, then gnuplot draws FILE; 0 or -1 */
int plot_write(const char *file);

#endif
