# SPDX-License-Identifier: BSD-3-Clause
# install_dirs.cmake -- where `cmake --install` and the .deb put things.
#
# Our libpmem2.so.1 has PMDK's SONAME on purpose (drop-in), so installing it
# in the loader's default path would silently replace Debian's libpmem2 for
# every program.  By default it goes to a private directory instead
# (<libdir>/pmemshim, headers in <includedir>/pmemshim); a program opts in
# with pkg-config (libpmem2.pc there adds a RUNPATH), LD_LIBRARY_PATH or the
# pmemshim launcher.  -DPMEMSHIM_PRIVATE_DIR=OFF installs into the standard
# directories instead (a deliberate replacement of PMDK's library).
option(PMEMSHIM_PRIVATE_DIR
	"install the libraries and headers in pmemshim/ subdirectories" ON)
if(PMEMSHIM_PRIVATE_DIR)
	set(PMEMSHIM_INSTALL_LIBDIR ${CMAKE_INSTALL_LIBDIR}/pmemshim)
	set(PMEMSHIM_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/pmemshim)
else()
	set(PMEMSHIM_INSTALL_LIBDIR ${CMAKE_INSTALL_LIBDIR})
	set(PMEMSHIM_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
endif()
# from the installed tools (bindir) to the libraries: for RUNPATH and for
# the launcher, so an installed tree works wherever it is unpacked
file(RELATIVE_PATH PMEMSHIM_BIN_TO_LIB /${CMAKE_INSTALL_BINDIR}
	/${PMEMSHIM_INSTALL_LIBDIR})

# pmemshim_install_man PAGE -- install a troff page gzip'ed (Debian policy),
# compressed at build time so `cmake --install` and CPack ship the same file
function(pmemshim_install_man page)
	get_filename_component(name ${page} NAME)
	set(gz ${CMAKE_CURRENT_BINARY_DIR}/${name}.gz)
	add_custom_command(OUTPUT ${gz}
		COMMAND gzip -9 -n -c ${CMAKE_CURRENT_SOURCE_DIR}/${page} > ${gz}
		DEPENDS ${page} COMMENT "gzip ${name}")
	add_custom_target(man_${name} ALL DEPENDS ${gz})
	install(FILES ${gz} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endfunction()
