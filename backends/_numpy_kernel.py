"""The NumPy path's kernel: the loss of flat arrays, block by block, on one thread or several.

Every block is a fixed slice of the input (``BLOCK`` elements), so a block's losses and its float64 sum
are the same whichever thread computes it and however many there are; the block sums are combined in
one exactly rounded ``math.fsum``. The result is therefore bit-identical for every thread count.

A block costs one ``exp``, one ``log1p`` (or one ``log`` and a correction, where NumPy's ``log1p`` is
not vectorized), three divisions and about 17 cheap passes, written with ``out=`` into block-sized scratch
buffers. A block holding anything outside the common case (a non-finite logit, a label outside
[0, 1] such as Paddle's -100, or a subnormal ``1 - p_t``) is recomputed with the reference formulas,
so the numbers are the reference's everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from paddlefocal._reference import focal_elementwise
from paddlefocal._threads import run_all, threads_for

#: Elements per block: the six scratch buffers (384 KiB in float32) stay in the L2 cache, and a ufunc
#: call's fixed cost (about 0.3 us) is spread over enough elements.
BLOCK = 16 * 1024
#: A call uses one thread per this many elements at most.
MIN_ELEMENTS_PER_THREAD = 2 * BLOCK


def _vectorized_log1p() -> frozenset[np.dtype]:
    """The dtypes whose ``np.log1p`` is a SIMD loop on this CPU (NumPy's AVX-512 SVML code).

    Elsewhere ``log1p`` is the C library's, element by element: 3x slower than ``log`` in float32,
    so the kernel takes ``log`` and a first-order correction there.
    """
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # NumPy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as features
    # In float64 log1p is never slower than log plus its correction (four more passes).
    if features.get("AVX512_SKX"):
        return frozenset({np.dtype(np.float32), np.dtype(np.float64)})
    return frozenset({np.dtype(np.float64)})


FAST_LOG1P = _vectorized_log1p()


class _Scratch:
    """The block-sized buffers of one thread: five for the kernel, one for the losses of a sum."""

    __slots__ = ("a", "b", "c", "d", "f", "o")

    def __init__(self, size: int, dtype: np.dtype) -> None:
        self.a, self.b, self.c = np.empty(size, dtype), np.empty(size, dtype), np.empty(size, dtype)
        self.d, self.f, self.o = np.empty(size, dtype), np.empty(size, dtype), np.empty(size, dtype)


def _log1p_exp_and_sigmoids(x: np.ndarray, w: _Scratch, n: int) -> None:
    """``a = sigmoid(x)``, ``c = sigmoid(-x)``, ``d = log1p(exp(-|x|))``; ``b`` and ``f`` are clobbered."""
    a, b, c, d, f = w.a[:n], w.b[:n], w.c[:n], w.d[:n], w.f[:n]
    # One exp: E = exp(-x) and 1 / E = exp(x), whose smaller one is exp(-|x|). Where E overflows
    # (x < -88.7 in float32) or 1 / E does, the sigmoids come out 0 and 1 and exp(-|x|) 0, each within
    # the smallest normal number of the truth; a subnormal 1 - p_t sends the block to the reference.
    np.negative(x, out=a)
    np.exp(a, out=a)
    np.divide(1.0, a, out=c)
    np.minimum(a, c, out=d)
    np.add(a, 1.0, out=a)
    np.add(c, 1.0, out=c)
    if x.dtype in FAST_LOG1P:
        np.log1p(d, out=d)
    else:
        # log1p(e) = log(u) - ((u - 1) - e) / u with u = 1 + e: the rounding of u corrected to first
        # order, as accurate as log1p (and e itself where u rounds to 1).
        np.minimum(a, c, out=b)
        np.subtract(b, 1.0, out=f)
        np.subtract(f, d, out=f)
        np.divide(f, b, out=f)
        np.log(b, out=d)
        np.subtract(d, f, out=d)
    np.divide(1.0, a, out=a)
    np.divide(1.0, c, out=c)


def block_loss(
    x: np.ndarray, y: np.ndarray, alpha: float, gamma: float, w: _Scratch, out: np.ndarray
) -> bool:
    """The loss of one block of labels in [0, 1] into ``out``; False where the block needs the reference.

    The caller checks the labels; a non-finite logit shows as a non-finite loss, which the caller
    checks in the block's sum. Returns False if ``1 - p_t`` is subnormal somewhere (gamma != 0).
    """
    n = x.shape[0]
    _log1p_exp_and_sigmoids(x, w, n)
    s, ym, sn, l1p, t = w.a[:n], w.b[:n], w.c[:n], w.d[:n], w.f[:n]
    np.subtract(y, 1.0, out=ym)
    # ce = y softplus(-x) + (1 - y) softplus(x) = log1p(e) + max(x (1 - y), -x y): one of the two is
    # >= 0 and the other <= 0 for labels in [0, 1], and neither suffers cancellation.
    np.multiply(x, ym, out=t)
    np.multiply(x, y, out=out)
    np.minimum(t, out, out=t)
    np.subtract(l1p, t, out=l1p)
    # 1 - p_t = sigmoid(x) (1 - y) + sigmoid(-x) y: two non-negative terms.
    np.multiply(s, ym, out=s)
    np.multiply(sn, y, out=sn)
    np.subtract(sn, s, out=s)
    q = s
    if gamma != 0.0 and not q.min() >= np.finfo(q.dtype).smallest_normal:
        return False
    # (1 - p_t) ** gamma: the usual gammas without a pow.
    if gamma == 2.0:
        np.square(q, out=q)
    elif gamma == 0.5:
        np.sqrt(q, out=q)
    elif gamma != 1.0 and gamma != 0.0:
        np.power(q, gamma, out=q)
    # alpha_t = (1 - alpha) + (2 alpha - 1) y
    np.multiply(y, 2.0 * alpha - 1.0, out=ym)
    np.add(ym, 1.0 - alpha, out=ym)
    if gamma == 0.0:
        np.multiply(ym, l1p, out=out)
    else:
        np.multiply(q, ym, out=out)
        np.multiply(out, l1p, out=out)
    return True


def _blocks(
    x: np.ndarray,
    y: np.ndarray,
    alpha: float,
    gamma: float,
    out: np.ndarray | None,
    first: int,
    last: int,
    sums: list[float],
) -> None:
    """Blocks ``first`` to ``last - 1`` into ``out`` (if given), their float64 sums into ``sums``."""
    n = x.shape[0]
    w = _Scratch(min(n - first * BLOCK, BLOCK), x.dtype)
    with np.errstate(all="ignore"):
        for i in range(first, last):
            start = i * BLOCK
            xb, yb = x[start : start + BLOCK], y[start : start + BLOCK]
            m = xb.shape[0]
            dest = w.o[:m] if out is None else out[start : start + m]
            ok = yb.min() >= 0.0 and yb.max() <= 1.0 and block_loss(xb, yb, alpha, gamma, w, dest)
            total = float(np.sum(dest, dtype=np.float64)) if ok else math.nan
            if not math.isfinite(total):
                dest[...] = focal_elementwise(np, xb, yb, alpha, gamma)
                total = float(np.sum(dest, dtype=np.float64))
            sums[i] = total


def forward(
    x: np.ndarray, y: np.ndarray, alpha: float, gamma: float, out: np.ndarray | None, threads: bool
) -> float:
    """Per-element losses of flat ``x``, ``y`` into ``out`` (if given); returns their sum in float64.

    ``threads=False`` keeps the call on the calling thread (inside a Dask task, say).
    """
    n = x.shape[0]
    count = -(-n // BLOCK)
    sums = [0.0] * count
    workers = threads_for(n, MIN_ELEMENTS_PER_THREAD) if threads else 1
    bounds = [count * k // workers for k in range(workers + 1)]
    tasks: list[Callable[[], None]] = [
        lambda lo=lo, hi=hi: _blocks(x, y, alpha, gamma, out, lo, hi, sums)
        for lo, hi in zip(bounds[:-1], bounds[1:])
    ]
    run_all(tasks)
    # Exactly rounded, so the total depends on the block sums only, not on who added them.
    return math.fsum(sums)
