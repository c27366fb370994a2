"""GEOS work on both cores: shapely's vectorised functions release the GIL, so threads share them."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray

#: threads for GEOS work (implementation tuning, not policy), and the least work worth a thread
THREADS = min(4, os.cpu_count() or 1)
PARALLEL_MIN = 5_000


def pool() -> ThreadPoolExecutor:
    """A pool for independent parts of a step."""
    return ThreadPoolExecutor(THREADS)


def in_slices(fn: Callable[..., NDArray], *arrays: NDArray) -> NDArray:
    """``fn`` over equal slices of the arrays in threads, concatenated.

    Only for functions that use no prepared geometry (preparing is lazy, not thread-safe).
    """
    n = len(arrays[0])
    threads = min(THREADS, n // PARALLEL_MIN)
    if threads < 2:
        return fn(*arrays)
    cut = np.linspace(0, n, threads + 1).astype(int)
    with ThreadPoolExecutor(threads) as workers:
        parts = workers.map(lambda lo, hi: fn(*(a[lo:hi] for a in arrays)), cut[:-1], cut[1:])
        return np.concatenate(list(parts))
