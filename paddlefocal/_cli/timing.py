"""The one timer of the demo, the bench and ``benchmarks/``, and the memory a call adds."""

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


@dataclass(frozen=True)
class Timing:
    """Seconds per call, one sample per round (rounds aligned across the callables of one compare)."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def compare(
    calls: dict[str, Callable[[], Any]],
    budget: float,
    clock: Callable[[], float] = time.perf_counter,
    rounds: tuple[int, int] = (5, 41),
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
        once = []
        for _ in range(2):  # the first call warms up: lazy imports, caches, compilation
            start = time.perf_counter()
            call()
            once.append(time.perf_counter() - start)
        numbers[name] = max(1, int(_SAMPLE_S / max(min(once), 1e-9)))
    samples: dict[str, list[float]] = {name: [] for name in calls}
    order, spent, total = list(calls), 0.0, budget * len(calls)
    for round_ in range(max_rounds):
        if round_ >= min_rounds and spent >= total:
            break
        for name in order if round_ % 2 == 0 else reversed(order):
            start = clock()
            for _ in range(numbers[name]):
                calls[name]()
            elapsed = clock() - start
            spent += elapsed
            samples[name].append(elapsed / numbers[name])
        if round_ + 1 >= min(3, min_rounds) and spent > 3 * total:
            break  # slow calls: three rounds are all the budget allows
    return {name: Timing(tuple(values)) for name, values in samples.items()}


def rss_bytes() -> int:
    """The resident set of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_peak_mib(call: Callable[[], Any], repeats: int = 3) -> float:
    """Peak growth of the resident set while ``call`` runs ``repeats`` times, MiB, sampled every
    millisecond (for allocators that tracemalloc cannot see; short calls get several chances)."""
    gc.collect()
    start = peak = rss_bytes()
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_bytes())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        for _ in range(repeats):
            call()
    finally:
        done.set()
        sampler.join()
    return (max(peak, rss_bytes()) - start) / 2**20


def tracemalloc_peak_mib(call: Callable[[], Any]) -> float:
    """Peak MiB allocated during ``call`` as NumPy reports it to tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
