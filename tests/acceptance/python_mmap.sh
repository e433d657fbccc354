#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# python_mmap.sh -- Debian's python3 mmap module: a journal written through
# a shared mapping (slice stores = memcpy into DAX, flush() = msync of a
# range, resize() = ftruncate + mremap), checked by a second python3 run
# without the shim that recomputes the expected contents, and compared
# byte for byte with a run without the shim.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x $PY ] || need_pkg python3 python3
[ -x $PY ] || PY=$(command -v python3)

cat > "$WORK/journal.py" <<'EOP'
import mmap, os, sys, hashlib
def record(i):
    return hashlib.sha256(str(i).encode()).digest() * (1 + i % 40)
path = sys.argv[1]
mode = sys.argv[2]
if mode == "write":
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    size = 1 << 16
    os.ftruncate(fd, size)
    m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    pos = 0
    for i in range(3000):
        r = record(i)
        hdr = len(r).to_bytes(4, "little")
        if pos + 4 + len(r) > size:
            size *= 2
            m.resize(size)          # ftruncate + mremap
        m[pos:pos + 4] = hdr
        m[pos + 4:pos + 4 + len(r)] = r
        start = pos - pos % mmap.PAGESIZE
        pos += 4 + len(r)
        m.flush(start, pos - start)  # msync of the touched pages
    m[pos:pos + 4] = b"\0\0\0\0"
    m.flush()
    m.close()
    os.close(fd)
else:
    data = open(path, "rb").read()
    pos = 0
    for i in range(3000):
        n = int.from_bytes(data[pos:pos + 4], "little")
        assert data[pos + 4:pos + 4 + n] == record(i), "record %d" % i
        pos += 4 + n
    assert data[pos:pos + 4] == b"\0\0\0\0"
    print("journal OK:", pos, "bytes")
EOP
mkdir "$WORK/plain" "$WORK/dax"
t0=$(now_ns)
run_plain "$WORK/plain" $PY "$WORK/journal.py" j.bin write ||
	fail "run without the shim"
t1=$(now_ns)
run_shim "$WORK/dax" $PY "$WORK/journal.py" j.bin write ||
	fail "run with the shim"
t2=$(now_ns)
$PY "$WORK/journal.py" "$WORK/dax/j.bin" check || fail "journal check"
cmp "$WORK/plain/j.bin" "$WORK/dax/j.bin" ||
	fail "file differs from the run without the shim"
check_takeover
[ "$(stat_sum copies_into_dax)" -gt 0 ] || fail "no copy went into DAX"
[ "$(stat_sum unmaps_of_dax_ranges)" -gt 0 ] || fail "resize not seen"
report_ratio $((t1 - t0)) $((t2 - t1)) python3-mmap
echo "PASS: python3 mmap journal identical with and without the shim"
