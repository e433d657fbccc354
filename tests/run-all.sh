#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# run-all.sh -- the project's test command: install what the build and the
# tests need from Debian, configure, build, and run every ctest suite.
#
#   bash tests/run-all.sh [BUILD_DIR]     (default: build)
#
# Needs root (or sudo) for apt-get on a fresh machine; skips packages that
# are already installed.  Extra ctest arguments: CTEST_ARGS="-R unit".
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}

bash "$top/tools/install-deps.sh"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
# shellcheck disable=SC2086
ctest --test-dir "$build" --output-on-failure -j2 ${CTEST_ARGS:-}
