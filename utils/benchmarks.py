"""The course's benchmarks: `make bench` runs every registered one and prints one table.

Each benchmark is a function returning rows of (what, value, unit). Register with `@benchmark`.
Timings belong here, never in tests.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable, Iterable

Row = tuple[str, float, str]
BENCHMARKS: dict[str, Callable[[], Iterable[Row]]] = {}


def benchmark(function: Callable[[], Iterable[Row]]) -> Callable[[], Iterable[Row]]:
    """Register `function` as a benchmark named after it."""
    BENCHMARKS[function.__name__] = function
    return function


def best_time(function: Callable[[], object], repeats: int = 5) -> float:
    """Best wall-clock time of `repeats` calls, in seconds (best of: least disturbed by noise)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    """Run every benchmark and print a table."""
    print(
        f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    if not BENCHMARKS:
        print("No benchmarks registered yet.")
        return 0
    print(f"{'benchmark':<28} {'measurement':<48} {'value':>12}  unit")
    for name, function in BENCHMARKS.items():
        for what, value, unit in function():
            print(f"{name:<28} {what:<48} {value:>12.4g}  {unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
