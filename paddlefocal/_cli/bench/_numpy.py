"""NumPy forward beside its floor (one exp and one log pass), the naive op sequence and Paddle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..._loss import sigmoid_focal_loss
from ..info import quiet_imports
from ._rows import ALPHA, GAMMA, MEMORY_MIN_LOG2N, Measurement
from ._timing import compare, rss_peak_mib, tracemalloc_peak_mib

OURS, FLOOR, NAIVE, REFERENCE, PADDLE = (
    "ours",
    "exp+log floor",
    "naive NumPy",
    "reference path",
    "Paddle",
)
#: The pure Array API reference takes seconds per call at 2**24; it is timed up to this size.
_REFERENCE_MAX_LOG2N = 20


def _naive(x: np.ndarray, y: np.ndarray) -> Any:
    """Paddle's op sequence written naively in NumPy (full-size temporaries)."""
    with np.errstate(all="ignore"):
        p = 1.0 / (1.0 + np.exp(-x))
        ce = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
        p_t = p * y + (1 - p) * (1 - y)
        a_t = ALPHA * y + (1 - ALPHA) * (1 - y)
        return np.sum(a_t * (1 - p_t) ** GAMMA * ce)


def _floor(x: np.ndarray) -> Any:
    """One exp and one log pass over the logits: the least any implementation must do."""
    return np.log(np.exp(x))


def inputs(log2n: int, dtype: str, shape: tuple[int, ...] | None = None) -> tuple[Any, Any]:
    """Logits ~ N(0, 3) and labels with 10% positives, seeded."""
    rng = np.random.default_rng(0)
    shape = shape or (2**log2n,)
    x = rng.normal(scale=3.0, size=shape).astype(dtype)
    y = (rng.uniform(size=shape) < 0.1).astype(dtype)
    return x, y


def _paddle_forward(x: np.ndarray, y: np.ndarray) -> Callable[[], Any] | None:
    try:
        with quiet_imports():
            import paddle
            import paddle.nn.functional as PF
    except ImportError:
        return None
    # Paddle fails on 1-D inputs: shape [1, N].
    px = paddle.to_tensor(x.reshape(1, -1))
    py = paddle.to_tensor(y.reshape(1, -1))
    return lambda: PF.sigmoid_focal_loss(px, py, None, ALPHA, GAMMA)


def measure(log2n: int, dtype: str, budget: float, with_paddle: bool) -> list[Measurement]:
    """Forward time of every NumPy-side path at one size; memory from ``MEMORY_MIN_LOG2N`` on."""
    from ...backends import use

    x, y = inputs(log2n, dtype)

    def reference() -> Any:
        with use("reference"), np.errstate(all="ignore"):
            return sigmoid_focal_loss(x, y, None, ALPHA, GAMMA)

    calls: dict[str, Callable[[], Any]] = {
        OURS: lambda: sigmoid_focal_loss(x, y, None, ALPHA, GAMMA),
        FLOOR: lambda: _floor(x),
        NAIVE: lambda: _naive(x, y),
    }
    if log2n <= _REFERENCE_MAX_LOG2N:
        calls[REFERENCE] = reference
    paddle = _paddle_forward(x, y) if with_paddle else None
    if paddle is not None:
        calls[PADDLE] = paddle
    times = compare(calls, budget)
    rows = []
    for name, call in calls.items():
        row = Measurement.timed("numpy", name, log2n, dtype, times[name])
        if log2n >= MEMORY_MIN_LOG2N:
            # Paddle's CPU allocator does not report to tracemalloc: sample the resident set.
            row.memory_method = "rss" if name == PADDLE else "tracemalloc"
            row.peak_mib = (rss_peak_mib if name == PADDLE else tracemalloc_peak_mib)(call)
        rows.append(row)
    return rows
