"""The early route of the front-end: common valid calls confirmed in about a microsecond.

NumPy arrays or dense torch tensors on one device, float32 or float64, equal shapes, an absent or
well-formed normalizer and Python numbers for alpha and gamma: the early route only confirms these and
builds the Call. It raises nothing: for anything else it returns None, and the full route
(``_validation``) decides, with the message that says what is wrong. Per-type facts are compared by
identity (dtype singletons, exact types), and nothing is allocated but the Call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _arrays
from ._call import Call
from ._typing import Reduction

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)

#: The largest magnitude of alpha and gamma per dtype: half the largest finite number, so that the
#: class weights (1 - alpha, 2 alpha - 1) and gamma +- 1 stay finite in the dtype.
LIMITS: dict[Any, float] = {
    _F32: float(np.finfo(_F32).max) / 2,
    _F64: float(np.finfo(_F64).max) / 2,
}


def early_call(
    logit: Any, label: Any, normalizer: Any, alpha: Any, gamma: Any, reduction: Reduction
) -> Call | None:
    """The Call of a valid common call, or None (the full route then decides)."""
    kind = type(logit)
    if kind is np.ndarray and type(label) is np.ndarray:
        return _numpy_early(logit, label, normalizer, alpha, gamma, reduction)
    if kind is _arrays.torch_tensor and type(label) is kind:
        return _torch_early(logit, label, normalizer, alpha, gamma, reduction)
    return None


def _number_within(value: Any, limit: float) -> bool:
    """A Python int or float (not a bool) within the dtype's limit; nan fails the comparison."""
    kind = type(value)
    return (kind is float or kind is int) and -limit <= value <= limit


def _numpy_early(
    logit: Any, label: Any, normalizer: Any, alpha: Any, gamma: Any, reduction: Reduction
) -> Call | None:
    """The Call of a valid common NumPy call, or None (the full route then decides)."""
    dtype = logit.dtype
    if (dtype is not _F32 and dtype is not _F64) or label.dtype is not dtype:
        return None
    if label.shape != logit.shape:
        return None
    limit = LIMITS[dtype]
    if not (_number_within(alpha, limit) and _number_within(gamma, limit)):
        return None
    if normalizer is not None:
        if type(normalizer) is not np.ndarray:
            return None
        n_dtype = normalizer.dtype
        if (n_dtype is not _F32 and n_dtype is not _F64) or normalizer.shape not in ((), (1,)):
            return None
        if normalizer.ndim:
            normalizer = normalizer.reshape(())
        if n_dtype is not dtype:
            normalizer = normalizer.astype(dtype)
    return Call(logit, label, normalizer, float(alpha), float(gamma), reduction, np)


def _torch_early(
    logit: Any, label: Any, normalizer: Any, alpha: Any, gamma: Any, reduction: Reduction
) -> Call | None:
    """The Call of a valid common torch call (dense tensors on one real device), or None."""
    facts = _arrays.torch_facts
    if facts is None:
        return None
    tensor, strided, limits, xp = facts
    dtype = logit.dtype
    limit = limits.get(dtype)  # None for any dtype but float32 and float64
    if limit is None or label.dtype is not dtype:
        return None
    if logit.layout is not strided or label.layout is not strided or logit.is_nested:
        return None
    if label.is_nested or label.shape != logit.shape or logit.is_meta:
        return None
    device = logit.device
    if label.device != device:
        return None
    if not (_number_within(alpha, limit) and _number_within(gamma, limit)):
        return None
    if normalizer is not None:
        if type(normalizer) is not tensor:
            return None
        n_dtype = normalizer.dtype
        if n_dtype not in limits or normalizer.layout is not strided or normalizer.is_nested:
            return None
        if normalizer.shape not in ((), (1,)) or normalizer.device != device:
            return None
        if normalizer.ndim:
            normalizer = normalizer.reshape(())
        if n_dtype is not dtype:
            normalizer = normalizer.to(dtype)
    return Call(logit, label, normalizer, float(alpha), float(gamma), reduction, xp)
