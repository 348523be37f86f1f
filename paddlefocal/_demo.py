"""The seed example of Paddle's documentation, run on every installed array library."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _libraries
from ._info import installed
from ._libraries import Library
from ._loss import sigmoid_focal_loss

#: Paddle's documented example: logits, labels, and the number of positives as normalizer.
SEED_LOGIT = [[0.97, 0.91, 0.03], [0.55, 0.43, 0.71]]
SEED_LABEL = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
#: The value Paddle's documentation prints for it (float32).
SEED_EXPECTED = 0.65782464


@dataclass(frozen=True)
class Row:
    library: str
    device: str
    dtype: str
    value: float
    microseconds: float


def _seed_arrays(library: Library, device: str) -> tuple[Any, Any, Any]:
    """The seed's logit, label and number of positives as arrays of ``library`` on ``device``."""
    logit = np.asarray(SEED_LOGIT, np.float32)
    label = np.asarray(SEED_LABEL, np.float32)
    fg_num = np.asarray(np.sum(label >= 1.0, dtype=np.float32))
    return (
        library.from_numpy(logit, device),
        library.from_numpy(label, device),
        library.from_numpy(fg_num, device),
    )


def _targets() -> Iterator[tuple[Library, str]]:
    """(library, device) for every installed library of the table and each of its devices."""
    for library in _libraries.LIBRARIES:
        if installed(library):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # third-party import-time chatter (Paddle's)
                devices = library.devices()
            for device in devices:
                yield library, device


def _time_call(call: Callable[[], Any], block: Callable[[Any], Any], budget: float = 0.1) -> float:
    """Median-free quick timing: microseconds per call over a ~``budget`` second loop."""
    block(call())  # warm-up: lazy imports, kernel compilation
    runs = 0
    start = time.perf_counter()
    while True:
        block(call())
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget or runs >= 10_000:
            return elapsed / runs * 1e6


def run_seed_example(budget: float = 0.1) -> list[Row]:
    """Run the seed example on every installed library and time one call."""
    rows = []
    for library, device in _targets():
        logit, label, fg_num = _seed_arrays(library, device)
        to_numpy = library.to_numpy

        def call(logit: Any = logit, label: Any = label, fg_num: Any = fg_num) -> Any:
            return sigmoid_focal_loss(logit, label, normalizer=fg_num)

        value = to_numpy(call())
        # Lazy libraries (Dask) are timed building the graph and computing it: the work a user waits for.
        micros = _time_call(call, to_numpy, budget)
        rows.append(Row(library.name, device, str(value.dtype), float(value), micros))
    return rows


def format_rows(rows: list[Row]) -> str:
    """The rows as an aligned text table."""
    header = ("library", "device", "dtype", "value", "us/call")
    body = [(r.library, r.device, r.dtype, f"{r.value:.8f}", f"{r.microseconds:.1f}") for r in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in [header, *body]
    ]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])
