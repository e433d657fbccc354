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

pkgs=(cmake gcc make pkg-config libcriterion-dev libunwind-dev uthash-dev
      libpmem2 libpmem2-dev)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	echo "run-all: installing ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
# shellcheck disable=SC2086
ctest --test-dir "$build" --output-on-failure -j2 ${CTEST_ARGS:-}
