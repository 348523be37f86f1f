"""Timing by medians of alternating repeats, and the memory a call adds over its inputs."""

from __future__ import annotations

import gc
import os
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: A timed sample lasts at least this long: a 20 us call is repeated inside one sample.
_SAMPLE_S = 2e-3
_MIN_ROUNDS, _MAX_ROUNDS = 5, 41


#: A row whose slowest repeat took more than this many times its fastest is not to be trusted.
WIDE_SPREAD = 1.5


@dataclass(frozen=True)
class Timing:
    """Seconds per call, one sample per round (rounds aligned across the callables of one compare)."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> float:
        """The slowest round over the fastest."""
        return max(self.samples) / max(min(self.samples), 1e-12)


def compare(
    calls: dict[str, Callable[[], Any]],
    budget: float,
    clock: Callable[[], float] = time.perf_counter,
    rounds: tuple[int, int] = (_MIN_ROUNDS, _MAX_ROUNDS),
) -> dict[str, Timing]:
    """Seconds per call of each callable, timed in alternating rounds in this process.

    Alternating (A B C, C B A, A B C, ...) spreads slow drifts of a shared machine over every
    callable, so their ratios hold where their absolute times do not. Each callable is warmed up once;
    rounds go on until about ``budget`` seconds per callable are spent (``rounds``: at least, at most).
    ``clock=time.process_time`` measures CPU time instead of wall-clock time.
    """
    min_rounds, max_rounds = rounds
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
    for round_ in range(max_rounds):
        if round_ >= min_rounds and spent >= budget * len(calls):
            break
        for name in order if round_ % 2 == 0 else reversed(order):
            call, number = calls[name], numbers[name]
            start = clock()
            for _ in range(number):
                call()
            elapsed = clock() - start
            spent += elapsed
            samples[name].append(elapsed / number)
        if round_ + 1 >= min(3, min_rounds) and spent > 3 * budget * len(calls):
            break  # slow calls: three rounds are all the budget allows
    return {name: Timing(tuple(values)) for name, values in samples.items()}


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
