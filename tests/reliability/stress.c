/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stress.c -- many threads on shared reservations at once: mappers map a
 * file into random slots of two shared reservations, copy their own
 * pattern in, persist, check it and unmap; a resizer extends and shrinks
 * the reservations and maps into the extension; lookers run
 * pmem2_vm_reservation_map_find and registry lookups on random addresses.
 * Built plain here and with -fsanitize=thread in the TSan tree
 * (tests/reliability/sanitize.sh), where any data race fails the run.
 *
 *   rel_stress [--seconds N] [--seed S]
 *
 * Checked: every successful map_new/delete/extend/shrink leaves the
 * reservation consistent; errors are only the documented "slot busy /
 * out of range / not empty" ones; each mapper reads back exactly what it
 * wrote; at the end every reservation is empty and back to its size, the
 * registry holds what it held before, and every thread did real work.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpmem2.h>

#include "registry.h"

#define PG ((size_t)4096)
#define SLOT (4 * PG)		/* one mapping */
#define NSLOTS 16		/* per reservation, base size */
#define NRSV 2
#define NMAPPERS 4
#define NLOOKERS 2
#define EXT (4 * SLOT)		/* what the resizer adds and removes */

static struct pmem2_vm_reservation *Rsv[NRSV];
static struct pmem2_source *Src;
static atomic_int Stop;
static atomic_long Ops[NMAPPERS + NLOOKERS + 1];
static atomic_int Failed;

#define FAIL(...) do { \
	fprintf(stderr, "stress: " __VA_ARGS__); \
	fputc('\n', stderr); \
	atomic_store(&Failed, 1); \
	atomic_store(&Stop, 1); \
} while (0)

static unsigned
rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* expected -- the errors a racing map_new may legitimately get */
static int
expected_map_error(int ret)
{
	return ret == PMEM2_E_MAPPING_EXISTS ||
		ret == PMEM2_E_LENGTH_OUT_OF_RANGE;
}

/* slot_config -- a config for one SLOT-long mapping, PAGE granularity */
static struct pmem2_config *
slot_config(void)
{
	struct pmem2_config *cfg;
	if (pmem2_config_new(&cfg)) {
		FAIL("config_new");
		return NULL;
	}
	pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE);
	pmem2_config_set_length(cfg, SLOT);
	return cfg;
}

static void *
mapper(void *arg)
{
	long id = (long)arg;
	unsigned seed = (unsigned)(uintptr_t)arg * 7919u + 1;
	struct pmem2_config *cfg = slot_config();
	if (!cfg)
		return NULL;
	/* each mapper owns its part of the file: no race on the data */
	pmem2_config_set_offset(cfg, (size_t)id * SLOT);
	char pat[256];
	while (!atomic_load(&Stop)) {
		int r = (int)(rnd(&seed) % NRSV);
		size_t slot = rnd(&seed) % NSLOTS;
		pmem2_config_set_vm_reservation(cfg, Rsv[r], slot * SLOT);
		struct pmem2_map *m;
		int ret = pmem2_map_new(&m, cfg, Src);
		if (ret) {
			if (!expected_map_error(ret))
				FAIL("mapper %ld: map_new: %d %s", id, ret,
					pmem2_errormsg());
			continue;
		}
		char *a = pmem2_map_get_address(m);
		char *want = (char *)pmem2_vm_reservation_get_address(Rsv[r]) +
			slot * SLOT;
		if (a != want)
			FAIL("mapper %ld: mapped at %p, not %p", id,
				(void *)a, (void *)want);
		memset(pat, (int)(rnd(&seed) & 0xff), sizeof(pat));
		size_t off = (rnd(&seed) % (SLOT / sizeof(pat))) * sizeof(pat);
		pmem2_get_memcpy_fn(m)(a + off, pat, sizeof(pat), 0);
		if (memcmp(a + off, pat, sizeof(pat)))
			FAIL("mapper %ld: read back differs", id);
		struct pmem2_map *f = NULL;
		if (pmem2_vm_reservation_map_find(Rsv[r], slot * SLOT + off,
				1, &f) || f != m)
			FAIL("mapper %ld: map_find of its own mapping", id);
		ret = pmem2_map_delete(&m);
		if (ret)
			FAIL("mapper %ld: map_delete: %d", id, ret);
		atomic_fetch_add(&Ops[id], 1);
	}
	pmem2_config_delete(&cfg);
	return NULL;
}

static void *
looker(void *arg)
{
	long id = (long)arg;
	unsigned seed = (unsigned)id * 104729u + 3;
	while (!atomic_load(&Stop)) {
		int r = (int)(rnd(&seed) % NRSV);
		size_t off = (rnd(&seed) % (NSLOTS * SLOT / PG)) * PG;
		struct pmem2_map *m = NULL;
		int ret = pmem2_vm_reservation_map_find(Rsv[r], off, PG, &m);
		/* m may be unmapped by now: only its pointer is looked at */
		if (ret != 0 && ret != PMEM2_E_MAPPING_NOT_FOUND)
			FAIL("looker: map_find: %d", ret);
		if (ret == 0 && !m)
			FAIL("looker: map_find found NULL");
		char *base = pmem2_vm_reservation_get_address(Rsv[r]);
		struct registry_entry e;
		if (!registry_lookup(base + off, &e))
			FAIL("looker: %p (inside a reservation) not in the "
				"registry", (void *)(base + off));
		else if ((char *)e.start > base + off ||
				(char *)e.end <= base + off)
			FAIL("looker: registry entry does not hold the address");
		atomic_fetch_add(&Ops[id], 1);
	}
	return NULL;
}

