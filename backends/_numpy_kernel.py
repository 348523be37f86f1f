"""The NumPy path's kernel: the loss of flat arrays, block by block, on one thread or several.

Every block is a fixed slice of the input (``block_size`` elements), so a block's losses and its
float64 sum are the same whichever thread computes it and however many threads there are; the block
sums are added in one exactly rounded ``math.fsum``. The result is bit-identical for every thread count.

A block costs one ``exp``, one ``log1p`` (or one ``log`` and a correction where NumPy's ``log1p`` is not
vectorized), two divisions, 15 cheap passes and four reductions, written with ``out=`` into
block-sized scratch buffers that each thread keeps. A block holding anything outside the common case
(a non-finite logit, a label outside [0, 1] such as Paddle's -100, a subnormal ``1 - p_t``, or for
gamma != 0 a logit so negative that ``exp(-x)`` overflows: below -88.7 in float32, -709 in float64)
is recomputed with the reference formulas, so the numbers are the reference's everywhere.
"""

from __future__ import annotations

import importlib
import itertools
import math
import threading
from collections.abc import Callable

import numpy as np

from paddlefocal._reference import focal_elementwise
from paddlefocal._threads import run_all, threads_for

#: Bytes per block buffer: the x and y blocks and the six scratch buffers (1 MiB) stay in a core's L2
#: cache, and a ufunc call's fixed cost (about 0.3 us) is spread over 16 Ki to 32 Ki elements.
BLOCK_BYTES = 128 * 1024


def block_size(dtype: np.dtype) -> int:
    """Elements per block: 32768 in float32, 16384 in float64."""
    return BLOCK_BYTES // dtype.itemsize


#: Blocks per thread at the least: below that, handing blocks to a thread costs more than it saves
#: (measured: 2 threads on 2 or 4 blocks took 1.3-1.7x the time of one thread).
THREAD_BLOCKS = 4


def thread_grain(dtype: np.dtype) -> int:
    """Elements per thread at the least: a call over ``n`` elements uses at most ``n // grain``."""
    return THREAD_BLOCKS * block_size(dtype)


def cpu_features() -> dict[str, bool]:
    """NumPy's table of the CPU features its SIMD dispatch may use (``numpy.show_runtime()``'s)."""
    for name in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
        try:
            return dict(importlib.import_module(name).__cpu_features__)
        except (ImportError, AttributeError):
            continue
    return {}


def _vectorized_log1p() -> frozenset[np.dtype]:
    """The dtypes whose ``np.log1p`` is a SIMD loop on this CPU (NumPy's AVX-512 SVML code).

    Elsewhere ``log1p`` is the C library's, element by element: 3x slower than ``log`` in float32,
    so the kernel takes ``log`` and a first-order correction there. In float64 ``log1p`` is never
    slower than ``log`` plus its correction (four more passes).
    """
    if cpu_features().get("AVX512_SKX"):
        return frozenset({np.dtype(np.float32), np.dtype(np.float64)})
    return frozenset({np.dtype(np.float64)})


FAST_LOG1P = _vectorized_log1p()
# The reductions as ufunc methods: np.sum and ndarray.min add a Python-level wrapper per call.
_min, _max, _sum = np.minimum.reduce, np.maximum.reduce, np.add.reduce
_SMALLEST_NORMAL = {
    np.dtype(t): float(np.finfo(t).smallest_normal) for t in (np.float32, np.float64)
}


class _Scratch:
    """The block-sized buffers of one thread: five for the kernel, one for the losses of a sum."""

    __slots__ = ("a", "b", "c", "d", "f", "o")

    def __init__(self, size: int, dtype: np.dtype) -> None:
        self.a, self.b, self.c = np.empty(size, dtype), np.empty(size, dtype), np.empty(size, dtype)
        self.d, self.f, self.o = np.empty(size, dtype), np.empty(size, dtype), np.empty(size, dtype)


_local = threading.local()


def _scratch(dtype: np.dtype) -> _Scratch:
    """This thread's block-sized buffers for ``dtype``, kept between calls (768 KiB a dtype).

    Fresh buffers of a block's size come from ``mmap``: their page faults alone would cost as much as
    the arithmetic of the block, and small calls would pay six allocations each.
    """
    cache: dict[np.dtype, _Scratch] | None = getattr(_local, "scratch", None)
    if cache is None:
        cache = _local.scratch = {}
    w = cache.get(dtype)
    if w is None:
        w = cache[dtype] = _Scratch(block_size(dtype), dtype)
    return w


def _exp_and_log1p(x: np.ndarray, w: _Scratch, n: int) -> None:
    """``a = exp(-x)``, ``d = log1p(exp(-|x|))``; ``b``, ``c`` and ``f`` are clobbered."""
    a, b, c, d, f = w.a[:n], w.b[:n], w.c[:n], w.d[:n], w.f[:n]
    # One exp: E = exp(-x) and 1 / E = exp(x), whose smaller one is exp(-|x|) (0 where either
    # overflows: within the smallest normal number of the truth).
    np.negative(x, out=a)
    np.exp(a, out=a)
    np.divide(1.0, a, out=c)
    np.minimum(a, c, out=d)
    if x.dtype in FAST_LOG1P:
        np.log1p(d, out=d)
    else:
        # log1p(e) = log(u) - ((u - 1) - e) / u with u = 1 + e: the rounding of u corrected to first
        # order, as accurate as log1p (and e itself where u rounds to 1).
        np.add(d, 1.0, out=b)
        np.subtract(b, 1.0, out=f)
        np.subtract(f, d, out=f)
        np.divide(f, b, out=f)
        np.log(b, out=d)
        np.subtract(d, f, out=d)


