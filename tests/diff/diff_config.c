/* SPDX-License-Identifier: BSD-3-Clause */
/* diff_config.c -- differential transcript of config setters and sources */

#include "diff_common.h"

#include <sys/socket.h>

/* config_setters -- every setter with valid and invalid values */
static void
config_setters(void)
{
	SECTION("config setters");
	struct pmem2_config *cfg = SENTINEL;
	L("config_new()");
	RC(pmem2_config_new(&cfg));
	PTR("cfg", cfg);
	E();

	static const int grans[] = { PMEM2_GRANULARITY_BYTE,
		PMEM2_GRANULARITY_CACHE_LINE, PMEM2_GRANULARITY_PAGE, 3, 4,
		-1, 100, INT32_MAX };
	for (size_t i = 0; i < sizeof(grans) / sizeof(grans[0]); i++) {
		L("set_required_store_granularity(%d)", grans[i]);
		RC(pmem2_config_set_required_store_granularity(cfg,
			(enum pmem2_granularity)grans[i]));
		E();
	}

	static const size_t offs[] = { 0, 1, 4096, 4097, 2 * MiB,
		(size_t)INT64_MAX - 4095, (size_t)INT64_MAX,
		(size_t)INT64_MAX + 1, SIZE_MAX - 4095, SIZE_MAX };
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		L("set_offset(%zu)", offs[i]);
		RC(pmem2_config_set_offset(cfg, offs[i]));
		E();
	}
	L("set_offset(0) [reset]");
	RC(pmem2_config_set_offset(cfg, 0));
	E();

	static const size_t lens[] = { 0, 1, 4095, 4096, 2 * MiB,
		(size_t)INT64_MAX, (size_t)INT64_MAX + 1, SIZE_MAX };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		L("set_length(%zu)", lens[i]);
		RC(pmem2_config_set_length(cfg, lens[i]));
		E();
	}

	static const int shs[] = { PMEM2_SHARED, PMEM2_PRIVATE, 2, 3, -1,
		1000 };
	for (size_t i = 0; i < sizeof(shs) / sizeof(shs[0]); i++) {
		L("set_sharing(%d)", shs[i]);
		RC(pmem2_config_set_sharing(cfg,
			(enum pmem2_sharing_type)shs[i]));
		E();
	}

	static const unsigned prots[] = { PMEM2_PROT_NONE, PMEM2_PROT_READ,
		PMEM2_PROT_WRITE, PMEM2_PROT_EXEC,
		PMEM2_PROT_READ | PMEM2_PROT_WRITE,
		PMEM2_PROT_READ | PMEM2_PROT_EXEC,
		PMEM2_PROT_READ | PMEM2_PROT_WRITE | PMEM2_PROT_EXEC,
		PMEM2_PROT_WRITE | PMEM2_PROT_EXEC,
		1, 2, 4, 7, PROT_READ | PROT_WRITE, 1U << 28,
		PMEM2_PROT_READ | 1U, PMEM2_PROT_READ | (1U << 28),
		0xffffffffU };
	for (size_t i = 0; i < sizeof(prots) / sizeof(prots[0]); i++) {
		L("set_protection(0x%x)", prots[i]);
		RC(pmem2_config_set_protection(cfg, prots[i]));
		E();
	}

	struct pmem2_vm_reservation *rsv;
	if (pmem2_vm_reservation_new(&rsv, NULL, 4 * MiB))
		die("vm_reservation_new");
	static const size_t roffs[] = { 0, 4096, 1, 4 * MiB, 8 * MiB,
		SIZE_MAX };
	for (size_t i = 0; i < sizeof(roffs) / sizeof(roffs[0]); i++) {
		L("set_vm_reservation(rsv4M, %zu)", roffs[i]);
		RC(pmem2_config_set_vm_reservation(cfg, rsv, roffs[i]));
		E();
	}
	L("set_vm_reservation(NULL, 0)");
	RC(pmem2_config_set_vm_reservation(cfg, NULL, 0));
	E();
	L("set_vm_reservation(NULL, 4096)");
	RC(pmem2_config_set_vm_reservation(cfg, NULL, 4096));
	E();
	L("vm_reservation_delete(rsv4M)");
	RC(pmem2_vm_reservation_delete(&rsv));
	PTR("rsv", rsv);
	E();

	L("config_delete()");
	RC(pmem2_config_delete(&cfg));
	PTR("cfg", cfg);
	E();
	L("config_delete(&NULL)");
	RC(pmem2_config_delete(&cfg));
	PTR("cfg", cfg);
	E();
}

