"""Dask path: the fused NumPy kernel on every chunk, lazily.

A Dask array of NumPy chunks is served chunk by chunk by ``paddlefocal.backends.numpy`` through
``map_blocks``: the graph is built at call time and nothing is computed until the caller asks, on any
scheduler (threads, processes, a ``dask.distributed`` cluster). Dask arrays of other chunk types (CuPy)
take the reference formulas, which Dask runs on each chunk's own library.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paddlefocal._reference import apply_normalizer_and_reduction, sigmoid_focal_loss


def _chunk_loss(x: np.ndarray, y: np.ndarray, alpha: float, gamma: float) -> np.ndarray:
    from paddlefocal.backends.numpy import loss as numpy_loss

    result: np.ndarray = numpy_loss(x, y, None, alpha, gamma, "none", xp=np)
    return result


def loss(
    logit: Any, label: Any, normalizer: Any, alpha: Any, gamma: Any, reduction: str, *, xp: Any
) -> Any:
    """Sigmoid focal loss of Dask arrays: lazy in, lazy out."""
    numpy_chunks = isinstance(getattr(logit, "_meta", None), np.ndarray)
    if not numpy_chunks or not isinstance(alpha, float) or not isinstance(gamma, float):
        return sigmoid_focal_loss(logit, label, normalizer, alpha, gamma, reduction, xp=xp)
    import dask.array as da

    if label.chunks != logit.chunks:
        label = label.rechunk(logit.chunks)
    per_element = da.map_blocks(
        _chunk_loss,
        logit,
        label,
        alpha,
        gamma,
        dtype=logit.dtype,
        meta=np.empty((0,) * logit.ndim, logit.dtype),
    )
    return apply_normalizer_and_reduction(xp, per_element, normalizer, reduction)
