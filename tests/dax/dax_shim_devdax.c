/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dax_shim_devdax.c -- msync of a device DAX mapping, without and with
 * libpmemshim.so.  The kernel refuses it (EINVAL: device DAX has no
 * msync); under the shim it must succeed, served in user space.
 *
 * Run without LD_PRELOAD: checks the kernel's EINVAL, then runs itself
 * again ("shim" mode) with LD_PRELOAD=$DAX_SHIM_LIB and PMEMSHIM_STATS=file
 * and no PMEMSHIM_DAX_PATHS, so only real detection (the character device
 * is device DAX) can take the mapping over.  The child checks the shim's
 * counters; the parent checks the stats report the child left, and reads
 * back through a new mapping what the child wrote.  This for $DAX_DEV
 * (2 MiB alignment) and, when the guest has one, $DAX_DEV_1G (1 GiB
 * pages, which a page-table walk such as mincore's would break up and then
 * call absent: the shim must flush them without asking).
 */
#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "dax_util.h"
#include "libpmem2.h"

#define STATS_FILE "shim-devdax.stats"

static unsigned long (*Counter)(const char *);

static unsigned long
ctr(const char *name)
{
	return Counter ? Counter(name) : (unsigned long)-1;
}

/* map_dev -- a shared writable mapping of LEN bytes of the device */
static char *
map_dev(const char *dev, size_t len, int *fdp)
{
	int fd = open(dev, O_RDWR);
	if (fd < 0)
		dax_die("open %s", dev);
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		dax_die("mmap %s, %zu bytes", dev, len);
	*fdp = fd;
	return p;
}

/*
 * stride -- the child writes one page in each stride bytes: every page of
 * a 2 MiB device, one per 2 MiB of a 1 GiB one (512 pages either way: the
 * guest's NVDIMM file is sparse, and a store anywhere in a 1 GiB page maps
 * all of it)
 */
static size_t
stride(size_t len)
{
	return len / 512 > 4096 ? len / 512 : 4096;
}

/* pattern -- the byte the child writes at offset off */
static char
pattern(size_t off)
{
	return (char)((off / 4096) * 31 + 7);
}

/*
 * moved -- mremap the len bytes at p to another len-aligned address (a
 * device DAX mapping must stay aligned to its device); NULL with errno
 */
