"""Dask path: the NumPy kernel on every chunk, lazily.

A Dask array of NumPy chunks is served chunk by chunk by the NumPy kernel under the driver, through
``map_blocks``: the graph is built at call time and nothing is computed until the caller asks, on any
scheduler (threads, processes, a ``dask.distributed`` cluster). Dask arrays of other chunk types (CuPy)
take the reference formulas, which Dask runs on each chunk's own library.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paddlefocal._call import Call
from paddlefocal._driver import run, serves
from paddlefocal._reference import apply_normalizer_and_reduction, reference_loss


def _chunk_loss(x: np.ndarray, y: np.ndarray, alpha: float, gamma: float) -> np.ndarray:
    from paddlefocal.backends.numpy import block_size, kernel

    # Dask already runs one task per core: the kernel stays on the task's thread.
    call = Call(x, y, None, alpha, gamma, "none", np)
    result: np.ndarray = run(call, kernel, block_size(x), threads=False)[0]
    return result


def loss(call: Call) -> Any:
    """Sigmoid focal loss of Dask arrays: lazy in, lazy out."""
    logit, label = call.logit, call.label
    if not isinstance(getattr(logit, "_meta", None), np.ndarray) or not serves(call):
        return reference_loss(call)
    import dask.array as da

    if label.chunks != logit.chunks:
        label = label.rechunk(logit.chunks)
    per_element = da.map_blocks(
        _chunk_loss,
        logit,
        label,
        call.alpha,
        call.gamma,
        dtype=logit.dtype,
        meta=np.empty((0,) * logit.ndim, logit.dtype),
    )
    return apply_normalizer_and_reduction(call.xp, per_element, call.normalizer, call.reduction)
