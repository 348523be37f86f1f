"""Dask path: the NumPy kernel on every chunk, lazily.

A Dask array of NumPy chunks is served chunk by chunk by the NumPy kernel under the driver, through
``map_blocks``: the graph is built at call time and nothing is computed until the caller asks, on any
scheduler (threads, processes, a ``dask.distributed`` cluster). Calls that no kernel serves (0-D array
``alpha``/``gamma``, a negative ``gamma``) take the reference formulas on each chunk, and Paddle's
division by a zero normalizer runs on each chunk too: there under NumPy's error state, quiet as on
NumPy, which a lazy graph built here could not be. Dask arrays of other chunk types (CuPy) take the
reference formulas, which Dask runs on each chunk's own library.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from paddlefocal._call import Call
from paddlefocal._driver import run, serves
from paddlefocal._reference import focal_elementwise, reference_loss


def _chunk_loss(x: np.ndarray, y: np.ndarray, alpha: Any, gamma: Any) -> np.ndarray:
    from paddlefocal.backends.numpy import block_size, kernel

    call = Call(x, y, None, alpha, gamma, "none", np)
    if not serves(call):  # 0-D arrays arrive as NumPy arrays
        with np.errstate(all="ignore"):
            return focal_elementwise(np, x, y, alpha, gamma)
    # Dask already runs one task per core: the kernel stays on the task's thread.
    result: np.ndarray = run(call, kernel, block_size(x), threads=False)[0]
    return result


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):  # Paddle's inf or nan for a zero normalizer
        return np.true_divide(a, b, dtype=a.dtype)


def loss(call: Call) -> Any:
    """Sigmoid focal loss of Dask arrays: lazy in, lazy out."""
    logit, label, normalizer = call.logit, call.label, call.normalizer
    if not isinstance(getattr(logit, "_meta", None), np.ndarray):
        return reference_loss(call)
    import dask.array as da

    if label.chunks != logit.chunks:
        label = label.rechunk(logit.chunks)
    dtype = logit.dtype
    per_element = da.map_blocks(
        _chunk_loss,
        logit,
        label,
        call.alpha,
        call.gamma,
        dtype=dtype,
        meta=np.empty((0,) * logit.ndim, dtype),
    )
    if call.reduction == "none":
        if normalizer is None:
            return per_element
        return da.map_blocks(_divide, per_element, normalizer, dtype=dtype)
    # As the reference: summed in float64, averaged and divided there, rounded once.
    total = da.sum(per_element, dtype=np.float64)
    if call.reduction == "mean":
        size = math.prod(logit.shape)
        total = total / size if size else total * math.nan
    if normalizer is not None:
        total = da.map_blocks(_divide, total, normalizer.astype(np.float64), dtype=np.float64)
    return total.astype(dtype)
