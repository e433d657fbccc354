/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shim_fence.c -- copies the shim sends through the core's mover use
 * non-temporal stores, which x86 does not order with later ordinary
 * stores.  A program that copies into a shared mapping and then stores a
 * flag (a release store is a plain store on x86) expects a reader that
 * sees the flag to see the bytes: glibc fences its own non-temporal copies
 * for that.  So every interposed copy into DAX must return with its
 * non-temporal stores ordered: by SFENCE/MFENCE or a locked instruction.
 *
 * A traced child runs each copy between two INT3 markers; the parent
 * single-steps it (tests/unit/x86_trace.h).  Controls: a bare unfenced
 * non-temporal store must be caught; a copy below the mover's threshold
 * and one to non-DAX memory must use no non-temporal store at all, and the
 * large DAX copies must use them (else the test proves nothing).
 */
#include "shim_test.h"
#include "../unit/x86_trace.h"

#define LEN (64 * 1024)

enum op { BAD, GOOD, CPY, MOVE, PCPY, CPY_CHK, MOVE_CHK, SMALL, PLAIN };
static const char *const Names[] = { "unfenced control", "fenced control",
	"memcpy", "memmove", "mempcpy", "__memcpy_chk", "__memmove_chk",
	"memcpy below the mover's threshold", "memcpy to non-DAX memory" };

struct tcase {
	enum op op;
	size_t len;
};

static const struct tcase Cases[] = {
	{ BAD, 16 }, { GOOD, 16 },
	{ CPY, 4096 }, { CPY, 1024 }, { CPY, 5000 }, { CPY, 65536 },
	{ MOVE, 4096 }, { MOVE, 20000 }, { PCPY, 8192 },
	{ CPY_CHK, 4096 }, { MOVE_CHK, 4096 },
	{ SMALL, 512 }, { PLAIN, 4096 },
};
#define NCASES (sizeof(Cases) / sizeof(Cases[0]))

/* reached only through these pointers: the compiler cannot inline them */
static void *(*volatile Memcpy)(void *, const void *, size_t) = memcpy;
static void *(*volatile Memmove)(void *, const void *, size_t) = memmove;
static void *(*volatile Mempcpy)(void *, const void *, size_t) = mempcpy;
extern void *__memcpy_chk(void *, const void *, size_t, size_t);
extern void *__memmove_chk(void *, const void *, size_t, size_t);
static void *(*volatile Memcpy_chk)(void *, const void *, size_t, size_t) =
	__memcpy_chk;
static void *(*volatile Memmove_chk)(void *, const void *, size_t,
	size_t) = __memmove_chk;

static __attribute__((noinline)) void
traced(const struct tcase *t, char *d, char *plain, const char *src)
{
	__asm__ volatile("int3" : : : "memory");
	switch (t->op) {
	case BAD:
		x86_trace_unfenced(d, src);
		break;
	case GOOD:
		x86_trace_fenced(d, src);
		break;
	case CPY:
	case SMALL:
		Memcpy(d + 3, src, t->len);
		break;
	case MOVE:	/* overlapping, destination above the source */
		Memmove(d + 100, d, t->len);
		break;
	case PCPY:
		Mempcpy(d, src, t->len);
		break;
	case CPY_CHK:
		Memcpy_chk(d, src, t->len, LEN);
		break;
	case MOVE_CHK:
		Memmove_chk(d, src, t->len, LEN);
		break;
	case PLAIN:
		Memcpy(plain, src, t->len);
		break;
	}
	__asm__ volatile("int3" : : : "memory");
}

static void __attribute__((noreturn))
tracee(char *d, char *plain, const char *src)
{
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
		_exit(2);
	raise(SIGSTOP);
	for (size_t i = 0; i < NCASES; i++)
		traced(&Cases[i], d, plain, src);
	_exit(0);
}

int
main(void)
{
	const char *dax = shim_test_init();
	int fd = make_file(dax, "fence", 2 * LEN, 0, NULL);
	char *d = mmap(NULL, 2 * LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			0);
	FATAL(d != MAP_FAILED && Gran(d) >= 0);
	char *plain = malloc(LEN), *src = malloc(LEN);
	FATAL(plain && src);
	memset(src, 0x5a, LEN);
	memset(plain, 0, LEN);
	memset(d, 1, 2 * LEN);	/* faulted in before tracing */

	pid_t pid = fork();
	FATAL(pid >= 0);
	if (pid == 0)
		tracee(d, plain, src);
	int st;
	FATAL(waitpid(pid, &st, 0) == pid);
	if (!WIFSTOPPED(st)) {
		printf("cannot trace a child here (status 0x%x): skipped\n",
			st);
		return SKIP;
	}
	for (size_t i = 0; i < NCASES; i++) {
		const struct tcase *t = &Cases[i];
		struct trace tr;
		FATAL(ptrace(PTRACE_CONT, pid, NULL, NULL) == 0);
		FATAL(waitpid(pid, &st, 0) == pid);
		if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP ||
				x86_step_to_marker(pid, &tr, &st) != 0) {
			kill(pid, SIGKILL);
			fprintf(stderr, "case %zu: tracee status 0x%x\n", i, st);
			return 1;
		}
		printf("%-36s %6zu B: %5u steps, %4u NT stores, %u fences, "
			"%u locked%s\n", Names[t->op], t->len, tr.steps, tr.nt,
			tr.fences, tr.locked,
			tr.pending_nt ? ", NT STORES NOT ORDERED" : "");
		switch (t->op) {
		case BAD:	/* the checker must catch it */
			CHECK(tr.nt == 1 && tr.pending_nt);
			break;
		case GOOD:
			CHECK(tr.nt == 1 && !tr.pending_nt);
			break;
		case SMALL:
		case PLAIN:	/* libc's cached copy */
			CHECK(tr.nt == 0);
			break;
		default:	/* the mover, and fenced */
			CHECK(tr.nt > 0);
			CHECK(!tr.pending_nt);
			CHECK(tr.fences > 0);
			break;
		}
	}
	FATAL(ptrace(PTRACE_CONT, pid, NULL, NULL) == 0);
	FATAL(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	munmap(d, 2 * LEN);
	close(fd);
	return finish();
}
