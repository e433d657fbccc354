# ras.cmake -- RAS suites (fake sysfs trees, SIGBUS handling) and the
# differential test against Debian's libpmem2; included by
# tests/unit/CMakeLists.txt.
pmem2_unit_test(test_ras_region test_ras_region.c)
pmem2_unit_test(test_ras_deep_flush test_ras_deep_flush.c)
pmem2_unit_test(test_ras_badblocks test_ras_badblocks.c)
pmem2_unit_test(test_ras_mcsafe test_ras_mcsafe.c)
# pread/pwrite are wrapped so that EIO (poison on fsdax) can be injected
target_link_options(test_ras_mcsafe PRIVATE -Wl,--wrap=pread
	-Wl,--wrap=pwrite)

# ras_diff: the same RAS calls against Debian's library and ours; the
# transcripts must match (ras_diff.sh; exit 77 = skip without the oracle).
add_executable(ras_diff ras_diff.c)
target_include_directories(ras_diff PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(ras_diff PRIVATE pmem2)
set_target_properties(ras_diff PROPERTIES SKIP_BUILD_RPATH TRUE)
add_test(NAME unit_ras_diff
	COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/ras_diff.sh $<TARGET_FILE:ras_diff>
		$<TARGET_FILE_DIR:pmem2>)
set_tests_properties(unit_ras_diff PROPERTIES LABELS unit
	SKIP_RETURN_CODE 77)
