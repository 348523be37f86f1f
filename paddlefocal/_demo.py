"""The seed example of Paddle's documentation, run on every installed array library."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

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


def _seed_inputs(xp: Any, device: Any = None) -> tuple[Any, Any, Any]:
    kwargs = {} if device is None else {"device": device}
    logit = xp.asarray(np.asarray(SEED_LOGIT, np.float32), **kwargs)
    label = xp.asarray(np.asarray(SEED_LABEL, np.float32), **kwargs)
    # np.sum returns a NumPy scalar; asarray keeps the normalizer an array on every library.
    fg_num = xp.asarray(xp.sum(xp.astype(label >= 1.0, xp.float32)))
    return logit, label, fg_num


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _namespaces() -> Iterator[tuple[str, str, Any, Any, Callable[[Any], Any]]]:
    """(library, device name, namespace, device, to_numpy) for every installed library."""
    import array_api_compat.numpy as xp_numpy

    yield "numpy", "cpu", xp_numpy, None, np.asarray
    if _installed("torch"):
        import array_api_compat.torch as xp_torch
        import torch

        yield "torch", "cpu", xp_torch, "cpu", lambda t: t.detach().cpu().numpy()
        if torch.cuda.is_available():
            yield "torch", "cuda", xp_torch, "cuda", lambda t: t.detach().cpu().numpy()
    if _installed("jax"):
        import jax
        import jax.numpy as jnp

        for device in jax.devices():
            yield "jax", str(device.platform), jnp, device, np.asarray
    if _installed("cupy"):
        try:
            import cupy

            cupy.cuda.runtime.getDeviceCount()
            yield "cupy", "cuda", cupy, None, cupy.asnumpy
        except Exception:  # installed without a usable GPU
            pass
    if _installed("dask"):
        import array_api_compat.dask.array as xp_dask

        yield "dask", "cpu", xp_dask, None, lambda a: np.asarray(a.compute())
    if _installed("array_api_strict"):
        import array_api_strict

        yield "array-api-strict", "cpu", array_api_strict, None, np.asarray


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
    for library, device_name, xp, device, to_numpy in _namespaces():
        logit, label, fg_num = _seed_inputs(xp, device)

        def call(logit: Any = logit, label: Any = label, fg_num: Any = fg_num) -> Any:
            return sigmoid_focal_loss(logit, label, normalizer=fg_num)

        value = to_numpy(call())
        # Lazy libraries (Dask) are timed building the graph and computing it: the work a user waits for.
        micros = _time_call(call, to_numpy, budget)
        rows.append(Row(library, device_name, str(value.dtype), float(value), micros))
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
