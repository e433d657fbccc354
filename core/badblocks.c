/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * badblocks.c -- pmem2_badblock_*: the bad blocks of a source, read from
 * sysfs when the context is made, and clearing them.
 *
 * fsdax: the block device's badblocks (512-byte sectors from the start of
 * the device), mapped through the file's extents to file offsets.  Device
 * DAX: the region's badblocks, clipped to the namespace.  A source that is
 * not on persistent memory gets an empty context (what PMDK does), but a
 * device whose list cannot be read is an error, and a kernel that exposes
 * no list is PMEM2_E_NOSUPP -- "unsupported" is never "no bad blocks"
 * (pmdk#5277).
 */
#include <fcntl.h>
#include <linux/ndctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "extent.h"
#include "region.h"
#include "source.h"

#define SECTOR 512ULL
#define BB_LIST_MAX (64 * 1024)	/* sysfs gives at most a page */

struct pmem2_badblock_context {
	int fd;
	enum pmem2_file_type ftype;
	struct pmem2_badblock *bbs;	/* in source offsets, in order */
	size_t count, next;
	/* device DAX clearing */
	int bus;			/* N of ndbusN, -1: not found */
	unsigned long long ns_res;	/* physical address of offset 0 */
};

struct range { unsigned long long beg, len; };

/*
 * read_list -- parse "<dir>/badblocks" ("sector count" per line) into
 * byte ranges.  NOSUPP when the kernel has no such attribute.
 */
static int
read_list(const char *dir, struct range **out, size_t *count)
{
	int ret;
	char *buf = pmem2_malloc(BB_LIST_MAX, &ret);
	if (!buf)
		return ret;
	int n = region_read_attr(dir, "badblocks", buf, BB_LIST_MAX, 1);
	if (n == -ENOENT) {
		ERR("%s has no badblocks attribute: this kernel does not "
			"report bad blocks for the device", dir);
		free(buf);
		return PMEM2_E_NOSUPP;
	}
	if (n < 0) {
		region_read_attr(dir, "badblocks", buf, BB_LIST_MAX, 0);
		free(buf);
		return n;
	}
	size_t lines = 1;
	for (char *p = buf; *p; p++)
		lines += *p == '\n';
	struct range *r = pmem2_zalloc(lines * sizeof(*r), &ret);
	if (!r) {
		free(buf);
		return ret;
	}
	size_t k = 0;
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		unsigned long long sec, len;
		char extra;
		if (sscanf(line, "%llu %llu %c", &sec, &len, &extra) != 2 ||
				len == 0) {
			ERR("unexpected line \"%.30s\" in %s/badblocks "
				"(\"sector count\" expected)", line, dir);
			free(r);
			free(buf);
			return PMEM2_E_INVALID_DEV_FORMAT;
		}
		r[k].beg = sec * SECTOR;
		r[k].len = len * SECTOR;
		k++;
	}
	free(buf);
	*out = r;
	*count = k;
	return 0;
}

/* push -- append one bad block to the context's list */
static int
push(struct pmem2_badblock_context *c, size_t *cap, unsigned long long off,
	unsigned long long len)
{
	if (c->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		int ret;
		struct pmem2_badblock *n = pmem2_malloc(ncap * sizeof(*n), &ret);
		if (!n)
			return ret;
		if (c->count)
			memcpy(n, c->bbs, c->count * sizeof(*n));
		free(c->bbs);
		c->bbs = n;
		*cap = ncap;
	}
	c->bbs[c->count].offset = off;
	c->bbs[c->count].length = len;
	c->count++;
	return 0;
}

/*
 * bb_fsdax -- device bad blocks that fall in the file's extents, as
 * block-aligned file ranges (one per bad block and extent it touches).
 */
static int
bb_fsdax(struct pmem2_badblock_context *c, const struct region_loc *loc)
{
	struct range *r = NULL;
	size_t n = 0, cap = 0;
	int ret = read_list(loc->bdev, &r, &n);
	if (ret || n == 0)
		goto out;
	struct extents *x;
	ret = extents_get(c->fd, &x);
	if (ret)
		goto out;
	for (size_t b = 0; b < n && !ret; b++) {
		/* device offsets -> offsets on the partition */
		unsigned long long beg = r[b].beg, end = beg + r[b].len;
		if (end <= loc->part_start)
			continue;
		beg = beg > loc->part_start ? beg - loc->part_start : 0;
		end -= loc->part_start;
		for (unsigned e = 0; e < x->count && !ret; e++) {
			unsigned long long p = x->ext[e].physical;
			unsigned long long pe = p + x->ext[e].length;
			if (end <= p || pe <= beg)
				continue;
			unsigned long long s = beg > p ? beg : p;
			unsigned long long t = end < pe ? end : pe;
			unsigned long long off = x->ext[e].logical + (s - p);
			unsigned long long len = t - s;
			unsigned long long mis = off & (x->blksize - 1);
			off -= mis;
			len = ALIGN_UP(len + mis, x->blksize);
			ret = push(c, &cap, off, len);
		}
	}
	free(x);
out:
	free(r);
	return ret;
}

