"""Timing by medians of alternating repeats, and the memory a call adds over its inputs."""

from __future__ import annotations

import gc
import os
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

#: A timed sample lasts at least this long: a 20 us call is repeated inside one sample.
_SAMPLE_S = 2e-3
_MIN_ROUNDS, _MAX_ROUNDS = 5, 41


def compare(calls: dict[str, Callable[[], Any]], budget: float) -> dict[str, float]:
    """Median seconds per call of each callable, timed in alternating rounds in this process.

    Alternating (A B C, C B A, A B C, ...) spreads slow drifts of a shared machine over every
    callable, so their ratios hold where their absolute times do not. Each callable is warmed up once;
    rounds go on until about ``budget`` seconds per callable are spent (at least 5, at most 41).
    """
    numbers = {}
    for name, call in calls.items():
        start = time.perf_counter()
        call()  # warm-up: lazy imports, caches, compilation
        elapsed = time.perf_counter() - start
        start = time.perf_counter()
        call()
        elapsed = min(elapsed, time.perf_counter() - start)
        numbers[name] = max(1, int(_SAMPLE_S / max(elapsed, 1e-9)))
    samples: dict[str, list[float]] = {name: [] for name in calls}
    order = list(calls)
    spent = 0.0
    for round_ in range(_MAX_ROUNDS):
        if round_ >= _MIN_ROUNDS and spent >= budget * len(calls):
            break
        for name in order if round_ % 2 == 0 else reversed(order):
            call, number = calls[name], numbers[name]
            start = time.perf_counter()
            for _ in range(number):
                call()
            elapsed = time.perf_counter() - start
            spent += elapsed
            samples[name].append(elapsed / number)
        if round_ + 1 >= 3 and spent > 3 * budget * len(calls):
            break  # slow calls: three rounds are all the budget allows
    return {name: statistics.median(values) for name, values in samples.items()}


def rss_bytes() -> int:
    """The resident set of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _RssPeak:
    """Samples the resident set every millisecond while active; peak over the starting value."""

    def __init__(self) -> None:
        self.start = rss_bytes()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(0.001)

    def __enter__(self) -> _RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def tracemalloc_peak_mib(call: Callable[[], Any]) -> float:
    """Peak MiB allocated during ``call`` as NumPy reports it to tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def rss_peak_mib(call: Callable[[], Any]) -> float:
    """Peak growth of the resident set during ``call``, MiB (for allocators tracemalloc cannot see)."""
    gc.collect()
    with _RssPeak() as sampler:
        for _ in range(3):  # short calls: give the millisecond sampler more than one chance
            call()
    return (sampler.peak - sampler.start) / 2**20
