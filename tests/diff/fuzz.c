/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz.c -- differential fuzzer: random, seeded call sequences run against
 * PMDK's libpmem2 (Debian's, the oracle) and ours; every divergence prints
 * its seed and a shrunk reproducer.
 *
 * Each sequence runs twice, in two fresh child processes (one library
 * dlopen'ed in each, PMEM2_FORCE_GRANULARITY set the same for both), so no
 * state leaks from one sequence or library to the other and a crash of
 * either side is seen as such.  A crash of the oracle is PMDK's bug, not a
 * divergence: it is counted and reported separately (the lines before it
 * are still compared).
 *
 * usage: pmem2-fuzz --ours LIB [--oracle LIB] [--seed S] [--seqs N]
 *                   [--seconds T] [--len L] [--dir DIR] [--regdir DIR]
 *                   [--accepted FILE] [-v]
 * Exit: 0 no divergence, 1 divergence (or our side crashed), 2 usage or
 * harness failure, 77 no oracle library.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diff_common.h"
#include "fuzz.h"

#define MAXOPS 256

static const char *opt_ours, *opt_oracle =
	"/usr/lib/x86_64-linux-gnu/libpmem2.so.1";
static char opt_dir[PATH_MAX] = "/dev/shm", opt_regdir[PATH_MAX];
static int opt_verbose;
static const char *opt_accepted = PMEM2FUZZ_ACCEPTED;

/* --- the sequence generator ------------------------------------------ */

static uint64_t rng;

static uint64_t
rnd(void)
{	/* splitmix64: every seed gives a good, reproducible stream */
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned
rn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* a size or offset: mostly small page multiples, sometimes anything */
static uint64_t
rsize(uint64_t typical)
{
	switch (rn(12)) {
	case 0: return 0;
	case 1: return rn(8192) + 1;			/* unaligned */
	case 2: return (uint64_t)rn(4) * 2 * MiB;	/* huge-page units */
	case 3: return SIZE_MAX - 4095 - (uint64_t)rn(3) * 4096;
	case 4: return (uint64_t)1 << (40 + rn(23));	/* huge */
	case 5: return typical + 4096;
	case 6: return typical;
	default: return (uint64_t)rn((unsigned)(typical / 4096 + 2)) * 4096;
	}
}

static const unsigned prots[] = {
	PMEM2_PROT_READ | PMEM2_PROT_WRITE, PMEM2_PROT_READ,
	PMEM2_PROT_WRITE, PMEM2_PROT_NONE, PMEM2_PROT_EXEC | PMEM2_PROT_READ,
	PMEM2_PROT_READ | PMEM2_PROT_WRITE | 1, 1U << 28,
};

static void
gen_op(struct op *op)
{
	memset(op, 0, sizeof(*op));
	/* weights: maps, configs and memory traffic dominate */
	static const uint8_t table[] = {
		OP_SRC_FD, OP_SRC_FD, OP_SRC_FD, OP_SRC_ANON, OP_SRC_DELETE,
		OP_SRC_INFO, OP_MCSAFE_READ, OP_MCSAFE_WRITE, OP_BADBLOCKS,
		OP_CFG_NEW, OP_CFG_NEW, OP_CFG_DELETE, OP_CFG_OFFSET,
		OP_CFG_LENGTH, OP_CFG_LENGTH, OP_CFG_GRAN, OP_CFG_GRAN,
		OP_CFG_SHARING, OP_CFG_PROT, OP_CFG_RSV, OP_CFG_RSV, OP_CFG_RSV,
		OP_RSV_NEW, OP_RSV_NEW, OP_RSV_DELETE, OP_RSV_EXTEND,
		OP_RSV_SHRINK, OP_MAP_NEW, OP_MAP_NEW, OP_MAP_NEW, OP_MAP_NEW,
		OP_MAP_DELETE, OP_MAP_FIND, OP_MAP_WALK, OP_MAP_NEIGHBOURS,
		OP_MEMCPY, OP_MEMCPY, OP_MEMMOVE, OP_MEMSET, OP_PERSIST,
		OP_DEEP_FLUSH, OP_MAP_SUM, OP_FILE_SUM, OP_MAP_EXISTING,
	};
	op->kind = table[rn(sizeof(table))];
	switch (op->kind) {
	case OP_SRC_FD:
		op->a = (int8_t)rn(NSRC);
		op->b = rn(3) ? FD_FILE : (int8_t)rn(FD_NKINDS);
		op->c = (int8_t)rn(NFILES);
		break;
	case OP_SRC_ANON:
		op->a = (int8_t)rn(NSRC);
		op->v = rsize(256 * KiB);
		break;
	case OP_SRC_DELETE: case OP_SRC_INFO: case OP_BADBLOCKS:
		op->a = (int8_t)rn(NSRC);
		break;
	case OP_MCSAFE_READ: case OP_MCSAFE_WRITE:
		op->a = (int8_t)rn(NSRC);
		op->v = rn(4) ? rn(70 * 1024) : rsize(64 * KiB);
		op->w = rn(3) ? rn(8192) : rsize(4096);
		op->c = (int8_t)rn(100);
		break;
	case OP_CFG_NEW:
		/* mostly with a granularity, or map_new fails every time */
		op->a = (int8_t)rn(NCFG);
		op->b = (int8_t)(rn(6) ? (int)rn(3) : -1);
		break;
	case OP_CFG_DELETE:
		op->a = (int8_t)rn(NCFG);
		break;
	case OP_CFG_OFFSET: case OP_CFG_LENGTH:
		op->a = (int8_t)rn(NCFG);
		op->v = rsize(64 * KiB);
		break;
	case OP_CFG_GRAN:
		op->a = (int8_t)rn(NCFG);
		op->b = (int8_t)(rn(8) ? rn(3) : rn(8) - 2);
		break;
	case OP_CFG_SHARING:
		op->a = (int8_t)rn(NCFG);
		op->b = (int8_t)(rn(6) ? rn(2) : rn(6) - 2);
		break;
	case OP_CFG_PROT:
		op->a = (int8_t)rn(NCFG);
		op->flags = prots[rn(sizeof(prots) / sizeof(prots[0]))];
		break;
	case OP_CFG_RSV:
		op->a = (int8_t)rn(NCFG);
		op->b = (int8_t)((int)rn(NRSV + 1) - 1);
		op->v = rn(4) ? (uint64_t)rn(64) * 16 * KiB : rsize(4 * MiB);
		/*
		 * Not fuzzed: offsets where offset + length wraps around.
		 * PMDK's range check overflows and it maps outside the
		 * reservation with MAP_FIXED, over whatever is there
		 * (tests/diff/README.md); ours refuses.
		 */
		if (op->v > SIZE_MAX / 2)
			op->v = (uint64_t)1 << 62;
		break;
	case OP_RSV_NEW:
		op->a = (int8_t)rn(NRSV);
		op->v = rn(3) ? (uint64_t)(rn(16) + 1) * 256 * KiB :
			rsize(4 * MiB);
		op->b = rn(4) ? ADDR_NULL : (int8_t)rn(ADDR_NKINDS);
		op->c = (int8_t)rn(NRSV);
		op->w = rn(2) ? (uint64_t)rn(4) * 64 * KiB : rn(8192);
		break;
	case OP_RSV_DELETE:
		op->a = (int8_t)rn(NRSV);
		break;
	case OP_RSV_EXTEND:
		op->a = (int8_t)rn(NRSV);
		op->v = rn(3) ? (uint64_t)rn(16) * 64 * KiB : rsize(2 * MiB);
		break;
	case OP_RSV_SHRINK:
		op->a = (int8_t)rn(NRSV);
		op->v = rn(2) ? 0 : rn(3) ? (uint64_t)rn(64) * 64 * KiB :
			rsize(4 * MiB);
		op->w = rn(3) ? (uint64_t)(rn(16) + 1) * 64 * KiB :
			rsize(1 * MiB);
		break;
	case OP_MAP_NEW:
		op->a = (int8_t)rn(NMAP);
		op->b = (int8_t)rn(NCFG);
		op->c = (int8_t)rn(NSRC);
		break;
	case OP_MAP_DELETE: case OP_MAP_SUM: case OP_MAP_NEIGHBOURS:
		op->a = (int8_t)rn(NMAP);
		break;
	case OP_MAP_FIND:
		op->a = (int8_t)rn(NRSV);
		op->v = rn(4) ? (uint64_t)rn(64) * 16 * KiB + rn(2) * rn(4096) :
			rsize(4 * MiB);
		op->w = rn(4) ? (uint64_t)rn(8) * 16 * KiB + rn(2) : rsize(MiB);
		break;
	case OP_MAP_WALK:
		op->a = (int8_t)rn(NRSV);
		break;
	case OP_MEMCPY: case OP_MEMMOVE: case OP_MEMSET: case OP_PERSIST:
	case OP_DEEP_FLUSH:
		op->a = (int8_t)rn(NMAP);
		op->v = rnd() % (2 * MiB);
		op->w = rn(3) ? rn(300) : rn(3) ? rn(70000) : rnd() % (2 * MiB);
		op->c = (int8_t)rn(128);
		op->b = (int8_t)rn(2);
		/* the documented flags, sometimes with an undefined bit */
		op->flags = (uint32_t)rn(64) | (rn(8) ? 0 : 1U << (6 + rn(26)));
		break;
	case OP_FILE_SUM:
		op->a = (int8_t)rn(NFILES);
		break;
	case OP_MAP_EXISTING:
		op->a = (int8_t)rn(NMAP);
		op->c = (int8_t)rn(NSRC);
		op->b = (int8_t)rn(3);
		op->v = rn(2) ? rnd() : (uint64_t)rn(16) * 4096 + 4095;
		break;
	}
}

static const char *fdkinds[] = { "file", "closed fd", "-1", "directory",
	"/dev/null", "pipe", "socket", "O_WRONLY file" };
static const char *addrkinds[] = { "NULL", "inside", "fresh" };

void
fuzz_fmt(char *buf, size_t len, const struct op *op)
{
	unsigned long long v = op->v, w = op->w;
	switch (op->kind) {
	case OP_SRC_FD:
		snprintf(buf, len, "s%d = source_from_fd(%s f%d)", op->a,
			fdkinds[op->b], op->c);
		break;
	case OP_SRC_ANON:
		snprintf(buf, len, "s%d = source_from_anon(%llu)", op->a, v);
		break;
	case OP_SRC_DELETE:
		snprintf(buf, len, "source_delete(s%d)", op->a);
		break;
	case OP_SRC_INFO:
		snprintf(buf, len, "source_size/alignment/get_fd/numa_node/"
			"device_usc/device_id(s%d)", op->a);
		break;
	case OP_MCSAFE_READ:
		snprintf(buf, len, "source_pread_mcsafe(s%d, len=%llu, "
			"off=%llu)", op->a, w, v);
		break;
	case OP_MCSAFE_WRITE:
		snprintf(buf, len, "source_pwrite_mcsafe(s%d, len=%llu, "
			"off=%llu, pattern %d)", op->a, w, v, op->c);
		break;
	case OP_BADBLOCKS:
		snprintf(buf, len, "badblock_context_new/next/delete(s%d)",
			op->a);
		break;
	case OP_CFG_NEW:
		if (op->b < 0)
			snprintf(buf, len, "c%d = config_new()", op->a);
		else
			snprintf(buf, len, "c%d = config_new() + "
				"config_set_required_store_granularity(%d)",
				op->a, op->b);
		break;
	case OP_CFG_DELETE:
		snprintf(buf, len, "config_delete(c%d)", op->a);
		break;
	case OP_CFG_OFFSET:
		snprintf(buf, len, "config_set_offset(c%d, %llu)", op->a, v);
		break;
	case OP_CFG_LENGTH:
		snprintf(buf, len, "config_set_length(c%d, %llu)", op->a, v);
		break;
	case OP_CFG_GRAN:
		snprintf(buf, len, "config_set_required_store_granularity("
			"c%d, %d)", op->a, op->b);
		break;
	case OP_CFG_SHARING:
		snprintf(buf, len, "config_set_sharing(c%d, %d)", op->a,
			op->b);
		break;
	case OP_CFG_PROT:
		snprintf(buf, len, "config_set_protection(c%d, 0x%x)", op->a,
			op->flags);
		break;
	case OP_CFG_RSV:
		if (op->b < 0)
			snprintf(buf, len, "config_set_vm_reservation(c%d, "
				"NULL, %llu)", op->a, v);
		else
			snprintf(buf, len, "config_set_vm_reservation(c%d, "
				"r%d, %llu)", op->a, op->b, v);
		break;
	case OP_RSV_NEW:
		snprintf(buf, len, "r%d = vm_reservation_new(addr %s r%d+%llu, "
			"size=%llu)", op->a, addrkinds[op->b], op->c, w, v);
		break;
	case OP_RSV_DELETE:
		snprintf(buf, len, "vm_reservation_delete(r%d)", op->a);
		break;
	case OP_RSV_EXTEND:
		snprintf(buf, len, "vm_reservation_extend(r%d, %llu)", op->a,
			v);
		break;
	case OP_RSV_SHRINK:
		snprintf(buf, len, "vm_reservation_shrink(r%d, off=%llu, "
			"size=%llu)", op->a, v, w);
		break;
	case OP_MAP_NEW:
		snprintf(buf, len, "m%d = map_new(c%d, s%d)", op->a, op->b,
			op->c);
		break;
	case OP_MAP_DELETE:
		snprintf(buf, len, "map_delete(m%d)", op->a);
		break;
	case OP_MAP_FIND:
		snprintf(buf, len, "vm_reservation_map_find(r%d, off=%llu, "
			"len=%llu)", op->a, v, w);
		break;
	case OP_MAP_WALK:
		snprintf(buf, len, "map_find_first/last/next/prev walk(r%d)",
			op->a);
		break;
	case OP_MAP_NEIGHBOURS:
		snprintf(buf, len, "map_find_next/prev(m%d)", op->a);
		break;
	case OP_MEMCPY:
		snprintf(buf, len, "memcpy_fn(m%d, off=%llu, len=%llu, "
			"flags=0x%x)", op->a, v, w, op->flags);
		break;
	case OP_MEMMOVE:
		snprintf(buf, len, "memmove_fn(m%d, off=%llu, len=%llu, "
			"from=%d*4093, flags=0x%x)", op->a, v, w, op->c,
			op->flags);
		break;
	case OP_MEMSET:
		snprintf(buf, len, "memset_fn(m%d, off=%llu, c=%d, len=%llu, "
			"flags=0x%x)", op->a, v, op->c, w, op->flags);
		break;
	case OP_PERSIST:
		snprintf(buf, len, "%s(m%d, off=%llu, len=%llu)",
			op->b ? "flush_fn+drain_fn" : "persist_fn+drain_fn",
			op->a, v, w);
		break;
	case OP_DEEP_FLUSH:
		snprintf(buf, len, "deep_flush(m%d, addr+%llu%s, %llu)", op->a,
			v % (2 * MiB), op->c ? "-4096" : "", w);
		break;
	case OP_MAP_SUM:
		snprintf(buf, len, "map_get_size/store_granularity + "
			"checksum(m%d)", op->a);
		break;
	case OP_FILE_SUM:
		snprintf(buf, len, "checksum(f%d)", op->a);
		break;
	case OP_MAP_EXISTING:
		if (op->b == 2)
			snprintf(buf, len, "map_from_existing(s%d, over an "
				"existing mapping, BYTE)", op->c);
		else
			snprintf(buf, len, "m%d = mmap(s%d's file) + "
				"map_from_existing(len=size%%%llu+1, %s)", op->a,
				op->c, (unsigned long long)op->v,
				op->b ? "CACHE_LINE" : "BYTE");
		break;
	default:
		snprintf(buf, len, "?");
	}
}

/* gen_seq -- the sequence (and the forced granularity) of one seed */
static int
gen_seq(uint64_t seed, int maxlen, struct op *ops, const char **gran)
{
	static const char *grans[] = { NULL, "CACHE_LINE", "BYTE", "PAGE" };
	rng = seed;
	*gran = grans[rn(4)];
	int n = 8 + (int)rn((unsigned)(maxlen > 8 ? maxlen - 7 : 1));
	if (n > maxlen)
		n = maxlen;
	for (int i = 0; i < n; i++)
		gen_op(&ops[i]);
	/* most sequences start with a source, configs and a reservation
	 * (valid ones), so that mappings and copies happen often */
	static const struct op prologue[] = {
		{ .kind = OP_SRC_FD, .a = 0, .b = FD_FILE, .c = 0 },
		{ .kind = OP_CFG_NEW, .a = 0, .b = PMEM2_GRANULARITY_PAGE },
		{ .kind = OP_RSV_NEW, .a = 0, .v = 4 * MiB, .b = ADDR_NULL },
		{ .kind = OP_CFG_NEW, .a = 1, .b = PMEM2_GRANULARITY_PAGE },
		{ .kind = OP_CFG_RSV, .a = 1, .b = 0, .v = 0 },
		{ .kind = OP_MAP_NEW, .a = 0, .b = 0, .c = 0 },
	};
	unsigned k = rn(8);
	if (k > sizeof(prologue) / sizeof(prologue[0]))
		k = 0;
	for (unsigned i = 0; i < k && (int)i < n; i++) {
		ops[i] = prologue[i];
		if (ops[i].kind == OP_SRC_FD)
			ops[i].c = (int8_t)rn(NFILES);
		else if (ops[i].kind == OP_CFG_NEW)
			ops[i].b = (int8_t)rn(3);
	}
	return n;
}

/* --- running one sequence against one library -------------------------- */

struct run {
	char *text;
	int crashed;	/* killed by a signal, or exited without "end:" */
	int status;
};

static void
rm_side_files(const char *d, const char *rd)
{
	char p[PATH_MAX + 64];
	for (int i = 0; i < NFILES; i++) {
		snprintf(p, sizeof(p), "%s/f%d", i == 1 ? rd : d, i);
		unlink(p);
	}
	rmdir(d);
	rmdir(rd);
}

static void
run_side(const char *lib, const struct op *ops, int n, const char *gran,
	struct run *r)
{
	char d[PATH_MAX + 32], rd[PATH_MAX + 32];
	snprintf(d, sizeof(d), "%s/pmem2fuzz.%d", opt_dir, (int)getpid());
	snprintf(rd, sizeof(rd), "%s/pmem2fuzz-reg.%d", opt_regdir,
		(int)getpid());
	rm_side_files(d, rd);
	if (mkdir(d, 0700) || mkdir(rd, 0700))
		die("mkdir %s, %s: %s", d, rd, strerror(errno));
	int fd = memfd_create("pmem2fuzz", 0);
	if (fd < 0)
		die("memfd_create: %s", strerror(errno));
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (gran)
			setenv("PMEM2_FORCE_GRANULARITY", gran, 1);
		else
			unsetenv("PMEM2_FORCE_GRANULARITY");
		/* no library log on our stderr; a hang is a failure too */
		unsetenv("PMEM2_LOG_LEVEL");
		alarm(60);
		_exit(fuzz_exec(lib, ops, n, d, rd, fd));
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	off_t len = lseek(fd, 0, SEEK_END);
	r->text = malloc((size_t)len + 1);
	if (!r->text || pread(fd, r->text, (size_t)len, 0) != len)
		die("reading the transcript");
	r->text[len] = '\0';
	close(fd);
	rm_side_files(d, rd);
	r->status = st;
	r->crashed = !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
		(strncmp(r->text, "end:", 4) && !strstr(r->text, "\nend:"));
	if (strstr(r->text, "HARNESS "))
		die("harness failure running %s:\n%s", lib, r->text);
}

/* --- comparing transcripts ---------------------------------------------- */

/*
 * The deliberate divergences of tests/diff/accepted.txt, as they show in
 * the fuzzer's transcripts: its "fuzz CALL [TAG] => PMDK => OURS" lines.
 * The executor marks a call whose arguments meet the entry's condition
 * with " [TAG] | " (ACC_MARK); the two lines are then accepted only if
 * everything before the mark is the same, PMDK's outcome and ours are
 * exactly the entry's, and whatever follows the outcomes is the same.
 */
struct accepted {
	char call[64], tag[64], pmdk[160], ours[160];
	unsigned long seen;
};
#define MAXACC 32
static struct accepted acc[MAXACC];
static size_t NACC;

static void
load_accepted(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die("cannot read %s: %s", path, strerror(errno));
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "fuzz ", 5))
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (NACC == MAXACC)
			die("%s: too many fuzz entries", path);
		struct accepted *a = &acc[NACC];
		char *p = strstr(line, " => "), *o = p ? strstr(p + 4, " => ")
			: NULL, *t = strchr(line, '[');
		if (!p || !o || !t || t > p || sizeof(a->pmdk) <= (size_t)(o - p)
				|| strlen(o) >= sizeof(a->ours) ||
				(size_t)(t - line) >= sizeof(a->call) ||
				(size_t)(p - t) >= sizeof(a->tag))
			die("%s: bad fuzz line: %s", path, line);
		snprintf(a->call, sizeof(a->call), "%.*s(", (int)(t - line - 6),
			line + 5);
		snprintf(a->tag, sizeof(a->tag), "%.*s", (int)(p - t), t);
		snprintf(a->pmdk, sizeof(a->pmdk), " -> %.*s",
			(int)(o - p - 4), p + 4);
		snprintf(a->ours, sizeof(a->ours), " -> %s", o + 4);
		NACC++;
	}
	fclose(f);
	if (!NACC && strcmp(path, "/dev/null") != 0)
		die("%s holds no fuzz entries", path);
}

