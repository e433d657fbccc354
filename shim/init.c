/* SPDX-License-Identifier: BSD-3-Clause */
/* init.c -- the shim's constructor, environment, process filter and log. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "registry.h"
#include "shim.h"

extern char **environ;
extern char *program_invocation_short_name;

struct shim_config shim_cfg = {
	.enabled = true,
	.detect_real = true,
	.memcpy_nt = true,
	.track_dirty = true,
	.log_level = 1,
	.emu_gran = PMEM2_GRANULARITY_CACHE_LINE,
};
_Atomic int shim_inited;
__thread int shim_in_hook __attribute__((tls_model("initial-exec")));

static pthread_once_t Once = PTHREAD_ONCE_INIT;
static dev_t Err_dev;
static ino_t Err_ino;
static bool Err_ok;

/*
 * env_get -- getenv without libc's help: read straight from environ, which
 * is valid before any constructor runs (hooks may call us that early).
 */
static const char *
env_get(const char *name)
{
	size_t n = strlen(name);
	for (char **e = environ; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

void
shim_write_err(const char *buf, size_t len)
{
	struct stat st;
	/* fd 2 may have been closed and reused for the program's own data
	 * file: write only to the stderr we saw at start-up */
	if (!Err_ok || fstat(2, &st) || st.st_dev != Err_dev ||
			st.st_ino != Err_ino)
		return;
	int saved = errno;
	while (len) {
		ssize_t w = write(2, buf, len);
		if (w <= 0)
			break;
		buf += w;
		len -= (size_t)w;
	}
	errno = saved;
}

void
shim_log(int level, const char *fmt, ...)
{
	if (level > shim_cfg.log_level)
		return;
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "pmemshim[%d]: ", (int)getpid());
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	size_t len = (size_t)n + ((size_t)m < sizeof(buf) - (size_t)n - 1 ?
		(size_t)m : sizeof(buf) - (size_t)n - 2);
	buf[len++] = '\n';
	shim_write_err(buf, len);
}

/* list_has -- is word one of the colon-separated names in list? */
static bool
list_has(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; *p;) {
		const char *c = strchr(p, ':');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == wl && strncmp(p, word, l) == 0)
			return true;
		if (!c)
			break;
		p = c + 1;
	}
	return false;
}

/*
 * parse_paths -- PMEMSHIM_DAX_PATHS: colon-separated directories, made
 * canonical (realpath) so they compare with /proc/self/fd links.
 */
static void
parse_paths(const char *v)
{
	for (const char *p = v; *p;) {
		const char *c = strchr(p, ':');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		char dir[PATH_MAX], real[PATH_MAX];
		if (l >= sizeof(dir))
			shim_log(1, "PMEMSHIM_DAX_PATHS: ignoring a %zu-byte "
				"entry: longer than PATH_MAX", l);
		if (l && l < sizeof(dir)) {
			memcpy(dir, p, l);
			dir[l] = '\0';
			if (shim_cfg.npaths == SHIM_MAX_PATHS) {
				shim_log(1, "PMEMSHIM_DAX_PATHS: more than %d "
					"directories, ignoring \"%s\"",
					SHIM_MAX_PATHS, dir);
			} else if (dir[0] != '/' && !realpath(dir, real)) {
				shim_log(1, "PMEMSHIM_DAX_PATHS: ignoring "
					"\"%s\": %s", dir, strerror(errno));
			} else if ((realpath(dir, real) || strcpy(real, dir)) &&
					strlen(real) >= 256) {
				shim_log(1, "PMEMSHIM_DAX_PATHS: ignoring "
					"\"%s\": too long", dir);
			} else {
				/* a directory that does not exist yet is kept
				 * as written (the program may create it) */
				size_t rl = strlen(real);
				while (rl > 1 && real[rl - 1] == '/')
					real[--rl] = '\0';
				strcpy(shim_cfg.paths[shim_cfg.npaths++], real);
			}
		}
		if (!c)
			break;
		p = c + 1;
	}
}

/* parse_choice -- index of v in the NULL-terminated words, or def + msg */
static int
parse_choice(const char *name, const char *v, const char *const *words,
		int def)
{
	if (!v)
		return def;
	for (int i = 0; words[i]; i++)
		if (strcasecmp(v, words[i]) == 0)
			return i;
	shim_log(1, "%s=\"%.40s\" not understood, using \"%s\"", name, v,
		words[def]);
	return def;
}

