#!/usr/bin/env python3
"""make function-length: fails when a function in src/ is longer than LIMIT lines.

A function is counted from the line that names it to its closing brace, as the
code is laid out here (kernel style: the body's braces in column 0). One line per
function over the limit, then a summary; exit 1 when there is any.
"""
import os
import re
import sys

LIMIT = 120
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")


def functions(path):
    """(name, first line, length) of every function defined in a C file."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i] == "{" and i > 0:
            head = i - 1
            while head > 0 and "(" not in lines[head]:
                head -= 1
            m = NAME.search(lines[head])
            end = i + 1
            while end < len(lines) and lines[end] != "}":
                end += 1
            if m and not lines[head].lstrip().startswith(("struct", "enum", "union")):
                yield m.group(1), head + 1, end - head + 1
            i = end
        i += 1


def main():
    over = []
    count = 0
    for d, _, files in os.walk(os.path.join(ROOT, "src")):
        for name in sorted(files):
            if not name.endswith(".c"):
                continue
            path = os.path.join(d, name)
            for fn, line, n in functions(path):
                count += 1
                if n > LIMIT:
                    over.append((os.path.relpath(path, ROOT), line, fn, n))
    for path, line, fn, n in sorted(over):
        print("function-length: %s:%d: %s is %d lines (at most %d)" % (path, line, fn, n, LIMIT),
              file=sys.stderr)
    if over:
        print("function-length: %d of %d functions are longer than %d lines"
              % (len(over), count, LIMIT), file=sys.stderr)
        return 1
    print("function-length: all %d functions in src/ are at most %d lines" % (count, LIMIT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