/* is_accepted -- whether two differing lines are one accepted divergence */
static int
is_accepted(const char *p, size_t plen, const char *o, size_t olen,
	int count)
{
	const char *pm = memmem(p, plen, ACC_MARK, strlen(ACC_MARK));
	const char *om = memmem(o, olen, ACC_MARK, strlen(ACC_MARK));
	if (!pm || !om || pm - p != om - o || memcmp(p, o, (size_t)(pm - p)))
		return 0;
	pm += strlen(ACC_MARK);
	om += strlen(ACC_MARK);
	for (size_t i = 0; i < NACC; i++) {
		struct accepted *a = &acc[i];
		size_t hp = strlen(a->pmdk), ho = strlen(a->ours);
		if (!memmem(p, (size_t)(pm - p), a->call, strlen(a->call)) ||
				!memmem(p, (size_t)(pm - p), a->tag,
					strlen(a->tag)))
			continue;
		if ((size_t)(p + plen - pm) < hp ||
				(size_t)(o + olen - om) < ho ||
				memcmp(pm, a->pmdk, hp) ||
				memcmp(om, a->ours, ho))
			continue;
		/* what follows the outcome must be the same */
		size_t rp = (size_t)(p + plen - pm) - hp;
		size_t ro = (size_t)(o + olen - om) - ho;
		if (rp != ro || memcmp(pm + hp, om + ho, rp))
			continue;
		if (count)
			acc[i].seen++;
		return 1;
	}
	return 0;
}

