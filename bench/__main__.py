"""`make bench`: runs every benchmark that exists."""

import sys

BENCHMARKS: list[str] = []

if not BENCHMARKS:
    sys.stdout.write("no benchmark exists yet: the benchmark issue adds them\n")
