"""NumPy path: a fused, block-wise forward that never allocates a full-size temporary, on all cores.

Large inputs are cut into fixed blocks (``paddlefocal.backends._numpy_kernel``) that run on up to
``paddlefocal.get_num_threads()`` threads; the result is bit-identical for every thread count. Tiny
inputs (a few elements) take a scalar loop in double precision, where a NumPy ufunc call would cost
more than the arithmetic. Either way a block (or a tiny input) holding an element outside the common
case (a non-finite logit, a label outside [0, 1] such as Paddle's -100, a subnormal ``1 - p_t``) gets
the reference formulas, and so does a negative gamma: the numbers are the reference's everywhere.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from paddlefocal._call import Call
from paddlefocal._reference import focal_elementwise, reference_loss

from ._numpy_kernel import forward

#: Up to this many elements, a scalar loop (about 0.5 us an element) beats the ufuncs' fixed cost.
TINY = 16
_TINY_NORMAL = float(np.finfo(np.float64).smallest_normal)


def _flat_pair(
    logit: np.ndarray, label: np.ndarray
) -> tuple[np.ndarray, np.ndarray, Literal["C", "F"]]:
    """1-D views in one element order, without a copy when both share a memory layout."""
    if logit.strides == label.strides and (logit.flags.c_contiguous or logit.flags.f_contiguous):
        order: Literal["C", "F"] = (
            "F" if logit.flags.f_contiguous and not logit.flags.c_contiguous else "C"
        )
        return logit.ravel(order=order), label.ravel(order=order), order
    # Strided views or mismatched layouts: one copy each, in C order.
    return np.ravel(logit, order="C"), np.ravel(label, order="C"), "C"


def _tiny(xs: list[float], ys: list[float], alpha: float, gamma: float) -> list[float] | None:
    """Per-element losses in double precision; None if an element needs the reference formulas."""
    losses = []
    exp, log1p = math.exp, math.log1p
    for x, y in zip(xs, ys, strict=True):
        if not (0.0 <= y <= 1.0) or not -math.inf < x < math.inf:
            return None
        e = exp(-abs(x))
        inv = 1.0 / (1.0 + e)
        # The same stable terms as the reference: softplus and 1 - p_t from non-negative parts.
        if x >= 0.0:
            ce = log1p(e) + x * (1.0 - y)
            q = inv * (1.0 - y) + e * inv * y
        else:
            ce = log1p(e) - x * y
            q = e * inv * (1.0 - y) + inv * y
        if q < _TINY_NORMAL and gamma != 0.0:
            return None
        losses.append((alpha * y + (1.0 - alpha) * (1.0 - y)) * q**gamma * ce)
    return losses


def loss(call: Call, threads: bool = True) -> np.ndarray:
    """Sigmoid focal loss of NumPy arrays, fused, block-wise and threaded."""
    logit, label, normalizer, reduction = call.logit, call.label, call.normalizer, call.reduction
    alpha, gamma = float(call.alpha), float(call.gamma)
    if gamma < 0.0:
        # The reference computes a negative gamma's factor in log space.
        with np.errstate(all="ignore"):
            return reference_loss(call)
    x, y, order = _flat_pair(np.asarray(logit), np.asarray(label))
    n, dtype = x.shape[0], x.dtype
    out = None
    losses = _tiny(x.tolist(), y.tolist(), alpha, gamma) if n <= TINY else None
    if losses is not None:
        total = math.fsum(losses)
        if reduction == "none":
            out = np.array(losses, dtype)
    elif n <= TINY:
        # The odd elements of a tiny input: the reference formulas, with their quiet discarded
        # branches (0 * inf at infinite logits).
        with np.errstate(all="ignore"):
            out = focal_elementwise(np, x, y, alpha, gamma)
        total = float(np.sum(out, dtype=np.float64))
    else:
        out = np.empty(n, dtype) if reduction == "none" else None
        total = forward(x, y, alpha, gamma, out, threads)
    if reduction == "none":
        assert out is not None
        result: Any = out.reshape(logit.shape, order=order)
        if normalizer is not None:
            # Paddle returns inf for a zero normalizer without a word.
            with np.errstate(all="ignore"):
                np.divide(result, normalizer, out=result)
        return result
    if reduction == "mean":
        total = total / n if n else math.nan  # Paddle's mean of nothing: nan, without a word
    if normalizer is None:
        return np.asarray(total, dtype=dtype)
    # Both operands rounded to logit's dtype first, as the reference divides; a quotient of two float32
    # numbers computed in double and rounded to float32 is their float32 quotient.
    value, divisor = float(dtype.type(total)), float(normalizer)
    if divisor != 0.0:
        return np.asarray(value / divisor, dtype=dtype)
    with np.errstate(all="ignore"):  # Paddle's inf (or nan) for a zero normalizer, without a word
        return np.asarray(np.divide(dtype.type(value), normalizer), dtype=dtype)