static const char *
next_line(const char *s, size_t *len)
{
	while (*s == '#')	/* comment lines (coverage) are not compared */
		s += strcspn(s, "\n") + (s[strcspn(s, "\n")] != '\0');
	*len = strcspn(s, "\n");
	return s;
}

/*
 * compare -- 0 same (modulo accepted divergences), 1 divergence; *line is
 * the index of the first differing line.  An oracle that crashed is
 * compared up to the call it crashed in.
 */
static int
compare(const struct run *p, const struct run *o, int count, int *line)
{
	const char *a = p->text, *b = o->text;
	if (o->crashed)
		return *line = 0, 1;
	for (int i = 0;; i++) {
		size_t la, lb;
		a = next_line(a, &la);
		b = next_line(b, &lb);
		*line = i;
		int enda = a[la] == '\0', endb = b[lb] == '\0';
		if (p->crashed && enda)	/* PMDK's last (unfinished) call */
			return 0;
		if (la == 0 && lb == 0 && enda && endb)
			return 0;
		if (la != lb || memcmp(a, b, la)) {
			if (!is_accepted(a, la, b, lb, count))
				return 1;
		}
		if (enda || endb)
			return enda != endb;
		a += la + 1;
		b += lb + 1;
	}
}

/* diverges -- run both sides; 1 divergence, 0 none, -1 the oracle crashed */
static int
diverges(const struct op *ops, int n, const char *gran, int count,
	struct run *p, struct run *o, int *line)
{
	run_side(opt_oracle, ops, n, gran, p);
	run_side(opt_ours, ops, n, gran, o);
	int d = compare(p, o, count, line);
	return d ? 1 : p->crashed ? -1 : 0;
}

