#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# install_standard.sh -- the -DPMEMSHIM_PRIVATE_DIR=OFF layout (our library
# replacing PMDK's in the standard directories): configure and build a
# tree with it (no tests, a few seconds), then install_deb.sh on its .deb.
#   install_standard.sh SOURCE_DIR BUILD_DIR
set -u
SRC=${1:?source dir}
TREE=${2:?build dir}/install-standard
command -v cmake >/dev/null || { echo "SKIP: no cmake"; exit 77; }
rm -rf "$TREE"
cmake -S "$SRC" -B "$TREE" -DPMEMSHIM_PRIVATE_DIR=OFF -DPMEMSHIM_TESTS=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$TREE.log" 2>&1 &&
	cmake --build "$TREE" -j2 >>"$TREE.log" 2>&1 ||
	{ tail -20 "$TREE.log"; echo "FAIL: building the standard tree"; exit 1; }
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$TREE/CMakeCache.txt")
incdir=$(sed -n 's/^CMAKE_INSTALL_INCLUDEDIR:PATH=//p' "$TREE/CMakeCache.txt")
sh "$(dirname "$0")/install_deb.sh" "$TREE" "${libdir:-lib}" \
	"${incdir:-include}" standard
rc=$?
[ $rc -ne 0 ] || rm -rf "$TREE" "$TREE.log"
exit $rc
