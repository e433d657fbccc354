#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""check_pipefail.py -- in a shell script that sets pipefail, no pipeline
may end its reading early.

`producer | head -n 1`, `| grep -q`, `| grep -m1` and `| awk '{...; exit}'`
stop reading while the producer may still be writing; the producer then
dies of SIGPIPE (exit 141) and pipefail makes the whole pipeline fail.
Under `set -e` the script exits there without a word, and only when the
producer happened to be slower than the reader: tests/dax/run.sh lost ~4%
of its runs to `ldconfig -p | awk '... {print $NF; exit}'` that way.

A stage after the first `|` is flagged when it is head, grep with -q/-m
(or --quiet/--max-count), an awk program that calls exit, or sed with a q
command.  A line ending in the comment `# pipefail-ok: REASON` is exempt
(say why the producer cannot still be writing).

usage: check_pipefail.py SOURCE_ROOT   (every *.sh and .ci/run under it)
       check_pipefail.py --selftest    (the checker catches what it must)
exit 0 clean, 1 something flagged (listed), 2 usage error
"""
import os
import re
import sys
import tempfile

SKIP_DIRS = {".git", "node_modules"}
PIPEFAIL = re.compile(r'^\s*set\s+(-[a-zA-Z]*o\s+pipefail|.*-o\s+pipefail)',
                      re.M)
EARLY = [
    (re.compile(r'^head\b'), "head"),
    (re.compile(r'^grep\b.*\s(-[a-zA-Z]*[qm]|--quiet|--silent|--max-count)'),
     "grep -q/-m"),
    (re.compile(r'^awk\b.*\bexit\b'), "awk ... exit"),
    (re.compile(r'''^sed\b.*[0-9/$]q\b'''), "sed ...q"),
]


def scripts(root):
    ci = os.path.join(root, ".ci", "run")
    if os.path.isfile(ci):
        yield ci
    for dirpath, dirs, files in os.walk(root):
        # build trees (any directory holding a CMakeCache.txt) and VCS data
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not
                   os.path.exists(os.path.join(dirpath, d, "CMakeCache.txt"))]
        for f in sorted(files):
            if f.endswith(".sh"):
                yield os.path.join(dirpath, f)


def logical_lines(text):
    """(first line number, text) with backslash continuations joined"""
    buf, start = "", None
    for n, line in enumerate(text.split("\n"), 1):
        if start is None:
            start = n
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        yield start, buf + line
        buf, start = "", None


def strip_quoted(s):
    """blank out quoted text (keeping quotes), so that a | inside a
    string or an awk program does not split the pipeline"""
    out, q = [], None
    for c in s:
        if q:
            out.append(c if c == q else "x")
            if c == q:
                q = None
        elif c in "'\"":
            q = c
            out.append(c)
        else:
            out.append(c)
    return "".join(out)


def stages(line):
    """the stages of the pipelines on one line, as (index, text) with the
    original (quoted) text; || and && separate pipelines"""
    bare = strip_quoted(line)
    if "#" in bare:  # a comment outside quotes
        cut = bare.index("#")
        line, bare = line[:cut], bare[:cut]
    # split points: single | (not ||, not |&)
    idx, pos, i = 0, 0, 0
    while i < len(bare):
        two = bare[i:i + 2]
        if two in ("||", "&&") or bare[i] in ";()`{}" or \
                (bare[i] == "$" and bare[i + 1:i + 2] == "("):
            yield idx, line[pos:i].strip()
            i += 2 if two in ("||", "&&", "$(") else 1
            pos, idx = i, 0
            continue
        if bare[i] == "|":
            yield idx, line[pos:i].strip()
            pos, idx = i + 1, idx + 1
        i += 1
    yield idx, line[pos:].strip()


def check_file(path, out):
    with open(path, encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    if not PIPEFAIL.search(text):
        return 0
    bad = 0
    for n, line in logical_lines(text):
        if re.search(r'#\s*pipefail-ok:\s*\S', line):
            continue
        for idx, st in stages(line):
            if idx == 0:
                continue
            st = re.sub(r'^(LC_ALL=\S+\s+|env\s+)', "", st)
            for rx, what in EARLY:
                if rx.search(st):
                    print("%s:%d: '%s' may stop reading before its producer "
                          "ends (SIGPIPE -> pipefail): %s" %
                          (path, n, what, line.strip()), file=out)
                    bad += 1
                    break
    return bad


def check(root, out=sys.stdout):
    bad, seen = 0, 0
    for p in scripts(root):
        seen += 1
        bad += check_file(p, out)
    return seen, bad


def selftest():
    bad_lines = [
        "x=$(ldconfig -p | awk '$1 == \"a\" {print $NF; exit}')",
        "dpkg-query -W p | grep -q 'ok' || m+=(p)",
        "off=$(grep -obUaP 'z' f | head -n 1 | cut -d: -f1)",
        "big | grep -m1 x",
        "cat f \\\n\t| sed -n '1p;1q'",
    ]
    good_lines = [
        "x=$(ldconfig -p | awk '$1 == \"a\" && !n++ {print $NF}')",
        "grep -q x file || true",               # no pipeline
        "a || head -n 1 f",                     # || is not a pipe
        "echo 'a | head' | wc -l",              # | head inside quotes
        "big | head -n 1 # pipefail-ok: big writes one line",
        "printf '%s' x | awk '{print} END {exit 0}' # pipefail-ok: END",
    ]
    ok = True
    with tempfile.TemporaryDirectory() as t:
        with open(os.path.join(t, "nopf.sh"), "w") as f:
            f.write("#!/bin/sh\nbig | head -n 1\n")  # no pipefail: fine
        for i, line in enumerate(bad_lines + good_lines):
            p = os.path.join(t, "t%02d.sh" % i)
            with open(p, "w") as f:
                f.write("#!/bin/bash\nset -euo pipefail\n%s\n" % line)
            with open(os.devnull, "w") as null:
                got = check_file(p, null)
            want = 1 if i < len(bad_lines) else 0
            if got != want:
                print("selftest: %r flagged %d time(s), want %d" %
                      (line, got, want))
                ok = False
        seen, bad = check(t, open(os.devnull, "w"))
        if seen != len(bad_lines) + len(good_lines) + 1 or \
                bad != len(bad_lines):
            print("selftest: tree scan saw %d scripts, %d flagged" %
                  (seen, bad))
            ok = False
    print("selftest: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


def main(argv):
    if len(argv) == 2 and argv[1] == "--selftest":
        return selftest()
    if len(argv) != 2 or not os.path.isdir(argv[1]):
        print(__doc__, file=sys.stderr)
        return 2
    seen, bad = check(argv[1])
    print("check_pipefail: %d scripts, %d early-exit reader(s)" % (seen, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