static void
free_runs(struct run *p, struct run *o)
{
	free(p->text);
	free(o->text);
	p->text = o->text = NULL;
}

/*
 * shrink -- delta debugging: drop chunks of calls (halves, then quarters,
 * down to single calls) while the sequence still diverges
 */
static int
shrink(struct op *ops, int n, const char *gran)
{
	struct op tmp[MAXOPS];
	int tries = 0;
	for (int chunk = n / 2; chunk >= 1; chunk /= 2) {
		for (int i = 0; i + chunk <= n && n > 1 && tries < 400;) {
			int m = 0;
			for (int j = 0; j < n; j++)
				if (j < i || j >= i + chunk)
					tmp[m++] = ops[j];
			struct run p, o;
			int line;
			tries++;
			int d = diverges(tmp, m, gran, 0, &p, &o, &line);
			free_runs(&p, &o);
			if (d == 1) {
				memcpy(ops, tmp, (size_t)m * sizeof(*ops));
				n = m;
			} else {
				i += chunk;
			}
		}
	}
	return n;
}

/* print_diff -- both transcripts, differing lines marked (- PMDK, + ours) */
static void
print_diff(const struct run *p, const struct run *o)
{
	const char *a = p->text, *b = o->text;
	for (;;) {
		size_t la, lb;
		a = next_line(a, &la);
		b = next_line(b, &lb);
		if (!la && !lb && !a[la] && !b[lb])
			break;
		if (la == lb && !memcmp(a, b, la)) {
			printf("    %.*s\n", (int)la, a);
		} else {
			if (la || a[la])
				printf("  - %.*s\n", (int)la, a);
			if (lb || b[lb])
				printf("  + %.*s\n", (int)lb, b);
		}
		a += la + (a[la] != '\0');
		b += lb + (b[lb] != '\0');
	}
	if (p->crashed)
		printf("  (PMDK's run died: status 0x%x)\n", p->status);
	if (o->crashed)
		printf("  (our run died: status 0x%x)\n", o->status);
}

