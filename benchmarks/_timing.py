"""Timing helper shared by the benchmark scripts (not a benchmark itself)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def best_time(fn: Callable, repeat: int = 3):
    """(the shortest wall time of ``repeat`` calls of ``fn`` in seconds, the output of the last call)."""
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out