/* show_source -- create a source from fd and query it */
static void
show_source(const char *what, int fd)
{
	struct pmem2_source *src = SENTINEL;
	L("source_from_fd(%s)", what);
	int rc = RC(pmem2_source_from_fd(&src, fd));
	PTR("src", src);
	E();
	if (rc)
		return;

	size_t size = 12345;
	L("  source_size(%s)", what);
	rc = RC(pmem2_source_size(src, &size));
	if (!rc)
		L(" size=%zu", size);
	E();

	size_t al = 12345;
	L("  source_alignment(%s)", what);
	rc = RC(pmem2_source_alignment(src, &al));
	if (!rc)
		L(" alignment=%zu", al);
	E();

	int gfd = -12345;
	L("  source_get_fd(%s)", what);
	rc = RC(pmem2_source_get_fd(src, &gfd));
	if (!rc)
		L(" fd_same=%s", gfd == fd ? "yes" : "no");
	else
		L(" fd=%d", gfd);
	E();

	L("  source_delete(%s)", what);
	RC(pmem2_source_delete(&src));
	PTR("src", src);
	E();
}

static void
sources(void)
{
	SECTION("sources from fd");
	char path[PATH_MAX];
	int fd;

	fd = mkfile(64 * KiB, 1, O_RDWR, NULL);
	show_source("regular 64K O_RDWR", fd);
	close(fd);

	fd = mkfile(64 * KiB + 100, 1, O_RDWR, NULL);
	show_source("regular 64K+100 O_RDWR", fd);
	close(fd);

	fd = mkfile(64 * KiB, 1, O_RDONLY, NULL);
	show_source("regular O_RDONLY", fd);
	close(fd);

	fd = mkfile(64 * KiB, 1, O_WRONLY, NULL);
	show_source("regular O_WRONLY", fd);
	close(fd);

	fd = mkfile(0, 0, O_RDWR, NULL);
	show_source("regular empty", fd);
	close(fd);

	fd = mkfile(4096, 1, O_RDWR, path);
	int pfd = open(path, O_PATH);
	if (pfd < 0)
		die("O_PATH: %s", strerror(errno));
	show_source("regular O_PATH", pfd);
	close(pfd);
	int afd = open(path, O_RDWR | O_APPEND);
	if (afd < 0)
		die("O_APPEND: %s", strerror(errno));
	show_source("regular O_RDWR|O_APPEND", afd);
	close(afd);
	unlink(path);
	close(fd);

	fd = open(diff_tmpdir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		die("open dir: %s", strerror(errno));
	show_source("directory", fd);
	close(fd);

	fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		die("open /dev/null: %s", strerror(errno));
	show_source("/dev/null", fd);
	close(fd);

	fd = open("/dev/zero", O_RDWR);
	if (fd < 0)
		die("open /dev/zero: %s", strerror(errno));
	show_source("/dev/zero", fd);
	close(fd);

	int p[2];
	if (pipe(p))
		die("pipe: %s", strerror(errno));
	show_source("pipe read end", p[0]);
	show_source("pipe write end", p[1]);
	close(p[0]);
	close(p[1]);

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("socketpair: %s", strerror(errno));
	show_source("socket", sv[0]);
	close(sv[0]);
	close(sv[1]);

	fd = mkfile(4096, 1, O_RDWR, NULL);
	close(fd);
	show_source("closed fd", fd);
	show_source("-1", -1);
	show_source("-2", -2);
	show_source("INT_MAX", INT_MAX);
}

static void
anon_sources(void)
{
	SECTION("anonymous sources");
	static const size_t sizes[] = { 0, 1, 4096, 4097, 2 * MiB,
		(size_t)1 << 40 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct pmem2_source *src = SENTINEL;
		L("source_from_anon(%zu)", sizes[i]);
		int rc = RC(pmem2_source_from_anon(&src, sizes[i]));
		PTR("src", src);
		E();
		if (rc)
			continue;
		size_t sz = 12345;
		L("  source_size");
		rc = RC(pmem2_source_size(src, &sz));
		if (!rc)
			L(" size=%zu", sz);
		E();
		size_t al = 12345;
		L("  source_alignment");
		rc = RC(pmem2_source_alignment(src, &al));
		if (!rc)
			L(" alignment=%zu", al);
		E();
		int gfd = -12345;
		L("  source_get_fd(anon)");
		RC(pmem2_source_get_fd(src, &gfd));
		L(" fd=%s", gfd == -12345 ? "untouched" :
			(gfd == -1 ? "-1" : "other"));
		E();
		L("  source_delete");
		RC(pmem2_source_delete(&src));
		PTR("src", src);
		E();
	}
	struct pmem2_source *nsrc = NULL;
	L("source_delete(&NULL)");
	RC(pmem2_source_delete(&nsrc));
	PTR("src", nsrc);
	E();
}

/* mcsafe -- pread/pwrite_mcsafe on file and anonymous sources */
static void
mcsafe(void)
{
	SECTION("pread/pwrite_mcsafe");
	int fd = mkfile(16 * KiB, 3, O_RDWR, NULL);
	struct pmem2_source *src;
	if (pmem2_source_from_fd(&src, fd))
		die("source_from_fd");
	unsigned char buf[8192];
	static const size_t cases[][2] = { { 0, 100 }, { 4000, 200 },
		{ 16 * KiB - 10, 10 }, { 16 * KiB - 10, 20 }, { 16 * KiB, 1 },
		{ 32 * KiB, 8 }, { 0, 0 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 0xee, sizeof(buf));
		L("source_pread_mcsafe(off=%zu,len=%zu)", cases[i][0],
			cases[i][1]);
		RC(pmem2_source_pread_mcsafe(src, buf, cases[i][1],
			cases[i][0]));
		MSUM("buf", buf, sizeof(buf));
		E();
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t j = 0; j < sizeof(buf); j++)
			buf[j] = (unsigned char)(j * 7 + i);
		L("source_pwrite_mcsafe(off=%zu,len=%zu)", cases[i][0],
			cases[i][1]);
		RC(pmem2_source_pwrite_mcsafe(src, buf, cases[i][1],
			cases[i][0]));
		FSUM("file", fd);
		E();
	}
	pmem2_source_delete(&src);
	close(fd);

	fd = mkfile(16 * KiB, 3, O_RDONLY, NULL);
	if (pmem2_source_from_fd(&src, fd))
		die("source_from_fd");
	L("source_pwrite_mcsafe(O_RDONLY,off=0,len=10)");
	RC(pmem2_source_pwrite_mcsafe(src, buf, 10, 0));
	FSUM("file", fd);
	E();
	pmem2_source_delete(&src);
	close(fd);

	if (pmem2_source_from_anon(&src, 16 * KiB))
		die("source_from_anon");
	L("source_pread_mcsafe(anon,off=0,len=10)");
	RC(pmem2_source_pread_mcsafe(src, buf, 10, 0));
	E();
	L("source_pwrite_mcsafe(anon,off=0,len=10)");
	RC(pmem2_source_pwrite_mcsafe(src, buf, 10, 0));
	E();
	pmem2_source_delete(&src);
}

int
main(void)
{
	diff_init();
	config_setters();
	sources();
	anon_sources();
	mcsafe();
	printf("== end\n");
	return 0;
}