def block_loss(
    x: np.ndarray,
    y: np.ndarray,
    alpha: float,
    gamma: float,
    w: _Scratch,
    out: np.ndarray,
    tiny: float,
) -> bool:
    """The loss of one block of labels in [0, 1] into ``out``; False where the block needs the reference.

    The caller checks the labels; a non-finite logit shows as a non-finite loss, which the caller
    checks in the block's sum. Returns False if ``1 - p_t`` is below ``tiny`` (the smallest normal
    number) somewhere or cannot be formed (a logit below -88.7 in float32, -709 in float64), for
    gamma != 0.
    """
    n = x.shape[0]
    _exp_and_log1p(x, w, n)
    big, ym, t, l1p, q = w.a[:n], w.b[:n], w.c[:n], w.d[:n], w.f[:n]
    np.subtract(y, 1.0, out=ym)
    # ce = y softplus(-x) + (1 - y) softplus(x) = log1p(e) + max(x (1 - y), -x y): one of the two is
    # >= 0 and the other <= 0 for labels in [0, 1], and neither suffers cancellation.
    np.multiply(x, ym, out=t)
    np.multiply(x, y, out=out)
    np.minimum(t, out, out=t)
    np.subtract(l1p, t, out=l1p)
    if gamma != 0.0:
        # 1 - p_t = sigmoid(x) (1 - y) + sigmoid(-x) y = (E y + (1 - y)) / (1 + E) with E = exp(-x):
        # non-negative terms, one division. Where E overflows it is nan, and the block goes to the
        # reference.
        np.multiply(big, y, out=q)
        np.subtract(q, ym, out=q)
        np.add(big, 1.0, out=big)
        np.divide(q, big, out=q)
        if not _min(q) >= tiny:
            return False
    # alpha_t = (1 - alpha) + (2 alpha - 1) y
    np.multiply(y, 2.0 * alpha - 1.0, out=ym)
    np.add(ym, 1.0 - alpha, out=ym)
    # (1 - p_t) ** gamma: the usual gammas without a pow.
    if gamma == 0.0:
        np.multiply(ym, l1p, out=out)
        return True
    if gamma == 2.0:
        np.square(q, out=q)
    elif gamma == 0.5:
        np.sqrt(q, out=q)
    elif gamma != 1.0:
        np.power(q, gamma, out=q)
    np.multiply(q, ym, out=out)
    np.multiply(out, l1p, out=out)
    return True


def _worker(
    x: np.ndarray,
    y: np.ndarray,
    alpha: float,
    gamma: float,
    out: np.ndarray | None,
    claim: Callable[[], int],
    sums: list[float],
) -> None:
    """Compute the blocks that ``claim`` hands out, into ``out`` (if given) and ``sums``."""
    block = block_size(x.dtype)
    w = _scratch(x.dtype)
    tiny = _SMALLEST_NORMAL[x.dtype]
    with np.errstate(all="ignore"):  # per thread: NumPy's error state is thread-local
        while (i := claim()) < len(sums):
            start = i * block
            xb, yb = x[start : start + block], y[start : start + block]
            m = xb.shape[0]
            dest = w.o[:m] if out is None else out[start : start + m]
            ok = (
                _min(yb) >= 0.0
                and _max(yb) <= 1.0
                and block_loss(xb, yb, alpha, gamma, w, dest, tiny)
            )
            total = float(_sum(dest, dtype=np.float64)) if ok else math.nan
            if not math.isfinite(total):
                dest[...] = focal_elementwise(np, xb, yb, alpha, gamma)
                total = float(_sum(dest, dtype=np.float64))
            sums[i] = total


def forward(
    x: np.ndarray, y: np.ndarray, alpha: float, gamma: float, out: np.ndarray | None, threads: bool
) -> float:
    """Per-element losses of flat ``x``, ``y`` into ``out`` (if given); returns their sum in float64.

    ``threads=False`` keeps the call on the calling thread (inside a Dask task, say).
    """
    n, block = x.shape[0], block_size(x.dtype)
    sums = [0.0] * -(-n // block)
    workers = threads_for(n, thread_grain(x.dtype)) if threads else 1
    # Threads take the next block as they finish one, so a core slowed by other work takes fewer;
    # where a block's losses and sum land depends on the block alone.
    claim = itertools.count().__next__
    if workers > 1:
        lock = threading.Lock()
        counter = claim

        def claim() -> int:
            with lock:
                return counter()

    run_all([lambda: _worker(x, y, alpha, gamma, out, claim, sums)] * workers)
    # Exactly rounded: the total depends on the block sums only, not on the order they came in.
    return math.fsum(sums)
