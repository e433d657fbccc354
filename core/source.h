/* SPDX-License-Identifier: BSD-3-Clause */
/* source.h -- struct pmem2_source: what a mapping maps. */
#ifndef PMEM2_SOURCE_H
#define PMEM2_SOURCE_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "pmem2_utils.h"

enum pmem2_source_type {
	PMEM2_SOURCE_UNSPECIFIED,
	PMEM2_SOURCE_ANON,
	PMEM2_SOURCE_FD,
};

enum pmem2_file_type {
	PMEM2_FTYPE_REG = 1,	/* regular file (fsdax or not) */
	PMEM2_FTYPE_DEVDAX,	/* device DAX character device */
	PMEM2_FTYPE_DIR,	/* never accepted by from_fd; kept for clarity */
};

struct pmem2_source {
	enum pmem2_source_type type;
	struct {
		enum pmem2_file_type ftype;
		int fd;			/* FD sources */
		dev_t st_dev;		/* device of the file (REG) */
		dev_t st_rdev;		/* the device itself (DEVDAX) */
		ino_t st_ino;
		size_t size;		/* ANON sources */
	} value;
};

/* source_type_from_stat -- classify a file; PMEM2_E_INVALID_FILE_TYPE if it
 * cannot be mapped (directory, block device, pipe, socket, other char dev). */
int source_type_from_stat(const struct stat *st, enum pmem2_file_type *type);

#endif /* PMEM2_SOURCE_H */
