# SPDX-License-Identifier: BSD-3-Clause
# journal.py -- an msync-heavy writer through Python's mmap module: records
# appended to a shared mapping (slice stores = memcpy into the mapping),
# flush() (= msync) of the touched pages after every record, resize()
# (= ftruncate + mremap) when full.  Used by the acceptance test and the
# demo.  usage: journal.py FILE write|check [RECORDS]   (default 3000)
import mmap, os, sys, hashlib
def record(i):
    return hashlib.sha256(str(i).encode()).digest() * (1 + i % 40)
path = sys.argv[1]
mode = sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
if mode == "write":
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    size = 1 << 16
    os.ftruncate(fd, size)
    m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    pos = 0
    for i in range(count):
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
    for i in range(count):
        n = int.from_bytes(data[pos:pos + 4], "little")
        assert data[pos + 4:pos + 4 + n] == record(i), "record %d" % i
        pos += 4 + n
    assert data[pos:pos + 4] == b"\0\0\0\0"
    print("journal OK:", count, "records,", pos, "bytes")
