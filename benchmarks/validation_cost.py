"""What the front-end's checks cost per call: ``python benchmarks/validation_cost.py``.

On the seed example of Paddle's documentation (a 2x3 float32 logit and label, a 0-D normalizer, the
default alpha, gamma and reduction), for NumPy and torch (when installed): the median time of the checks
alone (``paddlefocal._validation.validate``) and of the whole call (``sigmoid_focal_loss``), measured in
alternating rounds in one process so that a noisy machine affects both alike.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import paddlefocal
from paddlefocal._validation import validate

#: Calls per round and rounds; the figure is the median over rounds of the mean per call.
CALLS = 2000
ROUNDS = 31


def _seed_numpy() -> tuple[Any, Any, Any]:
    logit = np.array([[0.97, 0.91, 0.03], [0.55, 0.43, 0.71]], np.float32)
    label = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32)
    normalizer = np.asarray(np.sum(label >= 1.0, dtype=np.float32))
    return logit, label, normalizer


def _seed_torch() -> tuple[Any, Any, Any] | None:
    try:
        import torch
    except ImportError:
        return None
    logit, label, normalizer = _seed_numpy()
    return torch.from_numpy(logit), torch.from_numpy(label), torch.from_numpy(normalizer)


def _per_call(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    for _ in range(CALLS):
        fn()
    return (time.perf_counter() - start) / CALLS


def measure(arrays: tuple[Any, Any, Any]) -> tuple[float, float]:
    """Median microseconds per call of (the checks, the whole call)."""
    logit, label, normalizer = arrays

    def checks() -> Any:
        return validate(logit, label, normalizer, 0.25, 2.0, "sum")

    def whole() -> Any:
        return paddlefocal.sigmoid_focal_loss(logit, label, normalizer)

    whole()  # the first call resolves the backend and fills the caches
    check_times, whole_times = [], []
    for _ in range(ROUNDS):
        check_times.append(_per_call(checks))
        whole_times.append(_per_call(whole))
    return statistics.median(check_times) * 1e6, statistics.median(whole_times) * 1e6


def main() -> int:
    rows = [("numpy", _seed_numpy())]
    seed_torch = _seed_torch()
    if seed_torch is not None:
        rows.append(("torch", seed_torch))
    print("per call on the seed's 2x3 (float32, 0-D normalizer), medians of alternating rounds")
    print(f"{'library':8} {'checks (us)':>12} {'whole call (us)':>16} {'checks share':>13}")
    for name, arrays in rows:
        checks, whole = measure(arrays)
        print(f"{name:8} {checks:12.2f} {whole:16.2f} {checks / whole:13.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
