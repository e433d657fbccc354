#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""check_env_doc.py -- every PMEMSHIM_*, PMEM2_* and PMEM_* environment
variable the code reads must be documented (as `NAME`) in README.md.

"Read" means: passed as a string literal to getenv/secure_getenv or to a
wrapper of them.  Wrappers are found, not listed: a function that calls
getenv/secure_getenv (or an existing wrapper) with a non-literal argument,
or that walks `environ` itself, is a wrapper (to a fixed point).  As a
catch-all, any string literal that is exactly such a name and is not an
identifier of the public header (PMEM2_E_*, PMEM2_GRANULARITY_*, ...) counts
too, so a name read through a table is not missed.

usage: check_env_doc.py SOURCE_ROOT        (checks core/ shim/ tools/)
       check_env_doc.py --selftest         (the checker catches what it must)
exit 0 all documented, 1 something undocumented (listed), 2 usage/scan error
"""
import os
import re
import sys
import tempfile

NAME = r'(?:PMEMSHIM|PMEM2|PMEM)_[A-Z0-9_]+'
DIRS = ("core", "shim", "tools")
FUNC_START = re.compile(r'^([A-Za-z_]\w*)\s*\(', re.M)   # PMDK style


def sources(root):
    for d in DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, d)):
            for f in files:
                if f.endswith((".c", ".h")):
                    p = os.path.join(dirpath, f)
                    with open(p, encoding="utf-8", errors="replace") as fh:
                        yield p, strip_comments(fh.read())


def strip_comments(text):
    text = re.sub(r'/\*.*?\*/', lambda m: "\n" * m.group().count("\n"),
                  text, flags=re.S)
    return re.sub(r'//[^\n]*', '', text)


def functions(text):
    """(name, body) of each function defined at column 0"""
    starts = [(m.start(), m.group(1)) for m in FUNC_START.finditer(text)]
    for i, (pos, name) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        yield name, text[pos:end]


def find_wrappers(files):
    wrappers = {"getenv", "secure_getenv"}
    changed = True
    while changed:
        changed = False
        alt = "|".join(sorted(wrappers))
        nonliteral = re.compile(r'\b(?:%s)\s*\(\s*[A-Za-z_]' % alt)
        for _, text in files:
            for name, body in functions(text):
                if name in wrappers:
                    continue
                own = re.sub(r'^%s\s*\(' % name, '', body)
                if nonliteral.search(own) or re.search(r'=\s*environ\b',
                                                       own):
                    wrappers.add(name)
                    changed = True
    return wrappers


def header_identifiers(root):
    ids = set()
    inc = os.path.join(root, "include")
    for dirpath, _, files in os.walk(inc):
        for f in files:
            with open(os.path.join(dirpath, f), errors="replace") as fh:
                ids.update(re.findall(r'\b' + NAME + r'\b', fh.read()))
    return ids


def read_vars(root):
    files = list(sources(root))
    wrappers = find_wrappers(files)
    alt = "|".join(sorted(wrappers))
    call = re.compile(r'\b(?:%s)\s*\(\s*"(%s)"' % (alt, NAME))
    literal = re.compile(r'"(%s)"' % NAME)
    header = header_identifiers(root)
    found = {}
    for path, text in files:
        rel = os.path.relpath(path, root)
        for m in call.finditer(text):
            found.setdefault(m.group(1), rel)
        for m in literal.finditer(text):
            if m.group(1) not in header:
                found.setdefault(m.group(1), rel)
    return found, wrappers


def check(root, readme, out=sys.stdout):
    found, wrappers = read_vars(root)
    with open(readme, encoding="utf-8") as fh:
        doc = fh.read()
    missing = sorted(v for v in found if "`%s`" % v not in doc)
    print("getenv wrappers found: %s" % ", ".join(sorted(wrappers)),
          file=out)
    print("variables read: %d (%s)" % (len(found),
          " ".join(sorted(found))), file=out)
    for v in missing:
        print("UNDOCUMENTED: %s (read in %s) is not in %s" %
              (v, found[v], os.path.basename(readme)), file=out)
    return found, missing


def selftest():
    """a fixture tree: a wrapper of a wrapper, a multi-line call, a
    header constant; the checker must report exactly the undocumented"""
    with tempfile.TemporaryDirectory() as t:
        for d in ("core", "include"):
            os.mkdir(os.path.join(t, d))
        with open(os.path.join(t, "include", "h.h"), "w") as f:
            f.write("enum { PMEM2_E_FAKE = 1 };\n")
        with open(os.path.join(t, "core", "a.c"), "w") as f:
            f.write('static const char *\nraw(const char *n)\n{\n'
                    '\treturn secure_getenv(n);\n}\n'
                    'static int\nflag(const char *n)\n{\n'
                    '\treturn raw(n) != 0;\n}\n'
                    'static const char *\nfrom_environ(const char *n)\n{\n'
                    '\tfor (char **e = environ; *e; e++) ;\n}\n'
                    'void\nuse(void)\n{\n\tflag(\n\t\t"PMEM_HIDDEN_A");\n'
                    '\tfrom_environ("PMEMSHIM_HIDDEN_B");\n'
                    '\tgetenv("PMEM2_DOCUMENTED");\n'
                    '\tcheck("PMEM2_E_FAKE");\n}\n')
        readme = os.path.join(t, "README.md")
        with open(readme, "w") as f:
            f.write("| `PMEM2_DOCUMENTED` | x |\nPMEM_HIDDEN_A unquoted\n")
        with open(os.devnull, "w") as null:
            found, missing = check(t, readme, null)
        want_found = {"PMEM_HIDDEN_A", "PMEMSHIM_HIDDEN_B",
                      "PMEM2_DOCUMENTED"}
        ok = set(found) == want_found and \
            missing == ["PMEMSHIM_HIDDEN_B", "PMEM_HIDDEN_A"]
        print("selftest: found %s, missing %s: %s" %
              (sorted(found), missing, "PASS" if ok else "FAIL"))
        return 0 if ok else 1


def main(argv):
    if len(argv) == 2 and argv[1] == "--selftest":
        return selftest()
    if len(argv) != 2 or argv[1].startswith("-"):
        print(__doc__.split("\n\n")[-1], file=sys.stderr)
        return 2
    root = argv[1]
    readme = os.path.join(root, "README.md")
    if not os.path.isfile(readme):
        print("no README.md in %s" % root, file=sys.stderr)
        return 2
    found, missing = check(root, readme)
    # the scanner itself must still see the variables it is known to read
    for sentinel in ("PMEMSHIM_DAX_PATHS", "PMEM2_FORCE_GRANULARITY",
                     "PMEM_NO_MOVNT"):
        if sentinel not in found:
            print("scan error: %s not found; did the code's getenv "
                  "pattern change?" % sentinel)
            return 2
    if missing:
        return 1
    print("PASS: every variable read is documented in README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
