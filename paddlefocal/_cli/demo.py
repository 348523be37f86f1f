"""The seed example of Paddle's documentation, run on every installed array library; text tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import _libraries
from .._libraries import Library
from .._loss import sigmoid_focal_loss
from .facts import facts
from .info import installed, quiet_imports
from .timing import compare

#: Paddle's documented example: logits, labels, and the number of positives as normalizer.
SEED_LOGIT = [[0.97, 0.91, 0.03], [0.55, 0.43, 0.71]]
SEED_LABEL = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
#: The value Paddle's documentation prints for it (float32).
SEED_EXPECTED = 0.65782464


def format_value(value: np.ndarray) -> str:
    """A result as text, the same for every library: 8 significant digits in float32, 17 in float64.

    >>> format_value(np.asarray(0.31746447, np.float32))
    '0.31746447'
    """
    value = np.asarray(value)
    digits = 8 if value.dtype == np.float32 else 17

    def number(v: Any) -> str:
        text = format(float(v), f".{digits}g")
        # A float stays a float: 1081954.0, never 1081954 as if it were an integer.
        return text if any(c in text for c in ".enia") else text + ".0"

    if value.ndim == 0:
        return number(value)
    return np.array2string(value, separator=", ", formatter={"float_kind": number})


def seed_arrays(library: Library, device: str) -> tuple[Any, Any, Any]:
    """The seed's logit, label and number of positives as arrays of ``library`` on ``device``."""
    logit, label = np.asarray(SEED_LOGIT, np.float32), np.asarray(SEED_LABEL, np.float32)
    fg_num = np.asarray(np.sum(label >= 1.0, dtype=np.float32))
    convert = facts(library).from_numpy
    with quiet_imports():
        return convert(logit, device), convert(label, device), convert(fg_num, device)


def _seed_call(library: Library, device: str) -> Callable[[], np.ndarray]:
    logit, label, fg_num = seed_arrays(library, device)
    to_numpy = facts(library).to_numpy
    # Lazy libraries (Dask) are timed building the graph and computing it: the work a user waits for.
    return lambda: to_numpy(sigmoid_focal_loss(logit, label, normalizer=fg_num))


def run_seed_example(budget: float = 0.1) -> list[tuple[str, ...]]:
    """Rows (library, device, dtype, value, us/call) of the seed example on every installed library
    and device."""
    rows: list[tuple[str, ...]] = []
    for library in (library for library in _libraries.LIBRARIES if installed(library)):
        with quiet_imports():
            devices = facts(library).devices()
        for device in devices:
            call = _seed_call(library, device)
            value, us = call(), compare({"": call}, budget)[""].median * 1e6
            rows.append((library.name, device, str(value.dtype), format_value(value), f"{us:.1f}"))
    return rows


def format_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns under a header and a separator row."""
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *body]
    ]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])
