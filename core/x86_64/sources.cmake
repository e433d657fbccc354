# x86_64/sources.cmake -- the flush core and mover; included by
# core/CMakeLists.txt.  Each ISA variant gets its own per-file flags here.
list(APPEND PMEM2_CORE_SOURCES
	persist.c
)
