/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_exec.c -- the differential fuzzer's executor: runs one call sequence
 * against one libpmem2 (dlopen'ed in a fresh child process) and writes a
 * transcript that holds no addresses, only return codes, sizes,
 * granularities, offsets relative to reservations and checksums.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diff_common.h"
#include "fuzz.h"

/* every function the fuzzer calls, resolved from the library under test */
#define FUZZ_FNS(X) \
	X(source_from_fd) X(source_from_anon) X(source_delete) \
	X(source_size) X(source_alignment) X(source_get_fd) \
	X(source_numa_node) X(source_device_usc) X(source_device_id) \
	X(source_pread_mcsafe) X(source_pwrite_mcsafe) \
	X(badblock_context_new) X(badblock_next) X(badblock_context_delete) \
	X(config_new) X(config_delete) X(config_set_offset) \
	X(config_set_length) X(config_set_required_store_granularity) \
	X(config_set_sharing) X(config_set_protection) \
	X(config_set_vm_reservation) \
	X(vm_reservation_new) X(vm_reservation_delete) \
	X(vm_reservation_extend) X(vm_reservation_shrink) \
	X(vm_reservation_get_address) X(vm_reservation_get_size) \
	X(vm_reservation_map_find) X(vm_reservation_map_find_first) \
	X(vm_reservation_map_find_last) X(vm_reservation_map_find_next) \
	X(vm_reservation_map_find_prev) \
	X(map_new) X(map_delete) X(map_get_address) X(map_get_size) \
	X(map_from_existing) \
	X(map_get_store_granularity) \
	X(get_memcpy_fn) X(get_memmove_fn) X(get_memset_fn) \
	X(get_persist_fn) X(get_flush_fn) X(get_drain_fn) \
	X(deep_flush) X(errormsg)

enum {
#define X(n) FN_##n,
	FUZZ_FNS(X)
#undef X
	FN_COUNT
};

static struct {
#define X(n) __typeof__(pmem2_##n) *n;
	FUZZ_FNS(X)
#undef X
} P;

static uint64_t covered;	/* bit per FN_*: called at least once */
static void
cov(int fn)
{
	covered |= 1ULL << fn;
}
#define CALL(n) (cov(FN_##n), P.n)

static FILE *T;			/* the transcript */

struct fstate { int fd; char path[PATH_MAX]; size_t size; };
struct mstate {
	struct pmem2_map *m;
	int rsv;		/* reservation slot or -1 */
	int readable, writable;
	void *ext;		/* map_from_existing: the harness's own mmap */
	size_t extlen;
};

static struct fstate files[NFILES];
static struct pmem2_source *srcs[NSRC];
static int src_file[NSRC];	/* file behind a source, -1 anon/other */
static size_t src_size[NSRC];
static struct pmem2_config *cfgs[NCFG];
static unsigned cfg_prot[NCFG];
static int cfg_rsv[NCFG];
static struct pmem2_vm_reservation *rsvs[NRSV];
static struct mstate maps[NMAP];
static size_t rsv_align[NRSV];	/* huge-page unit chosen at creation */
static unsigned char pattern[1 << 20];

#define MSUM_T(p, len) \
	fprintf(T, " sum=%016llx", (unsigned long long)fnv((p), (len)))

static void
out_rc(int rc)
{
	fprintf(T, " -> %d(%s)", rc, errname(rc));
	if (rc) {
		const char *m = CALL(errormsg)();
		fprintf(T, " msg=%s", m && m[0] ? "yes" : "no");
	}
}

/* mapname -- a mapping the library returned, by slot ("m3"), never by address */
static const char *
mapname(struct pmem2_map *m)
{
	static char buf[4][16];
	static int k;
	if (m == NULL)
		return "NULL";
	if (m == SENTINEL)
		return "untouched";
	for (int i = 0; i < NMAP; i++)
		if (maps[i].m == m) {
			k = (k + 1) % 4;
			snprintf(buf[k], sizeof(buf[k]), "m%d", i);
			return buf[k];
		}
	return "unknown";
}

static int
open_file(int i, const char *dir, const char *regdir)
{
	static const size_t sizes[NFILES] = { 64 * KiB, 64 * KiB + 100,
		1 * MiB, 64 * KiB };
	struct fstate *f = &files[i];
	snprintf(f->path, sizeof(f->path), "%s/f%d", i == 1 ? regdir : dir, i);
	int fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	f->size = sizes[i];
	for (size_t off = 0; off < f->size; off += sizeof(pattern)) {
		size_t n = f->size - off < sizeof(pattern) ?
			f->size - off : sizeof(pattern);
		for (size_t j = 0; j < n; j++)
			pattern[j] = (unsigned char)((off + j) * 131 + i + 1);
		if (pwrite(fd, pattern, n, (off_t)off) != (ssize_t)n)
			return -1;
	}
	if (i == 3) {	/* read-only descriptor */
		close(fd);
		fd = open(f->path, O_RDONLY);
	}
	f->fd = fd;
	return fd < 0 ? -1 : 0;
}

/* file_sum -- size and checksum of a file, read with pread */
static void
file_sum(int i)
{
	struct stat st;
	if (fstat(files[i].fd, &st)) {
		fprintf(T, " f%d=?", i);
		return;
	}
	size_t sz = (size_t)st.st_size;
	unsigned char *buf = malloc(sz ? sz : 1);
	ssize_t r = buf ? pread(files[i].fd, buf, sz, 0) : -1;
	fprintf(T, " f%d[size=%zu sum=%016llx]", i, sz, r == (ssize_t)sz ?
		(unsigned long long)fnv(buf, sz) : 0ULL);
	free(buf);
}

static int
bad_fd(int kind, int file, const char *dir)
{
	int fd = -1, sv[2];
	switch (kind) {
	case FD_CLOSED:
		fd = dup(0);
		close(fd);
		return fd;
	case FD_MINUS1:
		return -1;
	case FD_DIR:
		return open(dir, O_RDONLY | O_DIRECTORY);
	case FD_DEVNULL:
		return open("/dev/null", O_RDWR);
	case FD_PIPE:
		if (pipe(sv))
			return -1;
		return sv[0];
	case FD_SOCKET:
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			return -1;
		return sv[0];
	case FD_WRONLY:
		return open(files[file].path, O_WRONLY);
	}
	return fd;
}

/* rel -- an address relative to reservation slot r, or "?" */
static void
out_pos(struct mstate *ms)
{
	if (ms->rsv < 0 || !rsvs[ms->rsv]) {
		fprintf(T, " pos=standalone");
		return;
	}
	char *b = CALL(vm_reservation_get_address)(rsvs[ms->rsv]);
	fprintf(T, " pos=r%d@%td", ms->rsv,
		(char *)CALL(map_get_address)(ms->m) - b);
}

/* in_map -- the op's [v, v+w) range clipped to map slot a (0: no usable map) */
static int
in_map(const struct op *op, struct mstate **msp, size_t *off, size_t *len)
{
	/* an empty slot: the first that is not (same on both sides) */
	int a = op->a;
	for (int i = 0; !maps[a].m && i < NMAP; i++)
		a = i;
	struct mstate *ms = *msp = &maps[a];
	if (!ms->m)
		return 0;
	if (a != op->a)
		fprintf(T, " (m%d)", a);
	size_t size = CALL(map_get_size)(ms->m);
	if (size == 0)
		return 0;
	*off = op->v % size;
	*len = op->w % (size - *off + 1);
	return 1;
}

/*
 * past_end -- whether an mcsafe read/write of source slot i leaves the
 * file (accepted.txt: PMDK reads nothing and writes past the end, ours
 * refuses)
 */
static int
past_end(int i, size_t off, size_t len)
{
	return src_file[i] >= 0 && (off > src_size[i] ||
		len > src_size[i] - off);
}

/* mcsafe_tag -- mark an mcsafe call that meets an accepted.txt condition */
static int
mcsafe_tag(int i, size_t off, size_t len)
{
	if (!past_end(i, off, len))
		return 0;
	if (off > (size_t)INT64_MAX)
		fprintf(T, " [offset beyond off_t]" ACC_MARK);
	else if (len == 0)
		fprintf(T, " [empty, past end]" ACC_MARK);
	else
		fprintf(T, " [past end]" ACC_MARK);
	return 1;
}

static void
exec_src(const struct op *op, const char *dir)
{
	struct pmem2_source **s = &srcs[op->a];
	int rc;
	switch (op->kind) {
	case OP_SRC_FD: {
		if (*s)
			CALL(source_delete)(s);
		int fd = op->b == FD_FILE ? files[op->c].fd :
			bad_fd(op->b, op->c, dir);
		*s = SENTINEL;
		/* accepted.txt: PMDK gives no message for this error */
		if (op->b == FD_DEVNULL)
			fprintf(T, " [char device]" ACC_MARK);
		else if (op->b == FD_MINUS1)
			fprintf(T, " [fd -1]" ACC_MARK);
		rc = CALL(source_from_fd)(s, fd);
		out_rc(rc);
		fprintf(T, " src=%s", *s == NULL ? "NULL" :
			*s == SENTINEL ? "untouched" : "set");
		if (rc)
			*s = NULL;
		src_file[op->a] = op->b == FD_FILE || op->b == FD_WRONLY ?
			op->c : -1;
		src_size[op->a] = src_file[op->a] >= 0 ?
			files[op->c].size : 0;
		break;
	}
	case OP_SRC_ANON:
		if (*s)
			CALL(source_delete)(s);
		*s = SENTINEL;
		rc = CALL(source_from_anon)(s, op->v);
		out_rc(rc);
		fprintf(T, " src=%s", *s == NULL ? "NULL" :
			*s == SENTINEL ? "untouched" : "set");
		if (rc)
			*s = NULL;
		src_file[op->a] = -1;
		src_size[op->a] = op->v;
		break;
	case OP_SRC_DELETE:
		out_rc(CALL(source_delete)(s));
		fprintf(T, " src=%s", *s ? "set" : "NULL");
		break;
	case OP_SRC_INFO: {
		size_t sz = 7, al = 7;
		int fd = -7, numa = -7;
		uint64_t usc = 7;
		char id[256] = "";
		size_t idlen = sizeof(id);
		fprintf(T, " size");
		out_rc(CALL(source_size)(*s, &sz));
		fprintf(T, " =%zu align", sz);
		out_rc(CALL(source_alignment)(*s, &al));
		fprintf(T, " =%zu get_fd", al);
		rc = CALL(source_get_fd)(*s, &fd);
		out_rc(rc);
		fprintf(T, " fd=%s", fd == -7 ? "untouched" : fd < 0 ? "neg" :
			src_file[op->a] >= 0 && files[src_file[op->a]].fd == fd ?
			"file" : "other");
		fprintf(T, " numa");
		out_rc(CALL(source_numa_node)(*s, &numa));
		fprintf(T, " usc");
		out_rc(CALL(source_device_usc)(*s, &usc));
		fprintf(T, " id_len");
		out_rc(CALL(source_device_id)(*s, NULL, &idlen));
		break;
	}
	case OP_MCSAFE_READ: {
		size_t len = op->w > sizeof(pattern) ? sizeof(pattern) : op->w;
		memset(pattern, 0xdd, len);
		mcsafe_tag(op->a, op->v, len);
		out_rc(CALL(source_pread_mcsafe)(*s, pattern, len, op->v));
		MSUM_T(pattern, len);
		break;
	}
	case OP_MCSAFE_WRITE: {
		size_t len = op->w > sizeof(pattern) ? sizeof(pattern) : op->w;
		for (size_t i = 0; i < len; i++)
			pattern[i] = (unsigned char)(i * 7 + op->c);
		int past = mcsafe_tag(op->a, op->v, len);
		unsigned char *save = NULL;
		int ffd = src_file[op->a] >= 0 ?
			open(files[src_file[op->a]].path, O_RDWR) : -1;
		if (past) {
			save = malloc(src_size[op->a] + 1);
			if (!save || pread(ffd, save, src_size[op->a], 0) !=
					(ssize_t)src_size[op->a]) {
				fprintf(T, " harness cannot save the file");
				free(save);
				break;
			}
		}
		out_rc(CALL(source_pwrite_mcsafe)(*s, pattern, len, op->v));
		/*
		 * accepted.txt: PMDK writes past the end and grows the file
		 * behind the mappings' back where ours refuses; the harness
		 * restores the file's bytes and size on both sides so the
		 * rest of the sequence is still compared.
		 */
		if (past) {
			if (pwrite(ffd, save, src_size[op->a], 0) !=
					(ssize_t)src_size[op->a] ||
					ftruncate(ffd, (off_t)src_size[op->a]))
				fprintf(T, " harness cannot restore the file");
			free(save);
		}
		if (ffd >= 0)
			close(ffd);
		break;
	}
	case OP_BADBLOCKS: {
		struct pmem2_badblock_context *bb = SENTINEL;
		rc = CALL(badblock_context_new)(&bb, *s);
		out_rc(rc);
		if (!rc) {
			struct pmem2_badblock b;
			fprintf(T, " next");
			out_rc(CALL(badblock_next)(bb, &b));
			CALL(badblock_context_delete)(&bb);
			fprintf(T, " ctx=%s", bb ? "set" : "NULL");
		}
		break;
	}
	}
}

static void
exec_cfg(const struct op *op)
{
	struct pmem2_config **c = &cfgs[op->a];
	int rc;
	if (op->kind == OP_CFG_NEW) {
		if (*c)
			CALL(config_delete)(c);
		rc = CALL(config_new)(c);
		out_rc(rc);
		if (!rc && op->b >= 0)
			out_rc(CALL(config_set_required_store_granularity)(*c,
				(enum pmem2_granularity)op->b));
		cfg_prot[op->a] = PMEM2_PROT_READ | PMEM2_PROT_WRITE;
		cfg_rsv[op->a] = -1;
		return;
	}
	if (op->kind == OP_CFG_DELETE) {
		out_rc(CALL(config_delete)(c));
		fprintf(T, " cfg=%s", *c ? "set" : "NULL");
		return;
	}
	if (!*c) {	/* PMDK's config setters do not take NULL */
		fprintf(T, " no config");
		return;
	}
	switch (op->kind) {
	case OP_CFG_OFFSET:
		out_rc(CALL(config_set_offset)(*c, op->v));
		break;
	case OP_CFG_LENGTH:
		out_rc(CALL(config_set_length)(*c, op->v));
		break;
	case OP_CFG_GRAN:
		out_rc(CALL(config_set_required_store_granularity)(*c,
			(enum pmem2_granularity)op->b));
		break;
	case OP_CFG_SHARING:
		out_rc(CALL(config_set_sharing)(*c,
			(enum pmem2_sharing_type)op->b));
		break;
	case OP_CFG_PROT:
		rc = CALL(config_set_protection)(*c, op->flags);
		out_rc(rc);
		if (!rc)
			cfg_prot[op->a] = op->flags;
		break;
	case OP_CFG_RSV:
		if (op->b >= 0 && !rsvs[op->b]) {
			fprintf(T, " no reservation");
			break;
		}
		rc = CALL(config_set_vm_reservation)(*c,
			op->b >= 0 ? rsvs[op->b] : NULL, op->v);
		out_rc(rc);
		if (!rc)
			cfg_rsv[op->a] = op->b;
		break;
	}
}

/* rsv_in_use -- whether a config or a mapping still refers to reservation r */
static void
rsv_forget(int r)
{
	for (int i = 0; i < NCFG; i++)
		if (cfg_rsv[i] == r) {
			if (cfgs[i])
				CALL(config_set_vm_reservation)(cfgs[i],
					NULL, 0);
			cfg_rsv[i] = -1;
		}
}

static void
out_rsv(int r)
{
	if (rsvs[r])
		fprintf(T, " rsv.size=%zu",
			CALL(vm_reservation_get_size)(rsvs[r]));
}

static void
exec_rsv(const struct op *op)
{
	struct pmem2_vm_reservation **r = &rsvs[op->a];
	int rc;
	switch (op->kind) {
	case OP_RSV_NEW: {
		void *addr = NULL;
		if (op->b == ADDR_INSIDE) {
			if (!rsvs[op->c]) {
				fprintf(T, " no reservation");
				return;
			}
			addr = (char *)CALL(vm_reservation_get_address)(
				rsvs[op->c]) + op->w;
		} else if (op->b == ADDR_FRESH) {
			/* room for both libraries' hidden slack: the size
			 * rounded up to the huge-page unit plus one unit,
			 * plus one more for aligning the address */
			size_t al = op->v >= 2048 * MiB ? 1024 * MiB : 2 * MiB;
			size_t sz = ((op->v + al - 1) & ~(al - 1)) + 2 * al +
				op->w;
			char *p = sz < op->v ? MAP_FAILED : mmap(NULL, sz,
				PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
				MAP_NORESERVE, -1, 0);
			if (p == MAP_FAILED) {
				fprintf(T, " no such free range");
				return;
			}
			munmap(p, sz);
			addr = (char *)(((uintptr_t)p + al - 1) & ~(al - 1)) +
				op->w;
		}
		if (*r) {
			rsv_forget(op->a);
			for (int i = 0; i < NMAP; i++)
				if (maps[i].rsv == op->a && maps[i].m)
					CALL(map_delete)(&maps[i].m);
			CALL(vm_reservation_delete)(r);
			*r = NULL;
		}
		/*
		 * accepted.txt: a size whose huge-page arithmetic overflows
		 * "succeeds" in PMDK with nothing reserved (and can never be
		 * deleted); ours fails with -ENOMEM.  The result is never
		 * kept, so both sides go on with an empty slot.
		 */
		int huge = op->v > SIZE_MAX - 2048 * MiB;
		if (huge)
			fprintf(T, " [size overflows]" ACC_MARK);
		/*
		 * accepted.txt: PMDK leaves a deleted reservation's hidden
		 * slack mapped; a new reservation there fails in PMDK only.
		 * The result is not kept, so both sides go on alike.
		 */
		int stale = op->b == ADDR_INSIDE && op->c == op->a;
		if (stale && !huge)
			fprintf(T, " [in a deleted reservation]" ACC_MARK);
		struct pmem2_vm_reservation *nr = SENTINEL;
		rc = CALL(vm_reservation_new)(&nr, addr, op->v);
		out_rc(rc);
		fprintf(T, " rsv=%s", nr == NULL ? "NULL" :
			nr == SENTINEL ? "untouched" : "set");
		if (rc == 0 && stale) {
			CALL(vm_reservation_delete)(&nr);
		} else if (rc == 0 && !huge) {
			*r = nr;
			rsv_align[op->a] = op->v >= 2048 * MiB ? 1024 * MiB :
				2 * MiB;
			out_rsv(op->a);
			if (addr)
				fprintf(T, " at_addr=%s",
					CALL(vm_reservation_get_address)(nr) ==
					addr ? "yes" : "no");
		}
		break;
	}
	case OP_RSV_DELETE: {
		if (!*r) {
			fprintf(T, " no reservation");
			return;
		}
		/*
		 * accepted.txt: a zero-size reservation cannot be deleted in
		 * PMDK (-EINVAL, leaked); ours deletes it.  Either way the
		 * slot is empty afterwards.
		 */
		size_t sz = CALL(vm_reservation_get_size)(*r);
		if (sz == 0)
			fprintf(T, " [size 0]" ACC_MARK);
		rc = CALL(vm_reservation_delete)(r);
		out_rc(rc);
		fprintf(T, " rsv=%s", *r ? "set" : "NULL");
		if (sz == 0)
			*r = NULL;
		if (!*r)
			rsv_forget(op->a);
		break;
	}
	case OP_RSV_EXTEND:
		if (!*r) {
			fprintf(T, " no reservation");
			return;
		}
		/* accepted.txt: PMDK's size arithmetic wraps around */
		if (CALL(vm_reservation_get_size)(*r) + op->v <
				CALL(vm_reservation_get_size)(*r) ||
				op->v > SIZE_MAX - 2048 * MiB) {
			/* PMDK's reservation is broken afterwards: both
			 * sides leak it and its mappings, and go on */
			fprintf(T, " [size overflows]" ACC_MARK);
			out_rc(CALL(vm_reservation_extend)(*r, op->v));
			for (int i = 0; i < NMAP; i++)
				if (maps[i].rsv == op->a)
					maps[i].m = NULL;
			rsv_forget(op->a);
			*r = NULL;
			return;
		}
		uintptr_t a = (uintptr_t)CALL(vm_reservation_get_address)(*r);
		size_t al = rsv_align[op->a], cur = CALL(vm_reservation_get_size)(
			*r);
		if (((a + cur + op->v + al - 1) & ~(al - 1)) >
				((a + cur + al - 1) & ~(al - 1))) {
			/*
			 * accepted.txt: an extension past the reservation's
			 * huge-page unit needs the address space after it,
			 * and what lies there differs between the libraries.
			 * Both sides undo a successful extension, so they go
			 * on with the same size.
			 */
			size_t old = cur;
			fprintf(T, " [past its huge-page unit]" ACC_MARK);
			rc = CALL(vm_reservation_extend)(*r, op->v);
			out_rc(rc);
			if (rc == 0 && op->v && old && CALL(
					vm_reservation_shrink)(*r, old, op->v))
				fprintf(T, " harness cannot undo");
			if (!old) {
				/* an empty reservation cannot shrink back to
				 * nothing: both sides leak it and go on */
				for (int i = 0; i < NMAP; i++)
					if (maps[i].rsv == op->a)
						maps[i].m = NULL;
				rsv_forget(op->a);
				*r = NULL;
			}
			break;
		}
		out_rc(CALL(vm_reservation_extend)(*r, op->v));
		out_rsv(op->a);
		break;
	case OP_RSV_SHRINK:
		if (!*r) {
			fprintf(T, " no reservation");
			return;
		}
		/*
		 * accepted.txt: when offset+size overflows PMDK calls the
		 * range "the middle" (NOSUPP); ours: LENGTH_OUT_OF_RANGE.
		 */
		if (op->v + op->w < op->v)
			fprintf(T, " [range overflows]" ACC_MARK);
		out_rc(CALL(vm_reservation_shrink)(*r, op->v, op->w));
		out_rsv(op->a);
		break;
	}
}

/* map_drop -- delete slot ms's mapping (and a described one's memory) */
static int
map_drop(struct mstate *ms)
{
	int rc = CALL(map_delete)(&ms->m);
	if (rc == 0 && ms->ext) {
		munmap(ms->ext, ms->extlen);
		ms->ext = NULL;
	}
	return rc;
}

/*
 * exec_existing -- map part of a file source with mmap, describe it with
 * pmem2_map_from_existing.  Only BYTE/CACHE_LINE and non-zero lengths:
 * PMDK aborts on an unknown granularity, registers nothing for length 0
 * and loops for ever persisting a PAGE one (tests/diff/README.md).
 */
static void
exec_existing(const struct op *op)
{
	struct mstate *ms = &maps[op->a];
	int sc = op->c;
	for (int i = 0; (!srcs[sc] || src_file[sc] < 0) && i < NSRC; i++)
		sc = i;
	if (!srcs[sc] || src_file[sc] < 0 || !src_size[sc]) {
		fprintf(T, " no file source");
		return;
	}
	if (sc != op->c)
		fprintf(T, " (s%d)", sc);
	struct fstate *f = &files[src_file[sc]];
	size_t len = op->v % src_size[sc] + 1;
	if (op->b == 2) {	/* overlap another mapping of the slots */
		int j;
		for (j = 0; j < NMAP && !maps[j].m; j++)
			;
		if (j == NMAP) {
			fprintf(T, " no map to overlap");
			return;
		}
		fprintf(T, " over m%d", j);
		char *a = CALL(map_get_address)(maps[j].m);
		struct pmem2_map *m = SENTINEL;
		int rc = CALL(map_from_existing)(&m, srcs[sc], a,
			CALL(map_get_size)(maps[j].m), PMEM2_GRANULARITY_BYTE);
		out_rc(rc);
		if (rc == 0) {	/* a divergence in itself: forget it */
			fprintf(T, " described twice");
			CALL(map_delete)(&m);
		}
		return;
	}
	if (ms->m)
		map_drop(ms);
	int rw = f->fd != files[3].fd && src_file[sc] != 3;
	size_t mlen = (len + 4095) & ~(size_t)4095;
	void *p = mmap(NULL, mlen, PROT_READ | (rw ? PROT_WRITE : 0),
		MAP_SHARED, f->fd, 0);
	if (p == MAP_FAILED) {
		fprintf(T, " harness mmap failed");
		return;
	}
	struct pmem2_map *m = SENTINEL;
	int rc = CALL(map_from_existing)(&m, srcs[sc], p, len,
		(enum pmem2_granularity)op->b);
	out_rc(rc);
	if (rc) {
		munmap(p, mlen);
		return;
	}
	ms->m = m;
	ms->rsv = -1;
	ms->readable = 1;
	ms->writable = rw;
	ms->ext = p;
	ms->extlen = mlen;
	fprintf(T, " size=%zu gran=%s", CALL(map_get_size)(m),
		gname(CALL(map_get_store_granularity)(m)));
}

static void
exec_map(const struct op *op)
{
	struct mstate *ms = &maps[op->a];
	int rc;
	switch (op->kind) {
	case OP_MAP_NEW: {
		/* an empty slot: the first that is not (same on both sides) */
		int cb = op->b, sc = op->c;
		for (int i = 0; !cfgs[cb] && i < NCFG; i++)
			cb = i;
		for (int i = 0; !srcs[sc] && i < NSRC; i++)
			sc = i;
		if (cb != op->b || sc != op->c)
			fprintf(T, " (c%d, s%d)", cb, sc);
		if (!cfgs[cb] || !srcs[sc]) {
			/* PMDK does not take NULL here */
			fprintf(T, " no config or source");
			return;
		}
		if (ms->m)
			map_drop(ms);
		struct pmem2_map *m = SENTINEL;
		/* accepted.txt: a length whose arithmetic overflows */
		if (cfg_rsv[cb] >= 0 && src_file[sc] < 0 &&
				src_size[sc] > SIZE_MAX - 2048 * MiB)
			fprintf(T, " [size overflows]" ACC_MARK);
		rc = CALL(map_new)(&m, cfgs[cb], srcs[sc]);
		out_rc(rc);
		if (rc) {
			fprintf(T, " map=%s", m == NULL ? "NULL" :
				m == SENTINEL ? "untouched" : "set");
			ms->m = NULL;
			return;
		}
		ms->m = m;
		ms->rsv = cfg_rsv[cb];
		unsigned prot = cfg_prot[cb];
		ms->readable = (prot & PMEM2_PROT_READ) != 0;
		ms->writable = (prot & PMEM2_PROT_WRITE) != 0;
		fprintf(T, " size=%zu gran=%s", CALL(map_get_size)(m),
			gname(CALL(map_get_store_granularity)(m)));
		out_pos(ms);
		break;
	}
	case OP_MAP_DELETE:
		if (!ms->m) {
			fprintf(T, " no map");
			return;
		}
		out_rc(map_drop(ms));
		fprintf(T, " map=%s", ms->m ? "set" : "NULL");
		break;
	case OP_MAP_SUM: {
		if (!ms->m || !ms->readable) {
			fprintf(T, " no readable map");
			return;
		}
		fprintf(T, " size=%zu gran=%s", CALL(map_get_size)(ms->m),
			gname(CALL(map_get_store_granularity)(ms->m)));
		out_pos(ms);
		MSUM_T(CALL(map_get_address)(ms->m), CALL(map_get_size)(ms->m));
		break;
	}
	}
}

static void
exec_find(const struct op *op)
{
	struct pmem2_vm_reservation *r;
	struct pmem2_map *m = SENTINEL, *x;
	if (op->kind == OP_MAP_NEIGHBOURS) {	/* op->a is a map index */
		struct mstate *ms = &maps[op->a];
		if (!ms->m || ms->rsv < 0 || !rsvs[ms->rsv]) {
			fprintf(T, " no map in a reservation");
			return;
		}
		fprintf(T, " next");
		out_rc(CALL(vm_reservation_map_find_next)(rsvs[ms->rsv], ms->m,
			&m));
		fprintf(T, " =%s prev", mapname(m));
		m = SENTINEL;
		out_rc(CALL(vm_reservation_map_find_prev)(rsvs[ms->rsv], ms->m,
			&m));
		fprintf(T, " =%s", mapname(m));
		return;
	}
	r = rsvs[op->a];
	if (!r) {
		fprintf(T, " no reservation");
		return;
	}
	if (op->kind == OP_MAP_FIND) {
		out_rc(CALL(vm_reservation_map_find)(r, op->v, op->w, &m));
		fprintf(T, " map=%s", mapname(m));
		return;
	}
	/* OP_MAP_WALK */
	fprintf(T, " first");
	out_rc(CALL(vm_reservation_map_find_first)(r, &m));
	fprintf(T, " =%s last", mapname(m));
	x = SENTINEL;
	out_rc(CALL(vm_reservation_map_find_last)(r, &x));
	fprintf(T, " =%s fwd:", mapname(x));
	for (int n = 0; m && m != SENTINEL && n <= NMAP; n++) {
		struct pmem2_map *next = SENTINEL;
		int rc = CALL(vm_reservation_map_find_next)(r, m, &next);
		fprintf(T, " %s", mapname(m));
		if (rc) {
			out_rc(rc);
			break;
		}
		m = next;
	}
	fprintf(T, " back:");
	for (int n = 0; x && x != SENTINEL && n <= NMAP; n++) {
		struct pmem2_map *prev = SENTINEL;
		int rc = CALL(vm_reservation_map_find_prev)(r, x, &prev);
		fprintf(T, " %s", mapname(x));
		if (rc) {
			out_rc(rc);
			break;
		}
		x = prev;
	}
}

static void
exec_mem(const struct op *op)
{
	struct mstate *ms;
	size_t off, len;
	if (!in_map(op, &ms, &off, &len) || !ms->writable || !ms->readable) {
		fprintf(T, " no writable map");
		return;
	}
	char *base = CALL(map_get_address)(ms->m);
	size_t size = CALL(map_get_size)(ms->m);
	fprintf(T, " [off=%zu len=%zu]", off, len);
	void *ret = NULL;
	switch (op->kind) {
	case OP_MEMCPY:
		if (len > sizeof(pattern))
			len = sizeof(pattern);
		for (size_t i = 0; i < len; i++)
			pattern[i] = (unsigned char)(i * 13 + op->c);
		ret = CALL(get_memcpy_fn)(ms->m)(base + off, pattern, len,
			op->flags);
		break;
	case OP_MEMMOVE: {
		size_t soff = (size_t)op->c * 4093 % size;
		if (len > size - soff)
			len = size - soff;
		fprintf(T, " [src=%zu len=%zu]", soff, len);
		ret = CALL(get_memmove_fn)(ms->m)(base + off, base + soff, len,
			op->flags);
		break;
	}
	case OP_MEMSET:
		ret = CALL(get_memset_fn)(ms->m)(base + off, op->c, len,
			op->flags);
		break;
	case OP_PERSIST:
		if (op->b)
			CALL(get_flush_fn)(ms->m)(base + off, len);
		else
			CALL(get_persist_fn)(ms->m)(base + off, len);
		CALL(get_drain_fn)(ms->m)();
		ret = base + off;
		break;
	}
	fprintf(T, " ret=%s", ret == base + off ? "dest" : "other");
	MSUM_T(base, size);
}

static void
exec_deep_flush(const struct op *op)
{
	struct mstate *ms = &maps[op->a];
	if (!ms->m) {
		fprintf(T, " no map");
		return;
	}
	/* the range may run outside the map: that is the point */
	char *base = CALL(map_get_address)(ms->m);
	out_rc(CALL(deep_flush)(ms->m, base + (op->v % (2 * MiB)) -
		(op->c ? 4096 : 0), op->w));
}

int
fuzz_exec(const char *lib, const struct op *ops, int n, const char *dir,
	const char *regdir, int out)
{
	T = fdopen(out, "w");
	if (!T)
		return 2;
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(T, "HARNESS cannot load %s: %s\n", lib, dlerror());
		fclose(T);
		return 2;
	}
#define X(name) \
	*(void **)&P.name = dlsym(h, "pmem2_" #name); \
	if (!P.name) { \
		fprintf(T, "HARNESS no symbol pmem2_" #name "\n"); \
		fclose(T); \
		return 2; \
	}
	FUZZ_FNS(X)
#undef X
	for (int i = 0; i < NFILES; i++)
		if (open_file(i, dir, regdir)) {
			fprintf(T, "HARNESS cannot create file %d\n", i);
			fclose(T);
			return 2;
		}
	for (int i = 0; i < NCFG; i++)
		cfg_rsv[i] = -1;
	for (int i = 0; i < NMAP; i++)
		maps[i].rsv = -1;
	for (int i = 0; i < n; i++) {
		char desc[256];
		fuzz_fmt(desc, sizeof(desc), &ops[i]);
		fprintf(T, "%s:", desc);
		/* the line is flushed before the call: a crash names its call */
		fflush(T);
		const struct op *op = &ops[i];
		switch (op->kind) {
		case OP_SRC_FD: case OP_SRC_ANON: case OP_SRC_DELETE:
		case OP_SRC_INFO: case OP_MCSAFE_READ: case OP_MCSAFE_WRITE:
		case OP_BADBLOCKS:
			if (op->kind > OP_SRC_DELETE && !srcs[op->a] &&
					op->kind != OP_SRC_INFO) {
				fprintf(T, " no source");
				break;
			}
			if (op->kind == OP_SRC_INFO && !srcs[op->a]) {
				fprintf(T, " no source");
				break;
			}
			exec_src(op, dir);
			break;
		case OP_CFG_NEW: case OP_CFG_DELETE: case OP_CFG_OFFSET:
		case OP_CFG_LENGTH: case OP_CFG_GRAN: case OP_CFG_SHARING:
		case OP_CFG_PROT: case OP_CFG_RSV:
			exec_cfg(op);
			break;
		case OP_RSV_NEW: case OP_RSV_DELETE: case OP_RSV_EXTEND:
		case OP_RSV_SHRINK:
			exec_rsv(op);
			break;
		case OP_MAP_NEW: case OP_MAP_DELETE: case OP_MAP_SUM:
			exec_map(op);
			break;
		case OP_MAP_EXISTING:
			exec_existing(op);
			break;
		case OP_MAP_FIND: case OP_MAP_WALK: case OP_MAP_NEIGHBOURS:
			exec_find(op);
			break;
		case OP_MEMCPY: case OP_MEMMOVE: case OP_MEMSET:
		case OP_PERSIST:
			exec_mem(op);
			break;
		case OP_DEEP_FLUSH:
			exec_deep_flush(op);
			break;
		case OP_FILE_SUM:
			file_sum(op->a);
			break;
		}
		fprintf(T, "\n");
	}
	/* the end state: every file's bytes, as the kernel has them */
	fprintf(T, "end:");
	for (int i = 0; i < NFILES; i++)
		file_sum(i);
	fprintf(T, "\n#covered %llx\n", (unsigned long long)covered);
	fclose(T);
	return 0;
}
