# SPDX-License-Identifier: BSD-3-Clause
# x86_64/sources.cmake -- the flush core and mover; included by
# core/CMakeLists.txt.  Each ISA variant gets its own per-file flags here;
# the tree as a whole is built for baseline x86-64.
list(APPEND PMEM2_CORE_SOURCES
	persist.c
	memops_generic.c
	x86_64/cpu.c
	x86_64/memops_sse2.c
	x86_64/memops_avx.c
	x86_64/memops_avx512f.c
	x86_64/memops_movdir64b.c
)

# The movers must never become calls to libc's memcpy/memmove/memset: inside
# libpmemshim.so those are our own hooks, which call back into the mover.
set(_pmem2_nolibc -fno-builtin -fno-tree-loop-distribute-patterns)
set_source_files_properties(
	${CMAKE_CURRENT_SOURCE_DIR}/persist.c
	${CMAKE_CURRENT_SOURCE_DIR}/memops_generic.c
	${CMAKE_CURRENT_SOURCE_DIR}/x86_64/memops_sse2.c
	PROPERTIES COMPILE_OPTIONS "${_pmem2_nolibc}")
set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/x86_64/memops_avx.c
	PROPERTIES COMPILE_OPTIONS "${_pmem2_nolibc};-mavx")
set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/x86_64/memops_avx512f.c
	PROPERTIES COMPILE_OPTIONS "${_pmem2_nolibc};-mavx512f")
set_source_files_properties(
	${CMAKE_CURRENT_SOURCE_DIR}/x86_64/memops_movdir64b.c
	PROPERTIES COMPILE_OPTIONS "${_pmem2_nolibc};-mmovdir64b")