/* bb_devdax -- region bad blocks clipped to the device DAX namespace */
static int
bb_devdax(struct pmem2_badblock_context *c, const struct region_loc *loc)
{
	unsigned long long ns_res, ns_size, rg_res;
	if (region_read_u64(loc->ndns, "resource", &ns_res) ||
			region_read_u64(loc->ndns, "size", &ns_size)) {
		ERR("cannot read the offset and size of namespace %s",
			loc->ndns);
		return PMEM2_E_CANNOT_READ_BOUNDS;
	}
	int ret = region_read_u64(loc->region, "resource", &rg_res);
	if (ret)
		return ret;
	if (ns_res < rg_res) {
		ERR("namespace %s starts (0x%llx) before its region (0x%llx)",
			loc->ndns, ns_res, rg_res);
		return PMEM2_E_CANNOT_READ_BOUNDS;
	}
	c->ns_res = ns_res;
	unsigned long long nb = ns_res - rg_res, ne = nb + ns_size;

	struct range *r = NULL;
	size_t n = 0, cap = 0;
	ret = read_list(loc->region, &r, &n);
	for (size_t b = 0; b < n && !ret; b++) {
		unsigned long long s = r[b].beg, t = s + r[b].len;
		if (t <= nb || ne <= s)
			continue;
		s = s > nb ? s : nb;
		t = t < ne ? t : ne;
		ret = push(c, &cap, s - nb, t - s);
	}
	free(r);
	return ret;
}

/* bus_of -- N of the "ndbusN" directory above the region, or -1 */
static int
bus_of(const char *region)
{
	const char *p = strstr(region, "/ndbus");
	return p ? atoi(p + 6) : -1;
}

PMEM2_API int
pmem2_badblock_context_new(struct pmem2_badblock_context **bbctx,
		const struct pmem2_source *src)
{
	core_init();
	errormsg_clear();
	if (src->type == PMEM2_SOURCE_ANON) {
		ERR("an anonymous source has no bad blocks to read: it is not "
			"backed by persistent memory");
		return PMEM2_E_NOSUPP;
	}
	*bbctx = NULL;

	struct region_loc loc;
	int found = region_find(src, &loc);
	if (found && found != PMEM2_E_DAX_REGION_NOT_FOUND)
		return found;

	int ret;
	struct pmem2_badblock_context *c = pmem2_zalloc(sizeof(*c), &ret);
	if (!c)
		return ret;
	c->fd = src->value.fd;
	c->ftype = src->value.ftype;
	c->bus = -1;
	if (found) {
		/* not on pmem: no bad blocks can be known, none reported */
		LOG(3, "no NVDIMM region: empty bad block context (%s)",
			pmem2_errormsg());
		errormsg_clear();
		*bbctx = c;
		return 0;
	}
	c->bus = bus_of(loc.region);
	ret = c->ftype == PMEM2_FTYPE_DEVDAX ? bb_devdax(c, &loc)
		: bb_fsdax(c, &loc);
	if (ret) {
		free(c->bbs);
		free(c);
		return ret;
	}
	LOG(3, "%zu bad block(s) in the source", c->count);
	*bbctx = c;
	return 0;
}

PMEM2_API void
pmem2_badblock_context_delete(struct pmem2_badblock_context **bbctx)
{
	errormsg_clear();
	if (!*bbctx)
		return;
	free((*bbctx)->bbs);
	free(*bbctx);
	*bbctx = NULL;
}

PMEM2_API int
pmem2_badblock_next(struct pmem2_badblock_context *bbctx,
		struct pmem2_badblock *bb)
{
	errormsg_clear();
	if (bbctx->next >= bbctx->count) {
		bb->offset = 0;
		bb->length = 0;
		ERR("no more bad blocks in this source (%zu found)",
			bbctx->count);
		return PMEM2_E_NO_BAD_BLOCK_FOUND;
	}
	*bb = bbctx->bbs[bbctx->next++];
	return 0;
}

