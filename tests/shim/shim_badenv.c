/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_badenv.c -- every PMEMSHIM_* variable (and unknown PMEMSHIM_ names)
 * set to garbage: empty, non-numeric, negative, huge, non-UTF-8, 5000
 * bytes.  The program must run, its mmap/msync/memcpy must keep libc's
 * contract (data lands in the file, errors are the kernel's), and the shim
 * must name the variable on stderr whenever it does not take the value as
 * documented (a file name for PMEMSHIM_STATS, a directory that may appear
 * later for PMEMSHIM_DAX_PATHS, program names for PMEMSHIM_FILTER).
 */
#include <dirent.h>
#include <sys/wait.h>

#include "shim_test.h"

#define FSIZE (64 * 1024)

/* work -- what the program does under the garbage settings */
static int
work(const char *dir)
{
	FATAL(dlsym(RTLD_DEFAULT, "pmemshim_counter"));	/* shim loaded */
	char path[512];
	int fd = make_file(dir, "data", FSIZE, 'a', path);
	static char want[FSIZE], got[FSIZE], src[8192];
	memset(want, 'a', sizeof(want));
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (char)(i * 7 + 1);

	char *p = mmap(NULL, FSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FATAL(p != MAP_FAILED);
	CHECK(memcpy(p + 100, src, sizeof(src)) == p + 100);
	memcpy(want + 100, src, sizeof(src));
	CHECK(memmove(p + 50, p + 100, 4096) == p + 50);
	memmove(want + 50, want + 100, 4096);
	CHECK(memset(p + 20000, 'z', 3000) == p + 20000);
	memset(want + 20000, 'z', 3000);
	CHECK(msync(p, FSIZE, MS_SYNC) == 0);
	errno = 0;
	CHECK(msync(p + 1, 4096, MS_SYNC) == -1 && errno == EINVAL);
	CHECK(munmap(p, FSIZE) == 0);
	errno = 0;
	CHECK(msync(p, 4096, MS_SYNC) == -1 && errno == ENOMEM);
	CHECK(pread(fd, got, sizeof(got), 0) == FSIZE);
	CHECK(memcmp(got, want, FSIZE) == 0);

	/* errors keep their libc meaning */
	errno = 0;
	CHECK(mmap(NULL, 0, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED &&
		errno == EINVAL);
	errno = 0;
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, -1, 0) == MAP_FAILED &&
		errno == EBADF);
	close(fd);
	unlink(path);
	return finish();
}

/* empty_dir -- remove every file in dir (report files of earlier runs) */
static void
empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char p[1024];
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' || (e->d_name[1] &&
				strcmp(e->d_name, "..") != 0)) {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	closedir(d);
}

struct run {
	int status;
	char err[65536];
};

/* rerun -- run "self work DIR" with NAME=VALUE (NULL: unset), in cwd */
static void
rerun(const char *self, const char *dir, const char *cwd, const char *name,
		const char *value, struct run *r)
{
	int pfd[2];
	FATAL(pipe(pfd) == 0);
	pid_t pid = fork();
	FATAL(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		if (chdir(cwd))
			_exit(126);
		setenv(name, value, 1);
		execl(self, self, "work", dir, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	size_t len = 0;
	ssize_t n;
	while ((n = read(pfd[0], r->err + len, sizeof(r->err) - 1 - len)) > 0)
		len += (size_t)n;
	r->err[len] = '\0';
	close(pfd[0]);
	int st;
	FATAL(waitpid(pid, &st, 0) == pid);
	r->status = st;
}

int
main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "work") == 0)
		return work(argv[2]);
	const char *dir = shim_test_init();
	static char longv[5001];
	memset(longv, 'a', sizeof(longv) - 1);
	const char *garbage[] = { "", "x", "-1", "99999999999999999999",
		"0x10", "\xff\xfe", "a:b::c", "/nonexistent/dir", longv };
	const size_t ng = sizeof(garbage) / sizeof(garbage[0]);
	const char *names[] = { "PMEMSHIM_LOG", "PMEMSHIM_DAX",
		"PMEMSHIM_MEMCPY", "PMEMSHIM_TRACK", "PMEMSHIM_ALIAS",
		"PMEMSHIM_GRANULARITY",
		"PMEMSHIM_DAX_PATHS", "PMEMSHIM_STATS", "PMEMSHIM_FILTER",
		"PMEMSHIM_BOGUS", "PMEMSHIM_DAX_PATH", "PMEMSHIM_" };
	char cwd[512];
	snprintf(cwd, sizeof(cwd), "%s/cwd", dir);
	mkdir(cwd, 0755);
	/* a relative PMEMSHIM_DAX_PATHS entry must not exist there */
	empty_dir(cwd);
	static struct run r;
	int runs = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (size_t g = 0; g < ng; g++) {
			const char *n = names[i], *v = garbage[g];
			rerun(argv[0], dir, cwd, n, v, &r);
			runs++;
			int ok = WIFEXITED(r.status) &&
				WEXITSTATUS(r.status) == 0;
			/* must the shim have said something? */
			int quiet_ok =
				/* empty: as unset */
				(*v == '\0' && (!strcmp(n, "PMEMSHIM_STATS") ||
					!strcmp(n, "PMEMSHIM_DAX_PATHS") ||
					!strcmp(n, "PMEMSHIM_FILTER"))) ||
				/* documented: names of programs */
				!strcmp(n, "PMEMSHIM_FILTER") ||
				/* documented: a directory created later */
				(!strcmp(n, "PMEMSHIM_DAX_PATHS") && v[0] == '/') ||
				/* documented: a report file name */
				(!strcmp(n, "PMEMSHIM_STATS") &&
					(!strcmp(v, "x") || !strcmp(v, "0x10") ||
					!strcmp(v, "\xff\xfe") ||
					!strcmp(v, "a:b::c")));
			char needle[64];
			snprintf(needle, sizeof(needle), "%s", n);
			int warned = strstr(r.err, needle) != NULL;
			if (!ok || (!quiet_ok && !warned)) {
				fprintf(stderr, "FAIL: %s=\"%.20s%s\": %s%s; "
					"stderr:\n%.2000s\n", n, v,
					strlen(v) > 20 ? "..." : "",
					ok ? "ran" : "program failed",
					!quiet_ok && !warned ?
					", no warning naming it" : "", r.err);
				Failures++;
			}
		}
	}
	/* a report file name is taken as one: the report is there */
	char rep[600];
	snprintf(rep, sizeof(rep), "%s/x", cwd);
	struct stat st;
	CHECK(stat(rep, &st) == 0 && st.st_size > 0);
	empty_dir(cwd);
	rmdir(cwd);
	printf("%d runs with garbage settings\n", runs);
	return finish();
}
