#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# sanitize.sh -- configure and build a second tree with sanitizers and run
# the suites that can run under them.
#
#   sanitize.sh SOURCE_DIR BUILD_DIR asan|tsan
#
# asan: -fsanitize=address,undefined -fno-sanitize-recover=all; runs the
#   criterion unit suites, the shim suites (libasan.so first in LD_PRELOAD),
#   the diff probes against PMDK and our library, and the reliability tests.
#   Not run, and why:
#   - unit_test_mover_fence: single-steps every instruction of the movers
#     under ptrace; instrumented code takes ~150 s that way and it tests
#     instruction order, not memory safety.  It runs in the normal tree.
#   - shim_fence: single-steps the shim's copy hooks, which ASan's own
#     memcpy/memmove interceptors replace (see shim_basic below).
#   - shim_basic (and its _byte and _noflush variants): it checks that
#     `memcpy' and `mmap' resolve to libpmemshim.so and that copies into
#     DAX are counted; with libasan.so first in LD_PRELOAD, ASan's own
#     memcpy/memmove/memset interceptors win symbol resolution
#     (ASAN_OPTIONS=replace_intrin=0 does not change that), so those
#     checks cannot hold.
#   - shim_copies: the same (it checks every copy hook is the shim's, then
#     sweeps sizes through them; under ASan it would sweep ASan's).  Its
#     memory safety is checked by valgrind (vg_shim_copies).
#   - shim_fuzz's variants (shim_fuzz_off, _noalias, _byte, _noflush0,
#     _threads): for time; shim_fuzz itself runs (the same calls, the
#     default settings).
#   - shim_sigbus (and _mincore): it checks the program's SIGBUS action
#     is exactly its own, from SIG_DFL on; ASan installs its own SIGBUS
#     handler and intercepts sigaction and signal first.  Valgrind runs
#     it (vg_shim_sigbus).  Every other shim suite runs.
#   - diff_*: LeakSanitizer is off for them (ASAN_OPTIONS=detect_leaks=0)
#     because the oracle side (PMDK's library, same process) leaks on the
#     deliberately degenerate calls; our side runs again with leak checking
#     as rel_probe_* (label rel).
# tsan: -fsanitize=thread; runs rel_tsan_stress (the core) and shim_threads
#   (the shim, libtsan.so first in LD_PRELOAD), each up to 5 times, and
#   the threaded fuzzer once (shim_fuzz_threads_tsan: 3 seeds x 200 calls
#   x 4 threads, the shim's test build).
set -euo pipefail
src=$1 bld=$2 kind=$3
case $kind in
asan) san=address,undefined targets=all ;;
tsan) san=thread targets="rel_stress pmemshim shim_threads pmemshim_faults
	shim_fuzz" ;;
*) echo "sanitize.sh: unknown kind $kind" >&2; exit 2 ;;
esac
cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DPMEMSHIM_SANITIZE=$san >/dev/null
# shellcheck disable=SC2086
cmake --build "$bld" -j2 --target $targets >"$bld/build.log" 2>&1 || {
	tail -n 50 "$bld/build.log"; exit 1; }
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
rc=0
if [ "$kind" = asan ]; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1
	ctest --test-dir "$bld" --output-on-failure -j2 \
		-R '^(unit_|shim_|rel_)' \
		-E '^(unit_test_mover_fence|shim_basic(_byte|_noflush[01])?|shim_fence|shim_copies|shim_fuzz_.*|shim_sigbus.*)$' || rc=1
	ASAN_OPTIONS=detect_leaks=0 ctest --test-dir "$bld" \
		--output-on-failure -j2 -L diff || rc=1
else
	ctest --test-dir "$bld" --output-on-failure -j2 \
		--repeat until-fail:5 -R '^(rel_tsan_stress|shim_threads)$' || rc=1
	ctest --test-dir "$bld" --output-on-failure \
		-R '^shim_fuzz_threads_tsan$' || rc=1
fi
exit $rc