/*
 * nd_cmd -- one ioctl on the bus device "/dev/ndctlN"; 0, or a negative
 * errno (the firmware status counts: non-zero is -EIO).
 */
static int
nd_cmd(int fd, unsigned long req, void *cmd, const char *what)
{
	if (ioctl(fd, req, cmd) < 0) {
		int e = errno;
		ERR_ERRNO(e, "%s failed on the NVDIMM bus", what);
		return -e;
	}
	return 0;
}

/* fw_status -- a command the firmware refused is an error too */
static int
fw_status(uint32_t status, const char *what)
{
	if (status & 0xffff) {
		ERR("%s failed on the NVDIMM bus: firmware status 0x%x", what,
			status);
		return -EIO;
	}
	return 0;
}

/*
 * clear_devdax -- ask the platform to clear poison in [addr, addr + len)
 * (ARS capabilities first: they give the clear unit), through the bus.
 */
static int
clear_devdax(const struct pmem2_badblock_context *c,
	const struct pmem2_badblock *bb)
{
	if (c->bus < 0) {
		ERR("the device DAX belongs to no NVDIMM bus: its bad blocks "
			"cannot be cleared");
		return PMEM2_E_DAX_REGION_NOT_FOUND;
	}
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/dev/ndctl%d", region_sysfs_root(),
		c->bus);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		ERR_ERRNO(e, "cannot open the NVDIMM bus device %s", path);
		return -e;
	}
	struct nd_cmd_ars_cap cap;
	memset(&cap, 0, sizeof(cap));
	cap.address = c->ns_res + bb->offset;
	cap.length = bb->length;
	int ret = nd_cmd(fd, ND_IOCTL_ARS_CAP, &cap, "ARS capabilities");
	if (ret == 0)
		ret = fw_status(cap.status, "ARS capabilities");
	if (ret)
		goto out;
	uint64_t unit = cap.clear_err_unit ? cap.clear_err_unit : 1;
	if (cap.address % unit || cap.length % unit) {
		ERR("bad block 0x%llx+%llu is not aligned to the platform's "
			"clear unit %llu", (unsigned long long)cap.address,
			(unsigned long long)cap.length,
			(unsigned long long)unit);
		ret = -EINVAL;
		goto out;
	}
	struct nd_cmd_clear_error clr;
	memset(&clr, 0, sizeof(clr));
	clr.address = cap.address;
	clr.length = cap.length;
	ret = nd_cmd(fd, ND_IOCTL_CLEAR_ERROR, &clr, "clearing the error");
	if (ret == 0)
		ret = fw_status(clr.status, "clearing the error");
	if (ret == 0 && clr.cleared < clr.length) {
		ERR("the platform cleared %llu of %llu bytes of the bad block",
			(unsigned long long)clr.cleared,
			(unsigned long long)clr.length);
		ret = -ENXIO;
	}
out:
	close(fd);
	return ret;
}

PMEM2_API int
pmem2_badblock_clear(struct pmem2_badblock_context *bbctx,
		const struct pmem2_badblock *bb)
{
	errormsg_clear();
	if (bb->offset > INT64_MAX) {
		ERR("bad block offset %zu is greater than INT64_MAX",
			bb->offset);
		return PMEM2_E_OFFSET_OUT_OF_RANGE;
	}
	if (bb->length > INT64_MAX) {
		ERR("bad block length %zu is greater than INT64_MAX",
			bb->length);
		return PMEM2_E_LENGTH_OUT_OF_RANGE;
	}
	if (bbctx->ftype == PMEM2_FTYPE_DEVDAX)
		return clear_devdax(bbctx, bb);

	/* a file: give the blocks back and take fresh, zeroed ones */
	off_t off = (off_t)bb->offset, len = (off_t)bb->length;
	if (fallocate(bbctx->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			off, len)) {
		int e = errno;
		ERR_ERRNO(e, "cannot deallocate the bad block %zu+%zu "
			"(fallocate punch hole)", bb->offset, bb->length);
		return -e;
	}
	if (fallocate(bbctx->fd, FALLOC_FL_KEEP_SIZE, off, len)) {
		int e = errno;
		ERR_ERRNO(e, "deallocated the bad block %zu+%zu but cannot "
			"allocate new blocks in its place (fallocate)",
			bb->offset, bb->length);
		return -e;
	}
	return 0;
}