void
shim_mutex_atfork(pthread_mutex_t *m, int phase)
{
	if (phase == 0) {
		pthread_mutex_lock(m);
	} else if (phase == 1) {
		pthread_mutex_unlock(m);
	} else {
		pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
		*m = fresh;
	}
}

/*
 * atfork_prepare -- every lock of the shim, in the order the hooks take
 * them: the registry's first (take_over allocates a mapping record and
 * starts tracking under it, shim_dirty_release holds it around the dirty
 * lock), then the others, which nest nothing.  The registry's own
 * handler (core/registry.c) runs after this one (handlers run in reverse
 * order of registration) and so took its lock last: a fork in one thread
 * while another mmapped a DAX file deadlocked both, each holding the lock
 * the other wanted (found by shim_fuzz --threads).  The lock is
 * recursive; that handler now only nests, and the child re-creates it
 * (registry_atfork_child).
 */
static void
atfork_prepare(void)
{
	registry_lock();
	shim_classify_atfork(0);
	shim_maps_atfork(0);
	shim_dirty_atfork(0);
}

static void
atfork_parent(void)
{
	shim_dirty_atfork(1);
	shim_maps_atfork(1);
	shim_classify_atfork(1);
	registry_unlock();
}

/*
 * Image_pid -- the process this address space belongs to: set at start
 * and in every fork's child (atfork).  A vfork child runs no atfork
 * handler and shares its parent's memory, so it sees its parent's pid
 * here and another from getpid(): its exec or _exit ends nothing of the
 * parent's mappings, and flushing them there would cost the parent a
 * walk of all of them at every spawn (a raw clone without CLONE_VM is
 * taken for one too: its stores are not flushed at its end).
 */
static _Atomic pid_t Image_pid FORK_DATA;

void
shim_flush_at_end(enum shim_counter counter, const char *why)
{
	pid_t own = atomic_load(&Image_pid);
	if (own && own != (pid_t)syscall(SYS_getpid))
		return;
	size_t bytes = 0;
	size_t n = shim_flush_where(true, 0, counter, &bytes);
	if (n)
		shim_log(2, "%s: %zu bytes flushed in %zu mappings", why,
			bytes, n);
}

static void
atfork_child(void)
{
	atomic_store(&Image_pid, (pid_t)syscall(SYS_getpid));
	shim_stats_atfork_child();
	shim_layout_atfork_child();
	shim_sigbus_atfork_child();
	shim_dirty_atfork(2);
	shim_maps_atfork(2);
	shim_classify_atfork(2);
}

/*
 * warn_unknown -- a PMEMSHIM_ variable the shim does not know is most
 * likely a typo (PMEMSHIM_DAX_PATH): say so rather than ignore it silently
 */
static void
warn_unknown(void)
{
	static const char *const known[] = { "PMEMSHIM_DAX_PATHS",
		"PMEMSHIM_DAX", "PMEMSHIM_GRANULARITY", "PMEMSHIM_MEMCPY",
		"PMEMSHIM_FILTER", "PMEMSHIM_LOG", "PMEMSHIM_STATS",
		"PMEMSHIM_TRACK", "PMEMSHIM_ALIAS", NULL };
	for (char **e = environ; e && *e; e++) {
		if (strncmp(*e, "PMEMSHIM_", 9) != 0)
			continue;
		size_t n = strcspn(*e, "=");
		int i;
		for (i = 0; known[i]; i++)
			if (strlen(known[i]) == n &&
					strncmp(*e, known[i], n) == 0)
				break;
		if (!known[i])
			shim_log(1, "unknown variable %.*s ignored (known: "
				"PMEMSHIM_DAX_PATHS, _DAX, _GRANULARITY, "
				"_MEMCPY, _FILTER, _LOG, _STATS, _TRACK, "
				"_ALIAS)",
				(int)(n < 64 ? n : 64), *e);
	}
}

