/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz.h -- the differential fuzzer's call sequences, shared by its generator/driver and its executor */

#ifndef FUZZ_H
#define FUZZ_H 1

#include <stddef.h>
#include <stdint.h>

/* slots the sequence's calls refer to (by index, never by pointer) */
#define NFILES 4	/* f0 tmpfs 64K, f1 regular dir 64K+100, f2 tmpfs 1M, f3 tmpfs 64K read-only fd */
#define NSRC 4
#define NCFG 3
#define NRSV 3
#define NMAP 6

/* the operations; the executor prints one transcript line per op */
enum op_kind {
	OP_SRC_FD,	/* a=src slot, b=fd kind (enum fd_kind), c=file */
	OP_SRC_ANON,	/* a=src slot, v=size */
	OP_SRC_DELETE,	/* a=src slot */
	OP_SRC_INFO,	/* a=src slot: size, alignment, get_fd, numa, usc, id */
	OP_MCSAFE_READ,	/* a=src slot, v=off, w=len */
	OP_MCSAFE_WRITE, /* a=src slot, v=off, w=len, c=pattern */
	OP_BADBLOCKS,	/* a=src slot: context_new, next, delete */
	OP_CFG_NEW,	/* a=cfg slot, b=granularity to set or -1 */
	OP_CFG_DELETE,	/* a=cfg slot */
	OP_CFG_OFFSET,	/* a=cfg slot, v=offset */
	OP_CFG_LENGTH,	/* a=cfg slot, v=length */
	OP_CFG_GRAN,	/* a=cfg slot, b=granularity (may be invalid) */
	OP_CFG_SHARING,	/* a=cfg slot, b=sharing (may be invalid) */
	OP_CFG_PROT,	/* a=cfg slot, b=protection bits */
	OP_CFG_RSV,	/* a=cfg slot, b=rsv slot or -1 (NULL), v=offset */
	OP_RSV_NEW,	/* a=rsv slot, v=size, b=address kind (enum addr_kind), c=rsv slot it refers to, w=offset */
	OP_RSV_DELETE,	/* a=rsv slot */
	OP_RSV_EXTEND,	/* a=rsv slot, v=size */
	OP_RSV_SHRINK,	/* a=rsv slot, v=offset, w=size */
	OP_MAP_NEW,	/* a=map slot, b=cfg slot, c=src slot */
	OP_MAP_DELETE,	/* a=map slot */
	OP_MAP_FIND,	/* a=rsv slot, v=offset, w=length */
	OP_MAP_WALK,	/* a=rsv slot: find_first/last, then next/prev over all */
	OP_MAP_NEIGHBOURS, /* a=map slot: find_next/prev of that mapping in its reservation */
	OP_MEMCPY,	/* a=map slot, v=off, w=len, b=flags, c=pattern */
	OP_MEMMOVE,	/* a=map slot, v=dst off, w=len, b=flags, c=src off (in the map) */
	OP_MEMSET,	/* a=map slot, v=off, w=len, b=flags, c=byte */
	OP_PERSIST,	/* a=map slot, v=off, w=len, b=0 persist, 1 flush+drain */
	OP_DEEP_FLUSH,	/* a=map slot, v=off, w=len (may leave the map) */
	OP_MAP_SUM,	/* a=map slot: checksum of the mapped bytes */
	OP_FILE_SUM,	/* a=file */
	OP_MAP_EXISTING, /* a=map slot, c=src slot, v=length, b=0 BYTE, 1 CACHE_LINE, 2 over another map */
	OP_NKINDS
};

enum fd_kind {
	FD_FILE,	/* files[c] */
	FD_CLOSED,	/* a descriptor that was just closed */
	FD_MINUS1,
	FD_DIR,		/* the data directory */
	FD_DEVNULL,	/* /dev/null: a character device */
	FD_PIPE,
	FD_SOCKET,
	FD_WRONLY,	/* files[c] opened O_WRONLY */
	FD_NKINDS
};

enum addr_kind {
	ADDR_NULL,
	ADDR_INSIDE,	/* inside reservation slot c, at offset w (occupied) */
	ADDR_FRESH,	/* a 2 MiB-aligned address that was free a moment ago, plus w */
	ADDR_NKINDS
};

struct op {
	uint8_t kind;
	int8_t a, b, c;
	uint32_t flags;
	uint64_t v, w;
};

/* fuzz_exec -- run ops[0..n) against the library 'lib' in this (child) process; transcript to 'out' */
int fuzz_exec(const char *lib, const struct op *ops, int n, const char *dir,
	const char *regdir, int out);

/* fuzz_fmt -- a readable description of one call (for reproducers) */
void fuzz_fmt(char *buf, size_t len, const struct op *op);

/* marker of an op whose outcome is one of accepted.txt's deliberate divergences */
#define ACC_MARK " | "

#endif /* FUZZ_H */
