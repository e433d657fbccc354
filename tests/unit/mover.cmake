# SPDX-License-Identifier: BSD-3-Clause
# mover.cmake -- the flush core / mover suites (included by
# tests/unit/CMakeLists.txt, which defines pmem2_unit_test()).
pmem2_unit_test(test_mover test_mover.c)
pmem2_unit_test(test_mover_fence test_mover_fence.c)

# The constructor's reading of the switches (the suites above re-read them
# in each test): run once per set of switches with the choice it must make.
# Only clwb/clflushopt/clflush + sse2/avx, which this kind of CPU has; the
# test skips itself where the expectation cannot hold.
function(mover_env_test name isa kind)
	add_test(NAME unit_test_mover_env_${name}
		COMMAND test_mover --filter "mover/constructor_choice")
	set_tests_properties(unit_test_mover_env_${name} PROPERTIES
		LABELS unit ENVIRONMENT
		"PMEM_MOVDIR64B=0;MOVER_EXPECT_ISA=${isa};MOVER_EXPECT_KIND=${kind};${ARGN}")
endfunction()
mover_env_test(sse2_clflush sse2 clflush
	"PMEM_AVX512F=0;PMEM_AVX=0;PMEM_NO_CLWB=1;PMEM_NO_CLFLUSHOPT=1")
mover_env_test(avx_clflushopt avx clflushopt
	"PMEM_AVX512F=0;PMEM_NO_CLWB=1;PMEM_MOVNT_THRESHOLD=1000")
mover_env_test(generic generic clwb "PMEM_NO_MOVNT=1")
mover_env_test(libc libc clwb "PMEM_NO_MOVNT=1;PMEM_NO_GENERIC_MEMCPY=1")

# The benchmark's --quick mode as a smoke test: it runs and prints its
# table; no timing is asserted (tools/pmem2-bench/RESULTS.md has numbers).
if(TARGET pmem2-bench AND EXISTS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/libpmem2.so.1)
	add_test(NAME mover_bench_quick COMMAND pmem2-bench --quick
		--csv ${CMAKE_CURRENT_BINARY_DIR}/mover_bench_quick.csv)
	set_tests_properties(mover_bench_quick PROPERTIES LABELS bench
		PASS_REGULAR_EXPRESSION "ours/PMDK" TIMEOUT 300)
endif()