static void *
resizer(void *arg)
{
	long id = (long)arg;
	unsigned seed = 77;
	struct pmem2_config *cfg = slot_config();
	if (!cfg)
		return NULL;
	while (!atomic_load(&Stop)) {
		int r = (int)(rnd(&seed) % NRSV);
		size_t size = pmem2_vm_reservation_get_size(Rsv[r]);
		if (size != NSLOTS * SLOT)
			FAIL("resizer: size %zu at rest", size);
		int ret = pmem2_vm_reservation_extend(Rsv[r], EXT);
		if (ret) {
			/* the range above was taken by someone else */
			if (ret != PMEM2_E_MAPPING_EXISTS && ret != -EEXIST &&
					ret != -ENOMEM)
				FAIL("resizer: extend: %d %s", ret,
					pmem2_errormsg());
			continue;
		}
		/* map into the extension, where no mapper goes */
		pmem2_config_set_vm_reservation(cfg, Rsv[r],
			NSLOTS * SLOT + (rnd(&seed) % 4) * SLOT);
		struct pmem2_map *m;
		ret = pmem2_map_new(&m, cfg, Src);
		if (ret)
			FAIL("resizer: map into the extension: %d", ret);
		ret = pmem2_vm_reservation_shrink(Rsv[r], NSLOTS * SLOT, EXT);
		if (ret != PMEM2_E_VM_RESERVATION_NOT_EMPTY)
			FAIL("resizer: shrink over a mapping gave %d", ret);
		if (m && pmem2_map_delete(&m))
			FAIL("resizer: map_delete");
		ret = pmem2_vm_reservation_shrink(Rsv[r], NSLOTS * SLOT, EXT);
		if (ret)
			FAIL("resizer: shrink: %d %s", ret, pmem2_errormsg());
		atomic_fetch_add(&Ops[id], 1);
	}
	pmem2_config_delete(&cfg);
	return NULL;
}

int
main(int argc, char *argv[])
{
	int seconds = 5;
	for (int i = 1; i + 1 < argc; i += 2)
		if (!strcmp(argv[i], "--seconds"))
			seconds = atoi(argv[i + 1]);

	char path[] = "/dev/shm/pmemshim-stress-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, (off_t)(NMAPPERS * SLOT + SLOT))) {
		perror("stress: file");
		return 1;
	}
	unlink(path);
	if (pmem2_source_from_fd(&Src, fd)) {
		fprintf(stderr, "stress: source: %s\n", pmem2_errormsg());
		return 1;
	}
	size_t regs0 = registry_count();
	/* room above each reservation for the resizer's extension */
	for (int r = 0; r < NRSV; r++) {
		struct pmem2_vm_reservation *big;
		if (pmem2_vm_reservation_new(&big, NULL, 8 * NSLOTS * SLOT)) {
			fprintf(stderr, "stress: rsv: %s\n", pmem2_errormsg());
			return 1;
		}
		void *base = pmem2_vm_reservation_get_address(big);
		pmem2_vm_reservation_delete(&big);
		if (pmem2_vm_reservation_new(&Rsv[r], base, NSLOTS * SLOT)) {
			fprintf(stderr, "stress: rsv: %s\n", pmem2_errormsg());
			return 1;
		}
	}

	pthread_t t[NMAPPERS + NLOOKERS + 1];
	int n = 0;
	for (long i = 0; i < NMAPPERS; i++)
		pthread_create(&t[n++], NULL, mapper, (void *)i);
	for (long i = 0; i < NLOOKERS; i++)
		pthread_create(&t[n++], NULL, looker, (void *)(NMAPPERS + i));
	pthread_create(&t[n++], NULL, resizer,
		(void *)(long)(NMAPPERS + NLOOKERS));
	struct timespec ts = { .tv_sec = seconds };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	atomic_store(&Stop, 1);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);

	int ret = atomic_load(&Failed);
	for (int i = 0; i < n; i++) {
		long ops = atomic_load(&Ops[i]);
		printf("thread %d: %ld operations\n", i, ops);
		if (ops == 0) {
			fprintf(stderr, "stress: thread %d did nothing\n", i);
			ret = 1;
		}
	}
	for (int r = 0; r < NRSV; r++) {
		if (pmem2_vm_reservation_get_size(Rsv[r]) != NSLOTS * SLOT) {
			fprintf(stderr, "stress: reservation %d resized\n", r);
			ret = 1;
		}
		if (pmem2_vm_reservation_delete(&Rsv[r])) {
			fprintf(stderr, "stress: reservation %d not empty: %s\n",
				r, pmem2_errormsg());
			ret = 1;
		}
	}
	if (registry_count() != regs0) {
		fprintf(stderr, "stress: registry holds %zu entries, not %zu\n",
			registry_count(), regs0);
		ret = 1;
	}
	pmem2_source_delete(&Src);
	close(fd);
	printf("stress: %s\n", ret ? "FAILED" : "ok");
	return ret;
}
