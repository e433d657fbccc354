/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * log.c -- PMEM2_LOG_LEVEL / PMEM2_LOG_FILE: optional diagnostics.
 *
 * Level 0 (default) prints nothing.  Output goes to PMEM2_LOG_FILE (a "-"
 * suffix appends the pid, as in PMDK) or to stderr, one line per message,
 * written with a single write(2) so lines from threads do not interleave.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmem2_utils.h"

int core_log_level;
static int Log_fd = 2;

/*
 * parse_level -- a decimal 0..15; anything else is reported and ignored.
 */
static int
parse_level(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || v < 0 || v > 15) {
		char msg[160];
		int n = snprintf(msg, sizeof(msg), "libpmem2: ignoring invalid "
			"PMEM2_LOG_LEVEL=\"%.60s\" (want 0..15)\n", s);
		if (n > 0 && write(2, msg, (size_t)n) < 0) {
			/* nothing more we can do */
		}
		return 0;
	}
	return (int)v;
}

void
log_init(void)
{
	const char *lvl = secure_getenv("PMEM2_LOG_LEVEL");
	if (lvl)
		core_log_level = parse_level(lvl);
	const char *file = secure_getenv("PMEM2_LOG_FILE");
	if (core_log_level == 0 || !file || !*file)
		return;

	char path[4096];
	size_t len = strlen(file);
	if (file[len - 1] == '-')
		snprintf(path, sizeof(path), "%s%d", file, (int)getpid());
	else
		snprintf(path, sizeof(path), "%s", file);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		LOG(1, "cannot open PMEM2_LOG_FILE \"%s\", logging to stderr",
				path);
		return;
	}
	Log_fd = fd;
}

void
log_fini(void)
{
	if (Log_fd > 2)
		close(Log_fd);
	Log_fd = 2;
}

void
log_printf(int level, const char *func, const char *fmt, ...)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "<libpmem2>: <%d> [%s] ", level,
			func);
	if (n < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	if (write(Log_fd, buf, len) < 0) {
		/* a log line is best effort */
	}
}
