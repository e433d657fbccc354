#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# run-probe.sh -- run a diff probe against our library only (no oracle):
# LD_LIBRARY_PATH=LIBDIR, a fresh DIFF_TMPDIR on tmpfs.  The transcript is
# thrown away (tests/diff compares it); what counts is the exit status of
# the command, e.g. valgrind.sh PROBE or a sanitized PROBE.
#
#   run-probe.sh LIBDIR COMMAND...
set -u
libdir=$1
shift
data=$(mktemp -d /dev/shm/pmemshim-probe.XXXXXX) || exit 1
trap 'rm -rf "$data"' EXIT
DIFF_TMPDIR=$data LD_LIBRARY_PATH=$libdir "$@" >"$data/transcript" 2>&1
rc=$?
[ $rc -eq 0 ] || { tail -n 60 "$data/transcript"; echo "run-probe: exit $rc" >&2; }
grep -q '^== end$' "$data/transcript" || { echo "run-probe: transcript incomplete" >&2; rc=1; }
exit $rc
