"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def median_rate(fn: Callable[[], object], items: int, repeats: int) -> float:
    """Median items per second of `repeats` calls of `fn`, each handling `items` items."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        rates.append(items / (time.perf_counter() - start))
    return statistics.median(rates)


def peak_rss_mb() -> float:
    """This process's own peak resident memory (VmHWM; unlike ru_maxrss it is not inherited
    from the parent across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
