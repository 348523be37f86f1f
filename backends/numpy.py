"""NumPy path: a fused, chunked forward that never allocates a full-size temporary.

The arrays are walked in cache-sized blocks; every intermediate lives in a handful of private scratch
buffers of one block each, written with ``out=``. ``'sum'`` and ``'mean'`` accumulate per-block sums in
float64; ``'none'`` writes each block into the result. A block holding anything outside the common case
(a non-finite logit, a label outside [0, 1] such as Paddle's -100, or a subnormal ``1 - p_t``) is handed to
the reference formulas, so the numbers are the reference's everywhere.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from paddlefocal._call import Call
from paddlefocal._reference import focal_elementwise

#: Elements per block: the ten scratch buffers (480 KiB in float32) stay in L2 and under 1% of a
#: 2**24-element input.
BLOCK = 12 * 1024


def _as_float(value: Any) -> float:
    return float(value)


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


class _Scratch:
    """The block-sized buffers of one call: ten, so that they stay under 1% of a 2**24-element input."""

    def __init__(self, size: int, dtype: np.dtype) -> None:
        def buf() -> np.ndarray:
            return np.empty(size, dtype)

        self.nx, self.s, self.sn, self.u, self.l1p = buf(), buf(), buf(), buf(), buf()
        self.omy, self.t, self.ce, self.q = buf(), buf(), buf(), buf()
        # maximum(x, zeros) is vectorized; maximum(x, 0.0) with a scalar is not (4x slower).
        self.zeros = np.zeros(size, dtype)


def _block(
    x: np.ndarray, y: np.ndarray, alpha: float, gamma: float, w: _Scratch, out: np.ndarray
) -> float:
    """The loss of one block of finite logits and labels in [0, 1] into ``out`` (same length).

    ``out`` may be ``w.nx``, which is free by the time it is written. Returns the smallest ``1 - p_t``
    of the block: below the smallest normal number the caller must use the reference's log-space
    factor instead.
    """
    n = x.shape[0]
    nx, s, sn, u, l1p = w.nx[:n], w.s[:n], w.sn[:n], w.u[:n], w.l1p[:n]
    omy, t, ce, q, zeros = w.omy[:n], w.t[:n], w.ce[:n], w.q[:n], w.zeros[:n]
    # sigmoid(+-x) = 1 / (1 + exp(-+x)), each to a few ulps; an exp that overflows gives the 0 that a
    # subnormal sigmoid rounds to. Two exps cost less than selecting by the sign of x (a masked copy is
    # ten times slower than an exp in NumPy), and their minimum is e = exp(-|x|).
    np.negative(x, out=nx)
    np.exp(nx, out=s)
    np.exp(x, out=sn)
    np.minimum(s, sn, out=l1p)  # e, until log1p(e) replaces it
    np.add(s, 1.0, out=s)
    np.reciprocal(s, out=s)
    np.add(sn, 1.0, out=sn)
    np.reciprocal(sn, out=sn)
    # log1p(e) = log(u) - ((u - 1) - e) / u with u = 1 + e: the rounding of u corrected to first order,
    # as accurate as log1p (and e itself where u rounds to 1); NumPy's log is vectorized where its
    # log1p is not (4x slower). 1 / u = sigmoid(|x|) = max(s, s').
    np.add(l1p, 1.0, out=u)
    np.subtract(u, 1.0, out=t)
    np.subtract(t, l1p, out=t)
    np.log(u, out=l1p)
    np.maximum(s, sn, out=u)
    np.multiply(t, u, out=t)
    np.subtract(l1p, t, out=l1p)
    # ce = y softplus(-x) + (1 - y) softplus(x): non-negative terms for labels in [0, 1].
    np.subtract(1.0, y, out=omy)
    np.maximum(x, zeros, out=t)
    np.add(t, l1p, out=t)
    np.multiply(t, omy, out=ce)
    np.maximum(nx, zeros, out=t)
    np.add(t, l1p, out=t)
    np.multiply(t, y, out=t)
    np.add(ce, t, out=ce)
    # 1 - p_t = sigmoid(x) (1 - y) + sigmoid(-x) y
    np.multiply(s, omy, out=q)
    np.multiply(sn, y, out=t)
    np.add(q, t, out=q)
    q_min = float(q.min(initial=1.0))
    # (1 - p_t) ** gamma: the usual gammas without a pow.
    if gamma == 0.0:
        q.fill(1.0)
    elif gamma == 2.0:
        np.square(q, out=q)
    elif gamma == 0.5:
        np.sqrt(q, out=q)
    elif gamma != 1.0:
        np.power(q, gamma, out=q)
    # alpha_t = (1 - alpha) + (2 alpha - 1) y
    np.multiply(y, 2.0 * alpha - 1.0, out=t)
    np.add(t, 1.0 - alpha, out=t)
    np.multiply(t, q, out=out)
    np.multiply(out, ce, out=out)
    return q_min


def _forward_flat(
    x: np.ndarray, y: np.ndarray, alpha: float, gamma: float, out: np.ndarray | None
) -> float:
    """Per-element losses into ``out`` (if given); returns their sum in float64."""
    n = x.shape[0]
    dtype = x.dtype
    w = _Scratch(min(n, BLOCK), dtype)
    tiny = np.finfo(dtype).smallest_normal
    total = 0.0
    for start in range(0, n, BLOCK):
        xb, yb = x[start : start + BLOCK], y[start : start + BLOCK]
        dest = out[start : start + BLOCK] if out is not None else w.nx[: xb.shape[0]]
        regular = bool(
            np.isfinite(xb.min(initial=0.0))
            and np.isfinite(xb.max(initial=0.0))
            and yb.min(initial=0.0) >= 0.0
            and yb.max(initial=0.0) <= 1.0
        )
        if regular:
            q_min = _block(xb, yb, alpha, gamma, w, dest)
            # A subnormal 1 - p_t (a confidently right hard label) needs the log-space factor.
            regular = q_min >= tiny or gamma == 0.0
        if not regular:
            dest[...] = focal_elementwise(np, xb, yb, alpha, gamma)
        total += float(np.sum(dest, dtype=np.float64))
    return total


def loss(call: Call) -> np.ndarray:
    """Sigmoid focal loss of NumPy arrays, fused and chunked."""
    logit, label, normalizer, reduction = call.logit, call.label, call.normalizer, call.reduction
    alpha_f, gamma_f = _as_float(call.alpha), _as_float(call.gamma)
    x, y, order = _flat_pair(np.asarray(logit), np.asarray(label))
    dtype = x.dtype
    # Paddle returns inf for a zero normalizer and nan for the mean of nothing without a word; the
    # discarded branches of the stable formulas (0 * inf at infinite logits) must not warn either.
    with np.errstate(all="ignore"):
        if reduction == "none":
            out = np.empty(x.shape[0], dtype)
            _forward_flat(x, y, alpha_f, gamma_f, out)
            result = out.reshape(logit.shape, order=order)
            if normalizer is not None:
                result = result / normalizer
            return result
        total = _forward_flat(x, y, alpha_f, gamma_f, None)
        value = total
        if reduction == "mean":
            value = total / x.shape[0] if x.shape[0] else np.nan
        result = np.asarray(value, dtype=dtype)
        if normalizer is not None:
            result = np.asarray(result / normalizer, dtype=dtype)
        return result
