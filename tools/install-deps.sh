#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# install-deps.sh -- install the Debian packages the build, the tests and
# the demo need, skipping those already installed (root or sudo).
set -euo pipefail
pkgs=(cmake gcc make pkg-config libcriterion-dev libunwind-dev uthash-dev
      libpmem2 libpmem2-dev gnuplot-nox python3 tdb-tools tokyocabinet-bin
      valgrind "$@")
missing=()
for p in "${pkgs[@]}"; do
	# no "| grep -q": an early-quitting reader fails the pipe under pipefail
	case "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" in
	*"ok installed") ;;
	*) missing+=("$p") ;;
	esac
done
((${#missing[@]})) || exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
	--no-install-recommends "${missing[@]}" >/dev/null
