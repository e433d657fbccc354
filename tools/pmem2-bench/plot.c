/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * plot.c -- pmem2-bench --plot FILE: the throughput rows as one gnuplot
 * panel per case (ours, PMDK, ceiling against the copy size, log2 axis).
 * The data (FILE.dat) and the script (FILE.gp) stay next to the picture, so
 * it can be redrawn or restyled without rerunning the benchmark.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plot.h"

extern char **environ;

#define MAXROWS 256

static struct row {
	char title[64];	/* "memcpy NONTEMPORAL, CACHE_LINE" */
	size_t size;
	double v[3];	/* ours, PMDK, ceiling */
} Rows[MAXROWS];
static int Nrows;

/* terminal -- gnuplot's terminal for FILE's extension, or NULL */
static const char *
terminal(const char *file)
{
	const char *dot = strrchr(file, '.');
	if (dot && !strcmp(dot, ".png"))
		return "pngcairo noenhanced size 1400,1800 font ',10'";
	if (dot && !strcmp(dot, ".svg"))
		return "svg noenhanced size 1400,1800 font ',10'";
	return NULL;
}

/* in_path -- an executable NAME in $PATH */
static int
in_path(const char *name)
{
	const char *p = getenv("PATH");
	char buf[4096];
	while (p && *p) {
		size_t n = strcspn(p, ":");
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? p : ".",
			name);
		if (access(buf, X_OK) == 0)
			return 1;
		p += n + (p[n] == ':');
	}
	return 0;
}

int
plot_check(const char *file)
{
	if (!terminal(file)) {
		fprintf(stderr, "pmem2-bench: --plot %s: the name must end in "
			".png or .svg\n", file);
		return -1;
	}
	if (!in_path("gnuplot")) {
		fprintf(stderr, "pmem2-bench: --plot needs gnuplot "
			"(apt-get install gnuplot-nox)\n");
		return -1;
	}
	return 0;
}

void
plot_add(const char *name, const char *gran, size_t size, double ours,
	double pmdk, double ceil)
{
	if (Nrows == MAXROWS)
		return;
	struct row *r = &Rows[Nrows++];
	snprintf(r->title, sizeof(r->title), "%s, %s", name, gran);
	r->size = size;
	r->v[0] = ours;
	r->v[1] = pmdk;
	r->v[2] = ceil;
}

/* write_data -- one gnuplot data block per case; returns the case count */
static int
write_data(FILE *f)
{
	int blocks = 0;
	for (int i = 0; i < Nrows; i++) {
		if (i == 0 || strcmp(Rows[i].title, Rows[i - 1].title)) {
			fprintf(f, "%s# %s\n# size ours pmdk ceiling\n",
				i ? "\n\n" : "", Rows[i].title);
			blocks++;
		}
		fprintf(f, "%zu %.4f %.4f %.4f\n", Rows[i].size, Rows[i].v[0],
			Rows[i].v[1], Rows[i].v[2]);
	}
	return blocks;
}

/* write_script -- a multiplot, one panel per data block */
static void
write_script(FILE *f, const char *file, const char *dat, int blocks)
{
	fprintf(f, "# pmem2-bench --plot: throughput (GB/s) against size\n"
		"set terminal %s\nset output '%s'\n", terminal(file), file);
	fprintf(f, "array T[%d]\n", blocks);
	int b = 0;
	for (int i = 0; i < Nrows; i++)
		if (i == 0 || strcmp(Rows[i].title, Rows[i - 1].title))
			fprintf(f, "T[%d] = '%s'\n", ++b, Rows[i].title);
	fprintf(f, "set multiplot layout %d,2 title 'pmem2-bench: ours vs "
		"PMDK 1.12 vs raw non-temporal ceiling (GB/s, higher is "
		"better)'\n"
		"set logscale x 2\nset format x '%%.0b%%BB'\n"
		"set xlabel 'size'\nset ylabel 'GB/s'\nset yrange [0:*]\n"
		"set key top left\nset grid\n"
		"do for [i=1:%d] {\n"
		"  set title T[i]\n"
		"  plot '%s' index (i-1) using 1:2 with linespoints "
		"title 'ours', \\\n"
		"       '' index (i-1) using 1:3 with linespoints title 'PMDK', "
		"\\\n"
		"       '' index (i-1) using 1:4 with linespoints "
		"title 'ceiling'\n"
		"}\nunset multiplot\n", (blocks + 1) / 2, blocks, dat);
}

int
plot_write(const char *file)
{
	size_t n = strlen(file) + sizeof(".dat");
	char dat[n], gp[n];
	snprintf(dat, n, "%s.dat", file);
	snprintf(gp, n, "%s.gp", file);
	if (strchr(file, '\'')) {
		fprintf(stderr, "pmem2-bench: --plot: no quotes in the name\n");
		return -1;
	}
	FILE *d = fopen(dat, "w"), *g = fopen(gp, "w");
	if (!d || !g) {
		fprintf(stderr, "pmem2-bench: cannot write %s: %s\n",
			d ? gp : dat, strerror(errno));
		if (d)
			fclose(d);
		if (g)
			fclose(g);
		return -1;
	}
	int blocks = write_data(d);
	write_script(g, file, dat, blocks);
	if (fclose(d) | fclose(g) || blocks == 0) {
		fprintf(stderr, "pmem2-bench: writing %s failed\n", dat);
		return -1;
	}
	pid_t pid;
	char *argv[] = { "gnuplot", gp, NULL };
	int st;
	if (posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ) != 0 ||
			waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
			WEXITSTATUS(st) != 0) {
		fprintf(stderr, "pmem2-bench: gnuplot %s failed\n", gp);
		return -1;
	}
	fprintf(stderr, "pmem2-bench: plot in %s (data %s, script %s)\n",
		file, dat, gp);
	return 0;
}