static char *
moved(char *p, size_t len)
{
	char *room = mmap(NULL, 3 * len, PROT_NONE, MAP_PRIVATE |
			MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (room == MAP_FAILED)
		return NULL;
	char *to = (char *)(((uintptr_t)room + len - 1) & ~(uintptr_t)(len - 1));
	if (to == p)
		to += len;
	char *q = mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	int e = errno;
	/* what is left of the room (mremap replaced its part) */
	if (to > room)
		munmap(room, (size_t)(to - room));
	munmap(to + len, (size_t)(room + 3 * len - (to + len)));
	errno = e;
	return q == MAP_FAILED ? NULL : q;
}

/* the shim run: msync must succeed and be counted as user space */
static int
child(const char *dev, size_t len)
{
	Counter = (unsigned long (*)(const char *))dlsym(RTLD_DEFAULT,
			"pmemshim_counter");
	int (*gran)(const void *) = (int (*)(const void *))dlsym(RTLD_DEFAULT,
			"pmemshim_mapping_granularity");
	CHECK(Counter && gran, "the shim is preloaded");
	if (!Counter || !gran)
		return dax_result();
	CHECK(!getenv("PMEMSHIM_DAX_PATHS"), "PMEMSHIM_DAX_PATHS is unset");
	unsigned long taken = ctr("maps_taken_over");
	unsigned long real = ctr("maps_taken_real_dax");
	int fd;
	char *p = map_dev(dev, len, &fd);
	CHECK(ctr("maps_taken_over") == taken + 1 &&
		ctr("maps_taken_real_dax") == real + 1,
		"the device DAX mapping was taken over as real DAX (%lu -> "
		"%lu, real %lu -> %lu)", taken, ctr("maps_taken_over"), real,
		ctr("maps_taken_real_dax"));
	/* the core's detection: BYTE on eADR (every region's persistence
	 * domain is cpu_cache), else CACHE_LINE */
	char dom[64];
	int want = dax_all_regions_cpu_cache(dom, sizeof(dom)) == 1 ?
		PMEM2_GRANULARITY_BYTE : PMEM2_GRANULARITY_CACHE_LINE;
	CHECK(gran(p) == want && gran(p + len - 1) == want,
		"registered with granularity %d, %d expected (persistence "
		"domain \"%s\")", gran(p), want, dom);
	for (size_t off = 0; off < len; off += stride(len))
		p[off] = pattern(off);
	unsigned long user = ctr("msync_user_space");
	unsigned long kern = ctr("msync_passed_on");
	unsigned long fl = ctr("msync_bytes_flushed");
	int ret = msync(p, len, MS_SYNC);
	CHECK(ret == 0, "msync(MS_SYNC) of %zu bytes of %s under the shim "
		"returns %d (%s)", len, dev, ret, ret ? strerror(errno) : "ok");
	CHECK(ctr("msync_user_space") == user + 1 &&
		ctr("msync_passed_on") == kern,
		"served in user space (user %lu -> %lu, kernel %lu -> %lu)",
		user, ctr("msync_user_space"), kern, ctr("msync_passed_on"));
	/* every page written, or every 1 GiB page written to, must have
	 * been flushed (or, at BYTE granularity, counted as durable) */
	CHECK(ctr("msync_bytes_flushed") - fl == len,
		"%lu bytes flushed of %zu stored to",
		ctr("msync_bytes_flushed") - fl, len);
	ret = msync(p, len, MS_ASYNC);
	CHECK(ret == 0, "msync(MS_ASYNC) under the shim returns %d", ret);
	/* moved by mremap, the mapping keeps its way of being flushed (one
	 * with 1 GiB pages must still not be walked) */
	char *q = moved(p, len);
	CHECK(q != NULL, "mremap to a new %zu-aligned address: %s", len,
		q ? "ok" : strerror(errno));
	if (q) {
		p = q;
		for (size_t off = 0; off < len; off += stride(len))
			p[off] = pattern(off);
		fl = ctr("msync_bytes_flushed");
		ret = msync(p, len, MS_SYNC);
		CHECK(ret == 0 && ctr("msync_bytes_flushed") - fl == len,
			"msync after the move: %d, %lu bytes flushed of %zu "
			"stored to", ret, ctr("msync_bytes_flushed") - fl, len);
	}
	/* munmap flushes the range first (the kernel never would: shim
	 * mappings are MAP_SYNC): all of it, which the stores mapped */
	fl = ctr("msync_bytes_flushed");
	unsigned long uf = ctr("unmap_flushes");
	CHECK(munmap(p, len) == 0, "munmap");
	CHECK(ctr("unmap_flushes") == uf + 1 &&
		ctr("msync_bytes_flushed") - fl == len,
		"munmap flushed %lu bytes of %zu", ctr("msync_bytes_flushed") -
		fl, len);
	close(fd);
	return dax_result();
}

/* stat_value -- counter NAME from the report in STATS_FILE, or -1 */
static long
stat_value(const char *name)
{
	FILE *f = fopen(STATS_FILE, "r");
	if (!f)
		return -1;
	char line[512], key[128];
	long v = -1, n;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "pmemshim: %127s %ld", key, &n) == 2 &&
				strcmp(key, name) == 0)
			v = n;
	fclose(f);
	return v;
}

/* device_len -- the alignment of device DAX dev: the smallest mapping */
static size_t
device_len(const char *dev)
{
	int fd = open(dev, O_RDWR);
	if (fd < 0)
		dax_die("open %s", dev);
	uint64_t align;
	if (dax_devdax_attr(fd, "align", &align) || !align)
		dax_die("no align for %s in sysfs", dev);
	close(fd);
	return (size_t)align;
}

