# SPDX-License-Identifier: BSD-3-Clause
# packaging.cmake -- install rules for the libraries, headers and pkg-config
# files (the tools install themselves), and CPack's .deb.  Directory layout
# and the reason for it: install_dirs.cmake.

# the PMDK release whose API/ABI libpmem2.so.1 reproduces: what the .pc
# reports as Version, so `pkg-config --atleast-version` checks written for
# PMDK keep working
set(PMDK_API_VERSION 1.12.1)

install(TARGETS pmem2 LIBRARY DESTINATION ${PMEMSHIM_INSTALL_LIBDIR})
if(TARGET pmemshim)
	install(TARGETS pmemshim LIBRARY DESTINATION ${PMEMSHIM_INSTALL_LIBDIR})
endif()
install(FILES ${PROJECT_SOURCE_DIR}/include/libpmem2.h
	DESTINATION ${PMEMSHIM_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/libpmem2
	DESTINATION ${PMEMSHIM_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_SOURCE_DIR}/README.md
	DESTINATION ${CMAKE_INSTALL_DOCDIR})

# pmemshim_pc NAME DIR RPATH -- a .pc file for -lpmem2, installed in DIR
function(pmemshim_pc name dir rpath)
	file(RELATIVE_PATH PC_TO_PREFIX /${dir} /)
	string(REGEX REPLACE "/$" "" PC_TO_PREFIX "${PC_TO_PREFIX}")
	set(PC_NAME ${name})
	set(PC_VERSION ${PMDK_API_VERSION})
	if(name STREQUAL "pmemshim")
		set(PC_VERSION ${PROJECT_VERSION})
	endif()
	set(PC_RPATH "")
	if(rpath)
		set(PC_RPATH "-Wl,-rpath,\${libdir} ")
	endif()
	configure_file(${PROJECT_SOURCE_DIR}/cmake/libpmem2.pc.in
		${PROJECT_BINARY_DIR}/pc/${name}.pc @ONLY)
	install(FILES ${PROJECT_BINARY_DIR}/pc/${name}.pc DESTINATION ${dir})
endfunction()

if(PMEMSHIM_PRIVATE_DIR)
	# libpmem2.pc beside the private libraries (PKG_CONFIG_PATH opts in,
	# Debian's libpmem2.pc is left alone); the RUNPATH makes programs
	# built with it load our library, not Debian's, without
	# LD_LIBRARY_PATH.  pmemshim.pc: the same flags from the default
	# search path.
	pmemshim_pc(libpmem2 ${PMEMSHIM_INSTALL_LIBDIR}/pkgconfig ON)
	pmemshim_pc(pmemshim ${CMAKE_INSTALL_LIBDIR}/pkgconfig ON)
else()
	pmemshim_pc(libpmem2 ${CMAKE_INSTALL_LIBDIR}/pkgconfig OFF)
	pmemshim_pc(pmemshim ${CMAKE_INSTALL_LIBDIR}/pkgconfig OFF)
endif()

# the .deb: `cpack -G DEB --config build/CPackConfig.cmake`
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pmemshim)
set(CPACK_PACKAGE_VENDOR pmemshim)
set(CPACK_PACKAGE_CONTACT "pmemshim developers <pmemshim@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
	"drop-in libpmem2 and an LD_PRELOAD shim for persistent memory")
set(CPACK_PACKAGE_DESCRIPTION "libpmem2.so.1, binary compatible with \
PMDK ${PMDK_API_VERSION}, and libpmemshim.so, which gives unmodified \
programs user-space msync and non-temporal copies on DAX; with the \
pmemshim launcher, pmem2-info and pmem2-bench.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.34)")
# libunwind: dlopen'ed for PMEMSHIM_STATS call sites; libpmem2 (PMDK):
# dlopen'ed by pmem2-bench for the comparison; gnuplot: pmem2-bench --plot
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libunwind8")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libpmem2, gnuplot-nox")
if(NOT PMEMSHIM_PRIVATE_DIR)
	# same file names as Debian's libpmem2/libpmem2-dev: say so to dpkg
	# instead of overwriting them silently
	set(CPACK_DEBIAN_PACKAGE_CONFLICTS "libpmem2, libpmem2-dev")
	set(CPACK_DEBIAN_PACKAGE_REPLACES "libpmem2, libpmem2-dev")
	set(CPACK_DEBIAN_PACKAGE_PROVIDES
		"libpmem2 (= ${PMDK_API_VERSION})")
endif()
include(CPack)