static void
init_once(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	atomic_store(&Image_pid, (pid_t)syscall(SYS_getpid));
	struct stat st;
	if (fstat(2, &st) == 0) {
		Err_dev = st.st_dev;
		Err_ino = st.st_ino;
		Err_ok = true;
	}
	static const char *const levels[] = { "0", "1", "2", "3", NULL };
	shim_cfg.log_level = parse_choice("PMEMSHIM_LOG",
			env_get("PMEMSHIM_LOG"), levels, 1);

	warn_unknown();

	static const char *const dax[] = { "auto", "off", NULL };
	shim_cfg.detect_real = parse_choice("PMEMSHIM_DAX",
			env_get("PMEMSHIM_DAX"), dax, 0) == 0;
	static const char *const mc[] = { "nt", "off", NULL };
	shim_cfg.memcpy_nt = parse_choice("PMEMSHIM_MEMCPY",
			env_get("PMEMSHIM_MEMCPY"), mc, 0) == 0;
	static const char *const tr[] = { "auto", "off", NULL };
	shim_cfg.track_dirty = parse_choice("PMEMSHIM_TRACK",
			env_get("PMEMSHIM_TRACK"), tr, 0) == 0;
	shim_cfg.alias = parse_choice("PMEMSHIM_ALIAS",
			env_get("PMEMSHIM_ALIAS"), tr, 0) == 0;
	static const char *const gr[] = { "CACHE_LINE", "BYTE", "CACHELINE",
		NULL };
	shim_cfg.emu_gran = parse_choice("PMEMSHIM_GRANULARITY",
			env_get("PMEMSHIM_GRANULARITY"), gr, 0) == 1 ?
		PMEM2_GRANULARITY_BYTE : PMEM2_GRANULARITY_CACHE_LINE;

	const char *v = env_get("PMEMSHIM_DAX_PATHS");
	if (v)
		parse_paths(v);

	v = env_get("PMEMSHIM_STATS");
	if (v && *v && strcmp(v, "0") != 0) {
		if (strcmp(v, "1") == 0) {
			shim_cfg.stats = 1;
		} else if (v[strspn(v, "+-0123456789")] == '\0') {
			/* a number other than 0/1 is no file name anyone
			 * meant: say so instead of creating a file "-1" */
			shim_log(1, "PMEMSHIM_STATS=\"%.40s\" not understood "
				"(want 0, 1 or a file name), reporting on "
				"stderr", v);
			shim_cfg.stats = 1;
		} else if (strlen(v) < sizeof(shim_cfg.stats_file)) {
			shim_cfg.stats = 2;
			strcpy(shim_cfg.stats_file, v);
		} else {
			shim_log(1, "PMEMSHIM_STATS: file name too long, "
				"reporting on stderr");
			shim_cfg.stats = 1;
		}
	}

	v = env_get("PMEMSHIM_FILTER");
	if (v && *v) {
		const char *me = program_invocation_short_name;
		shim_cfg.enabled = me && list_has(v, me);
		shim_log(2, "PMEMSHIM_FILTER: \"%s\" %s", me ? me : "?",
			shim_cfg.enabled ? "accelerated" : "left alone");
	}
	atomic_store(&shim_inited, 1);
}

void
shim_init(void)
{
	pthread_once(&Once, init_once);
}

/*
 * end_of_image -- the process ends with no munmap: flush every shim
 * mapping (the kernel's exit unmaps them with no flush, and its writeback
 * never flushes what the shim's mappings dirtied: hooks_msync.c), then
 * report; tear nothing down: other destructors and atexit handlers still
 * copy and unmap through our hooks after this.
 */
static void
end_of_image(const char *why)
{
	shim_flush_at_end(ST_EXIT_FLUSH, why);
	if (shim_cfg.stats)
		shim_stats_report();
}

/*
 * at_quick_exit_end -- quick_exit runs its handlers, then libc's internal
 * _exit, which our _exit hook never sees, and no destructor.  Ours was
 * registered by the constructor, so it runs after every handler the
 * program registers from main on (they run last registered first) and
 * flushes their stores too; a handler registered by a library's
 * constructor, before ours, runs after it (shim/README.md).
 */
static void
at_quick_exit_end(void)
{
	end_of_image("quick_exit");
}

/*
 * shim_ctor -- runs after the constructors of the program's own libraries
 * (a preloaded object comes first in the search list, so it is initialised
 * last): every hook must work before this point, with defaults.
 */
__attribute__((constructor)) static void
shim_ctor(void)
{
	shim_init();
	shim_resolve_real();
	shim_sigbus_init();
	shim_stats_init();
	if (at_quick_exit(at_quick_exit_end) != 0)
		shim_log(1, "at_quick_exit failed: quick_exit will not flush");
}

__attribute__((destructor)) static void
shim_dtor(void)
{
	end_of_image("exit");
}

void *
shim_alloc(size_t size)
{
	if (core_fault_hit(CORE_FAULT_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return malloc(size);
}

void *
shim_next(void *_Atomic *cache, const char *name, const char *version)
{
	void *f = atomic_load(cache);
	if (!f) {
		f = dlvsym(RTLD_NEXT, name, version);
		atomic_store(cache, f);
	}
	return f;
}
