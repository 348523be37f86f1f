"""What the benchmark records: one row per path, size, dtype and thread count."""

from __future__ import annotations

from dataclasses import dataclass

from ._timing import Timing

ALPHA, GAMMA = 0.25, 2.0
#: Below this size, memory figures are omitted: fixed scratch buffers and the allocator's granularity
#: (RSS moves in pages, allocators cache) would dominate what a call adds.
MEMORY_MIN_LOG2N = 16
#: ``log2n`` of the rows measured on Paddle's documented 2x3 example.
SEED = -1


@dataclass
class Measurement:
    """Median seconds per call of one path; memory in MiB over the inputs (None: not measured).

    ``log2n`` is ``SEED`` for Paddle's 2x3 example. ``group`` is ``"numpy"`` (forward, one thread as
    NumPy runs it), ``"torch"`` (forward+backward at ``threads``) or ``"split"`` (per-call cost).
    """

    group: str
    path: str
    log2n: int
    dtype: str
    seconds: float | None = None
    threads: int | None = None
    #: The fastest and slowest rounds, seconds per call (``seconds`` is their median).
    seconds_min: float | None = None
    seconds_max: float | None = None
    peak_mib: float | None = None
    held_mib: float | None = None
    memory_method: str = ""
    note: str = ""

    @classmethod
    def timed(
        cls,
        group: str,
        path: str,
        log2n: int,
        dtype: str,
        timing: Timing | None,
        threads: int | None = None,
    ) -> Measurement:
        """A row of one ``compare`` result (None: not measured)."""
        if timing is None:
            return cls(group, path, log2n, dtype, threads=threads)
        low, high = min(timing.samples), max(timing.samples)
        return cls(group, path, log2n, dtype, timing.median, threads, low, high)

    @property
    def spread(self) -> float | None:
        """The slowest round over the fastest (None: not measured)."""
        if not self.seconds_min or self.seconds_max is None:
            return None
        return self.seconds_max / self.seconds_min