/* one_device -- the kernel's msync of dev, then the shim's in a child */
static void
one_device(const char *self, const char *dev, const char *shim)
{
	size_t len = device_len(dev);
	printf("-- %s, alignment %zu KiB\n", dev, len >> 10);

	/* the kernel: msync of device DAX fails with EINVAL */
	int fd;
	char *p = map_dev(dev, len, &fd);
	p[0] = 1;
	errno = 0;
	int ret = msync(p, len, MS_SYNC);
	CHECK(ret == -1 && errno == EINVAL, "kernel msync of %s: %d (%s), "
		"EINVAL expected", dev, ret, strerror(errno));
	munmap(p, len);
	close(fd);

	/* the same under the shim, in a child */
	unlink(STATS_FILE);
	pid_t pid = fork();
	if (pid < 0)
		dax_die("fork");
	if (pid == 0) {
		unsetenv("PMEMSHIM_DAX_PATHS");
		unsetenv("PMEM2_FORCE_GRANULARITY");
		setenv("LD_PRELOAD", shim, 1);
		setenv("PMEMSHIM_STATS", STATS_FILE, 1);
		execl(self, self, "shim", dev, (char *)NULL);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		dax_die("waitpid");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"the run under the shim passed (status 0x%x)", st);

	/* its stats report, as a user would read it */
	FILE *f = fopen(STATS_FILE, "r");
	char line[512];
	while (f && fgets(line, sizeof(line), f))
		printf("  %s", line);
	if (f)
		fclose(f);
	CHECK(stat_value("maps_taken_over") == 1 &&
		stat_value("maps_taken_real_dax") == 1, "report: "
		"maps_taken_over %ld, maps_taken_real_dax %ld",
		stat_value("maps_taken_over"),
		stat_value("maps_taken_real_dax"));
	CHECK(stat_value("msync_user_space") == 3, "report: msync_user_space "
		"%ld (MS_SYNC, MS_ASYNC, MS_SYNC after mremap)",
		stat_value("msync_user_space"));
	CHECK(stat_value("msync_passed_on") == 0 &&
		stat_value("msync_mixed") == 0, "report: msync_passed_on %ld, "
		"msync_mixed %ld", stat_value("msync_passed_on"),
		stat_value("msync_mixed"));
	/* the 3 msyncs and munmap: each the whole device */
	CHECK(stat_value("msync_bytes_flushed") == (long)(4 * len),
		"report: msync_bytes_flushed %ld",
		stat_value("msync_bytes_flushed"));

	/* what the child wrote is on the device */
	p = map_dev(dev, len, &fd);
	size_t bad = 0;
	for (size_t off = 0; off < len; off += stride(len))
		bad += p[off] != pattern(off);
	CHECK(bad == 0, "%zu of %zu pages read back wrong", bad,
		len / stride(len));
	munmap(p, len);
	close(fd);
}

int
main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "shim") == 0)
		return child(argv[2], device_len(argv[2]));
	const char *dev = dax_env("DAX_DEV");
	const char *dev1g = dax_env("DAX_DEV_1G");
	const char *shim = dax_env("DAX_SHIM_LIB");
	if (!dev)
		dax_skip("DAX_DEV not set (no device DAX in this guest)");
	if (!shim)
		dax_skip("DAX_SHIM_LIB not set (no libpmemshim.so in the "
			"guest)");
	CHECK(!dlsym(RTLD_DEFAULT, "pmemshim_counter"),
		"the first run is without the shim");
	one_device(argv[0], dev, shim);
	/* 1 GiB pages: a page-table walk (mincore) would split the mapping
	 * and then call its pages absent */
	if (dev1g)
		one_device(argv[0], dev1g, shim);
	else
		printf("no DAX_DEV_1G: device DAX with 1 GiB pages not tried\n");
	return dax_result();
}
