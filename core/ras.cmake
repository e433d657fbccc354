# ras.cmake -- RAS and sysfs sources (region discovery, deep flush, bad
# blocks, unsafe-shutdown count, mcsafe I/O); included by core/CMakeLists.txt.
# No libndctl: sysfs is read directly so that fake trees test every branch
# (core/RAS.md).
list(APPEND PMEM2_CORE_SOURCES
	region_linux.c
	ras_linux.c
	deep_flush.c
	badblocks.c
	extent_linux.c
	mcsafe.c
)
