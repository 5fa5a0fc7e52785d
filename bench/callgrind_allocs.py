#!/usr/bin/env python3
"""Heap allocations in a callgrind dump: calls into operator new and the malloc family from
code that is not itself an allocator (so operator new -> malloc counts once).

    bench/callgrind_allocs.py callgrind.out.1
"""
import re
import sys

ALLOC = re.compile(r"^(operator new(\[\])?\(|malloc$|calloc$|realloc$|aligned_alloc$|posix_memalign$|mi_(malloc|calloc|realloc|new|zalloc)\w*$)")
INNER = re.compile(r"^(operator new|operator delete|malloc|calloc|realloc|free|aligned_alloc|posix_memalign|_mi_|mi_)")


def count(path):
    names = {}
    total = 0
    caller = ""
    callee = None

    def name_of(spec):
        m = re.match(r"\((\d+)\)(?: (.*))?", spec)
        if not m:
            return spec
        if m.group(2) is not None:
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), "")

    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("fn="):
                caller = name_of(line[3:].strip())
            elif line.startswith("cfn="):
                callee = name_of(line[4:].strip())
            elif line.startswith("calls=") and callee is not None:
                if ALLOC.match(callee) and not INNER.match(caller):
                    total += int(line[6:].split()[0])
                callee = None
    return total


if __name__ == "__main__":
    print(count(sys.argv[1]))
