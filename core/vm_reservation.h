/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vm_reservation.h -- struct pmem2_vm_reservation and the calls map.c uses
 * to place mappings in a reservation.
 */
#ifndef PMEM2_VM_RESERVATION_H
#define PMEM2_VM_RESERVATION_H

#include <pthread.h>

#include "pmem2_utils.h"
#include "rsv_tree.h"

struct pmem2_map;

/*
 * A reservation is aligned for huge pages (2 MiB, or 1 GiB from 2 GiB up) and
 * the placeholder behind it is larger than what the user sees: rounded up to
 * the alignment plus one more unit, so the address can be aligned and small
 * extensions land in space the reservation already holds (as the man page
 * and PMDK describe).  [reserv_addr, +reserv_size) is what is mapped;
 * [addr, +size) is what the user sees.
 */
struct pmem2_vm_reservation {
	void *addr;
	size_t size;
	void *reserv_addr;
	size_t reserv_size;
	size_t align;
	pthread_rwlock_t lock;		/* guards the index and addr/size */
	struct rsv_tree tree;		/* the mappings, by address */
	size_t nmaps;
};

/*
 * rsv_acquire_range -- take the reservation's write lock and check that
 * [offset, offset + len) is inside it and free.  On success the lock stays
 * held until rsv_insert_release()/rsv_release(), and the index has room for
 * the mapping.  Errors (lock released): PMEM2_E_LENGTH_OUT_OF_RANGE,
 * PMEM2_E_MAPPING_EXISTS, -ENOMEM.
 */
int rsv_acquire_range(struct pmem2_vm_reservation *rsv, size_t offset,
	size_t len);
/* rsv_insert_release -- add map to the index and drop the lock. */
void rsv_insert_release(struct pmem2_vm_reservation *rsv,
	struct pmem2_map *map);
/* rsv_lock/rsv_release -- the write lock alone. */
void rsv_lock(struct pmem2_vm_reservation *rsv);
void rsv_release(struct pmem2_vm_reservation *rsv);
/* rsv_remove_locked -- take map out of the index (write lock held);
 * PMEM2_E_MAPPING_NOT_FOUND if it is not there. */
int rsv_remove_locked(struct pmem2_vm_reservation *rsv, struct pmem2_map *map);

/* rsv_map_at -- the mapping holding addr, under the read lock; NULL if none.
 * (The shim's lookup for addresses the registry attributes to a rsv.) */
struct pmem2_map *rsv_map_at(struct pmem2_vm_reservation *rsv,
	const void *addr);

#endif /* PMEM2_VM_RESERVATION_H */
