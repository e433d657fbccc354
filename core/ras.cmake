# ras.cmake -- RAS and sysfs sources (region discovery, deep flush, bad
# blocks, unsafe-shutdown count, mcsafe I/O); included by core/CMakeLists.txt.
list(APPEND PMEM2_CORE_SOURCES
	region_linux.c
	ras_pending.c	# temporary, see the file
)