static char lib_copy[PATH_MAX + 32], lib_dir[PATH_MAX];

static void
rm_lib_copy(void)
{
	unlink(lib_copy);
	rmdir(lib_dir);
}

/*
 * copy_lib -- run our library from a private copy, so that rebuilding it
 * during a long run cannot hand a child a half-written file
 */
static const char *
copy_lib(const char *lib)
{
	const char *t = getenv("TMPDIR");
	snprintf(lib_dir, sizeof(lib_dir), "%s/pmem2fuzz-lib.XXXXXX",
		t ? t : "/tmp");
	if (!mkdtemp(lib_dir))
		die("mkdtemp %s: %s", lib_dir, strerror(errno));
	snprintf(lib_copy, sizeof(lib_copy), "%s/libpmem2.so.1", lib_dir);
	int in = open(lib, O_RDONLY), out = open(lib_copy,
		O_WRONLY | O_CREAT | O_EXCL, 0755);
	if (in < 0 || out < 0)
		die("copying %s: %s", lib, strerror(errno));
	atexit(rm_lib_copy);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			die("copying %s: %s", lib, strerror(errno));
	if (n < 0 || close(out))
		die("copying %s: %s", lib, strerror(errno));
	close(in);
	return lib_copy;
}

static void
usage(void)
{
	fprintf(stderr, "usage: pmem2-fuzz --ours LIB [--oracle LIB] "
		"[--seed S] [--seqs N] [--seconds T] [--len L] [--dir DIR] "
		"[--regdir DIR] [--accepted FILE] [-v]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	uint64_t seed = 1;
	long seqs = -1, seconds = -1;
	int maxlen = 40;
	const char *t = getenv("TMPDIR");
	snprintf(opt_regdir, sizeof(opt_regdir), "%s", t ? t : "/var/tmp");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-v")) {
			opt_verbose = 1;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--ours"))
			opt_ours = v;
		else if (!strcmp(a, "--oracle"))
			opt_oracle = v;
		else if (!strcmp(a, "--seed"))
			seed = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--seqs"))
			seqs = strtol(v, NULL, 0);
		else if (!strcmp(a, "--seconds"))
			seconds = strtol(v, NULL, 0);
		else if (!strcmp(a, "--len"))
			maxlen = atoi(v);
		else if (!strcmp(a, "--accepted"))
			opt_accepted = v;
		else if (!strcmp(a, "--dir"))
			snprintf(opt_dir, sizeof(opt_dir), "%s", v);
		else if (!strcmp(a, "--regdir"))
			snprintf(opt_regdir, sizeof(opt_regdir), "%s", v);
		else
			usage();
	}
	if (!opt_ours || maxlen < 1 || maxlen > MAXOPS)
		usage();
	if (seqs < 0 && seconds < 0)
		seqs = 100;
	load_accepted(opt_accepted);
	if (access(opt_oracle, R_OK)) {
		printf("SKIP: no oracle library %s (install Debian's "
			"libpmem2)\n", opt_oracle);
		return 77;
	}
	char ro[PATH_MAX], ru[PATH_MAX];
	if (!realpath(opt_oracle, ro) || !realpath(opt_ours, ru))
		die("realpath: %s", strerror(errno));
	if (!strcmp(ro, ru))
		die("--ours is the oracle itself (%s): nothing to compare", ro);
	opt_ours = copy_lib(ru);
	printf("pmem2-fuzz: oracle %s, ours %s, seeds %llu.., files in %s "
		"and %s\n", ro, ru, (unsigned long long)seed, opt_dir,
		opt_regdir);
	fflush(stdout);

	time_t start = time(NULL);
	long done = 0, divergent = 0, crashes = 0, calls = 0;
	uint64_t covered = 0;
	struct op ops[MAXOPS];
	for (uint64_t s = seed;; s++) {
		if (seqs >= 0 && done >= seqs)
			break;
		if (seconds >= 0 && time(NULL) - start >= seconds)
			break;
		const char *gran;
		int n = gen_seq(s, maxlen, ops, &gran);
		struct run p, o;
		int line;
		int d = diverges(ops, n, gran, 1, &p, &o, &line);
		done++;
		calls += n;
		const char *c = strstr(o.text, "#covered ");
		if (c)
			covered |= strtoull(c + 9, NULL, 16);
		if (opt_verbose || d) {
			printf("=== seed %llu (PMEM2_FORCE_GRANULARITY=%s, %d "
				"calls): %s\n", (unsigned long long)s,
				gran ? gran : "unset", n, d == 1 ? "DIVERGENCE" :
				d < 0 ? "PMDK CRASHED (not our divergence)" :
				"same");
			if (opt_verbose && !d)
				print_diff(&p, &o);
		}
		if (d < 0) {
			crashes++;
			print_diff(&p, &o);
		}
		free_runs(&p, &o);
		if (d == 1) {
			divergent++;
			n = shrink(ops, n, gran);
			printf("minimal reproducer (%d calls; full sequence: "
				"pmem2-fuzz --ours LIB --seed %llu --len %d "
				"--seqs 1 -v):\n", n, (unsigned long long)s,
				maxlen);
			diverges(ops, n, gran, 0, &p, &o, &line);
			print_diff(&p, &o);
			free_runs(&p, &o);
		}
		fflush(stdout);
	}
	int ncov = 0;
	for (int i = 0; i < 64; i++)
		ncov += (int)(covered >> i & 1);
	printf("pmem2-fuzz: %ld sequences (%ld calls) in %lds, %d API "
		"functions called; %ld divergent, %ld PMDK crashes; accepted "
		"divergences (tests/diff/accepted.txt):", done, calls,
		(long)(time(NULL) - start), ncov, divergent, crashes);
	for (size_t i = 0; i < NACC; i++)
		printf(" %s%s=%lu", acc[i].call, acc[i].tag, acc[i].seen);
	printf("\n");
	return divergent ? 1 : 0;
}
