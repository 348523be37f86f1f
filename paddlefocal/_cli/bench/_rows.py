"""What the benchmark records: one row per path, size, dtype and thread count."""

from __future__ import annotations

from dataclasses import dataclass

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
    peak_mib: float | None = None
    held_mib: float | None = None
    memory_method: str = ""
    note: str = ""
