/* SPDX-License-Identifier: BSD-3-Clause */
/* errormsg.c -- the thread-local error message behind pmem2_errormsg(). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pmem2_utils.h"

#define ERRORMSG_MAX 512

static __thread char Last_errormsg[ERRORMSG_MAX];

void
errormsg_clear(void)
{
	Last_errormsg[0] = '\0';
}

/*
 * errormsg_vset -- format into the buffer; the message is also logged at
 * level 1 so PMEM2_LOG_LEVEL=1 shows every failure as it happens.
 */
static void
errormsg_vset(int errnum, const char *fmt, va_list ap)
{
	int saved = errno;
	int n = vsnprintf(Last_errormsg, sizeof(Last_errormsg), fmt, ap);
	if (errnum && n >= 0 && (size_t)n < sizeof(Last_errormsg)) {
		char buf[128];
		const char *e = strerror_r(errnum, buf, sizeof(buf));
		snprintf(Last_errormsg + n, sizeof(Last_errormsg) - (size_t)n,
				": %s", e);
	}
	LOG(1, "%s", Last_errormsg);
	errno = saved;
}

void
errormsg_set(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	errormsg_vset(0, fmt, ap);
	va_end(ap);
}

void
errormsg_set_errno(int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	errormsg_vset(errnum, fmt, ap);
	va_end(ap);
}

/*
 * pmem2_errormsg -- the last error of the calling thread ("" if the last
 * call succeeded).
 */
PMEM2_API const char *
pmem2_errormsg(void)
{
	return Last_errormsg;
}

/*
 * pmem2_perror -- "<prefix>: <last error>" on stderr, like perror(3).
 */
PMEM2_API void
pmem2_perror(const char *format, ...)
{
	char prefix[ERRORMSG_MAX];
	va_list ap;
	va_start(ap, format);
	vsnprintf(prefix, sizeof(prefix), format, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", prefix, Last_errormsg);
}
