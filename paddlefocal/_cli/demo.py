"""The seed example of Paddle's documentation, run on every installed array library."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _libraries
from .._libraries import Library
from .._loss import sigmoid_focal_loss
from .facts import facts
from .info import installed, quiet_imports

#: Paddle's documented example: logits, labels, and the number of positives as normalizer.
SEED_LOGIT = [[0.97, 0.91, 0.03], [0.55, 0.43, 0.71]]
SEED_LABEL = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
#: The value Paddle's documentation prints for it (float32).
SEED_EXPECTED = 0.65782464

#: Significant digits that identify a value of each dtype (float32: 8, float64: 17).
_DIGITS = {np.dtype(np.float32): 8, np.dtype(np.float64): 17}


def format_value(value: np.ndarray) -> str:
    """A result as text, the same for every library: 8 significant digits in float32, 17 in float64.

    >>> format_value(np.asarray(0.31746447, np.float32))
    '0.31746447'
    """
    value = np.asarray(value)
    digits = _DIGITS.get(value.dtype, 17)

    def number(v: Any) -> str:
        text = format(float(v), f".{digits}g")
        # A float stays a float: 1081954.0, never 1081954 as if it were an integer.
        return text if any(c in text for c in ".enia") else text + ".0"

    if value.ndim == 0:
        return number(value)
    return np.array2string(value, separator=", ", formatter={"float_kind": number})


@dataclass(frozen=True)
class Row:
    library: str
    device: str
    dtype: str
    value: str
    microseconds: float


def seed_arrays(library: Library, device: str) -> tuple[Any, Any, Any]:
    """The seed's logit, label and number of positives as arrays of ``library`` on ``device``."""
    logit = np.asarray(SEED_LOGIT, np.float32)
    label = np.asarray(SEED_LABEL, np.float32)
    fg_num = np.asarray(np.sum(label >= 1.0, dtype=np.float32))
    from_numpy = facts(library).from_numpy
    with quiet_imports():
        return from_numpy(logit, device), from_numpy(label, device), from_numpy(fg_num, device)


def _targets() -> Iterator[tuple[Library, str]]:
    """(library, device) for every installed library of the table and each of its devices."""
    for library in _libraries.LIBRARIES:
        if installed(library):
            with quiet_imports():
                devices = facts(library).devices()
            for device in devices:
                yield library, device


def _time_call(call: Callable[[], Any], block: Callable[[Any], Any], budget: float = 0.1) -> float:
    """Quick timing: microseconds per call over a ~``budget`` second loop, after a warm-up call."""
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
        logit, label, fg_num = seed_arrays(library, device)
        to_numpy = facts(library).to_numpy

        def call(logit: Any = logit, label: Any = label, fg_num: Any = fg_num) -> Any:
            return sigmoid_focal_loss(logit, label, normalizer=fg_num)

        value = to_numpy(call())
        # Lazy libraries (Dask) are timed building the graph and computing it: the work a user waits for.
        micros = _time_call(call, to_numpy, budget)
        rows.append(Row(library.name, device, str(value.dtype), format_value(value), micros))
    return rows


def format_table(header: tuple[str, ...], body: Sequence[tuple[str, ...]]) -> str:
    """Left-aligned columns under a header and a separator row."""
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *body]
    ]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def format_rows(rows: list[Row]) -> str:
    """The rows as an aligned text table."""
    header = ("library", "device", "dtype", "value", "us/call")
    body = [(r.library, r.device, r.dtype, r.value, f"{r.microseconds:.1f}") for r in rows]
    return format_table(header, body)
