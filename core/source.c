/* SPDX-License-Identifier: BSD-3-Clause */
/* source.c -- pmem2_source: an open file, a device DAX, or anonymous memory. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "region.h"
#include "source.h"

/*
 * source_type_from_stat -- regular files and device DAX can be mapped;
 * everything else is refused here, before anything is allocated.
 */
int
source_type_from_stat(const struct stat *st, enum pmem2_file_type *type)
{
	if (S_ISREG(st->st_mode)) {
		*type = PMEM2_FTYPE_REG;
		return 0;
	}
	if (S_ISDIR(st->st_mode)) {
		ERR("the file is a directory: only regular files and device "
			"DAX can be mapped");
		return PMEM2_E_INVALID_FILE_TYPE;
	}
	if (!S_ISCHR(st->st_mode)) {
		ERR("file type 0%o is not supported: only regular files and "
			"device DAX can be mapped", st->st_mode & S_IFMT);
		return PMEM2_E_INVALID_FILE_TYPE;
	}
	int dax = region_is_devdax(st->st_rdev);
	if (dax < 0)
		return dax;
	if (!dax) {
		ERR("character device %u:%u is not device DAX",
			major(st->st_rdev), minor(st->st_rdev));
		return PMEM2_E_INVALID_FILE_TYPE;
	}
	*type = PMEM2_FTYPE_DEVDAX;
	return 0;
}

PMEM2_API int
pmem2_source_from_fd(struct pmem2_source **src, int fd)
{
	core_init();
	errormsg_clear();
	*src = NULL;

	if (fd < 0) {
		ERR("invalid file descriptor %d", fd);
		return PMEM2_E_INVALID_FILE_HANDLE;
	}
	int flags = fcntl(fd, F_GETFL);
	if (flags == -1) {
		int e = errno;
		ERR_ERRNO(e, "fcntl(%d, F_GETFL)", fd);
		return e == EBADF ? PMEM2_E_INVALID_FILE_HANDLE : -e;
	}
	if ((flags & O_ACCMODE) == O_WRONLY) {
		ERR("file descriptor %d is open O_WRONLY; it must be open "
			"O_RDONLY or O_RDWR", fd);
		return PMEM2_E_INVALID_FILE_HANDLE;
	}
	struct stat st;
	if (fstat(fd, &st)) {
		int e = errno;
		ERR_ERRNO(e, "fstat(%d)", fd);
		return -e;
	}
	enum pmem2_file_type ftype;
	int ret = source_type_from_stat(&st, &ftype);
	if (ret)
		return ret;

	struct pmem2_source *s = pmem2_zalloc(sizeof(*s), &ret);
	if (!s)
		return ret;
	s->type = PMEM2_SOURCE_FD;
	s->value.ftype = ftype;
	s->value.fd = fd;
	s->value.st_dev = st.st_dev;
	s->value.st_rdev = st.st_rdev;
	s->value.st_ino = st.st_ino;
	*src = s;
	return 0;
}

PMEM2_API int
pmem2_source_from_anon(struct pmem2_source **src, size_t size)
{
	core_init();
	errormsg_clear();
	int ret;
	struct pmem2_source *s = pmem2_zalloc(sizeof(*s), &ret);
	if (!s) {
		*src = NULL;
		return ret;
	}
	s->type = PMEM2_SOURCE_ANON;
	s->value.fd = -1;
	s->value.size = size;
	*src = s;
	return 0;
}

PMEM2_API int
pmem2_source_delete(struct pmem2_source **src)
{
	errormsg_clear();
	free(*src);
	*src = NULL;
	return 0;
}

PMEM2_API int
pmem2_source_get_fd(const struct pmem2_source *src, int *fd)
{
	errormsg_clear();
	if (src->type != PMEM2_SOURCE_FD) {
		ERR("the source has no file descriptor (anonymous source)");
		return PMEM2_E_FILE_DESCRIPTOR_NOT_SET;
	}
	*fd = src->value.fd;
	return 0;
}

PMEM2_API int
pmem2_source_size(const struct pmem2_source *src, size_t *size)
{
	errormsg_clear();
	if (src->type == PMEM2_SOURCE_ANON) {
		*size = src->value.size;
		return 0;
	}
	struct stat st;
	if (fstat(src->value.fd, &st)) {
		int e = errno;
		ERR_ERRNO(e, "fstat(%d)", src->value.fd);
		return e == EBADF ? PMEM2_E_INVALID_FILE_HANDLE : -e;
	}
	if (src->value.ftype == PMEM2_FTYPE_DEVDAX)
		return region_devdax_size(src, size);
	if (st.st_size < 0) {
		ERR("the kernel reports a negative file size (%lld)",
			(long long)st.st_size);
		return PMEM2_E_INVALID_FILE_HANDLE;
	}
	*size = (size_t)st.st_size;
	return 0;
}

PMEM2_API int
pmem2_source_alignment(const struct pmem2_source *src, size_t *alignment)
{
	errormsg_clear();
	size_t a = Pagesize;
	if (src->type == PMEM2_SOURCE_FD &&
			src->value.ftype == PMEM2_FTYPE_DEVDAX) {
		int ret = region_devdax_alignment(src, &a);
		if (ret)
			return ret;
	}
	if (a == 0 || (a & (a - 1))) {
		ERR("alignment %zu is not a power of two", a);
		return PMEM2_E_INVALID_ALIGNMENT_VALUE;
	}
	*alignment = a;
	return 0;
}
