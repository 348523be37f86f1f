"""NumPy kernels: the loss of a flat block in a few ufunc passes, and a scalar loop for tiny blocks.

Under the driver (``paddlefocal._driver``) a NumPy call is cut into fixed blocks of 128 KiB that run on
up to ``paddlefocal.get_num_threads()`` threads; the result is bit-identical for every thread count.
A block costs one ``exp``, one ``log1p`` (or one ``log`` and a correction where NumPy's ``log1p`` is not
vectorized), two divisions, 15 cheap passes and one reduction, written with ``out=`` into block-sized
scratch buffers. A block holding anything outside the common case (a non-finite logit, a label outside
[0, 1] such as Paddle's -100, a subnormal ``exp(-|x|)`` or, for gamma != 0, a subnormal ``1 - p_t``) is
declined, and the driver serves it with the reference formulas. Tiny blocks (up to 16 elements) take a
scalar loop in double precision, where a ufunc call would cost more than the arithmetic.

Asked for ``d loss / d logit`` (torch's CPU path, through views of its tensors' memory), a block adds
about 13 passes from the same terms, and 11 more (one a ``tanh``) where a label is soft.
"""

from __future__ import annotations

import importlib
import math
import threading

import numpy as np

from paddlefocal._call import Call
from paddlefocal._driver import THREAD_BLOCKS, kernel_path

from ._scalar import TINY, tiny_kernel

__all__ = ["BLOCK_BYTES", "FAST_LOG1P", "TINY", "block_kernel", "block_size", "kernel", "loss"]
__all__ += ["tiny_kernel"]

#: Bytes per block buffer: the x and y blocks and the six scratch buffers (1 MiB) stay in a core's L2
#: cache, and a ufunc call's fixed cost (about 0.3 us) is spread over 16 Ki to 32 Ki elements.
BLOCK_BYTES = 128 * 1024


def block_size(x: np.ndarray | np.dtype) -> int:
    """Elements per block of an array (or a dtype): 32768 in float32, 16384 in float64."""
    return BLOCK_BYTES // np.dtype(getattr(x, "dtype", x)).itemsize


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

#: 0-D operands per dtype: NumPy 2 converts a Python float operand on every ufunc call (about 1 us, a
#: dozen times a block); a 0-D array of the dtype holds the very value that float rounds to.
_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_HALF, _ONE, _MINUS_TWO = ({t: np.asarray(v, t) for t in _DTYPES} for v in (0.5, 1.0, -2.0))


class _Scratch:
    """Block-sized buffers: six for the loss, one for the losses of a sum, three for the gradient."""

    __slots__ = ("a", "b", "c", "d", "f", "g", "h", "k", "m", "o")

    def __init__(self, size: int, dtype: np.dtype) -> None:
        self.a, self.b, self.c = np.empty(size, dtype), np.empty(size, dtype), np.empty(size, dtype)
        self.d, self.f, self.g = np.empty(size, dtype), np.empty(size, dtype), np.empty(size, dtype)
        self.h, self.k, self.m = np.empty(size, dtype), np.empty(size, dtype), np.empty(size, dtype)
        self.o = np.empty(size, dtype)


_local = threading.local()


def _acquire(dtype: np.dtype) -> _Scratch:
    """Free buffers of this thread for ``dtype``, kept between calls (1.25 MiB a dtype).

    Fresh buffers of a block's size come from ``mmap``: their page faults alone would cost as much as
    the arithmetic of the block. A call re-entered on the same thread (from a signal handler or a
    callback) finds the buffers of the call in flight taken and gets its own: list.pop and
    list.append are atomic between Python bytecodes.
    """
    pools: dict[np.dtype, list[_Scratch]] | None = getattr(_local, "pools", None)
    if pools is None:
        pools = _local.pools = {}
    free = pools.setdefault(dtype, [])
    try:
        return free.pop()
    except IndexError:
        return _Scratch(BLOCK_BYTES // dtype.itemsize, dtype)


def _release(dtype: np.dtype, w: _Scratch) -> None:
    _local.pools[dtype].append(w)


def _exp_and_log1p(x: np.ndarray, w: _Scratch, n: int, tiny: float) -> bool:
    """``a = exp(-x)``, ``d = log1p(exp(-|x|))``; False where ``exp(-|x|)`` is not a normal number."""
    a, b, c, d, f = w.a[:n], w.b[:n], w.c[:n], w.d[:n], w.f[:n]
    one = _ONE[x.dtype]
    # One exp: E = exp(-x) and 1 / E = exp(x), whose smaller one is exp(-|x|). Where that is
    # subnormal one of the two overflows and the other's reciprocal is 0: the loss of such a block
    # (logit -89, label 0 in float32: 1.7e-39) is the reference's to give.
    np.negative(x, out=a)
    np.exp(a, out=a)
    np.divide(one, a, out=c)
    np.minimum(a, c, out=d)
    if not _min(d) >= tiny:
        return False
    if x.dtype in FAST_LOG1P:
        np.log1p(d, out=d)
    else:
        # log1p(e) = log(u) - ((u - 1) - e) / u with u = 1 + e: the rounding of u corrected to first
        # order, as accurate as log1p (and e itself where u rounds to 1).
        np.add(d, one, out=b)
        np.subtract(b, one, out=f)
        np.subtract(f, d, out=f)
        np.divide(f, b, out=f)
        np.log(b, out=d)
        np.subtract(d, f, out=d)
    return True


def _block_loss(
    x: np.ndarray,
    y: np.ndarray,
    alpha: float,
    gamma: float,
    w: _Scratch,
    out: np.ndarray,
    dlogit: np.ndarray | None,
) -> bool:
    """The loss of one block of labels in [0, 1] into ``out``, and ``d loss / d logit`` into
    ``dlogit`` when given; False where the block is declined."""
    n, tiny = x.shape[0], _SMALLEST_NORMAL[x.dtype]
    if not _exp_and_log1p(x, w, n, tiny):
        return False
    big, ym, t, ce, q, weight = w.a[:n], w.b[:n], w.c[:n], w.d[:n], w.f[:n], w.g[:n]
    dtype, one = x.dtype, _ONE[x.dtype]
    np.subtract(y, one, out=ym)
    soft = False
    if dlogit is not None:
        np.multiply(y, ym, out=t)  # y (y - 1) < 0 exactly for a soft label
        soft = not _min(t) >= 0.0
    # ce = y softplus(-x) + (1 - y) softplus(x) = log1p(e) + max(x (1 - y), -x y): one of the two is
    # >= 0 and the other <= 0 for labels in [0, 1], and neither suffers cancellation.
    np.multiply(x, ym, out=t)
    np.multiply(x, y, out=out)
    np.minimum(t, out, out=t)
    np.subtract(ce, t, out=ce)
    if gamma != 0.0 or dlogit is not None:
        # 1 - p_t = sigmoid(x) (1 - y) + sigmoid(-x) y = (E y + (1 - y)) / (1 + E) with E = exp(-x):
        # non-negative terms, one division.
        np.multiply(big, y, out=q)
        np.subtract(q, ym, out=q)
        np.add(big, one, out=t)
        np.divide(q, t, out=q)
        if not _min(q) >= tiny:
            return False
    # alpha_t = (1 - alpha) + (2 alpha - 1) y; the weight of ce is alpha_t (1 - p_t) ** gamma.
    np.multiply(y, np.asarray(2.0 * alpha - 1.0, dtype), out=ym)
    np.add(ym, np.asarray(1.0 - alpha, dtype), out=ym)
    if gamma == 0.0:
        weight = ym
    elif gamma == 2.0:  # the usual gammas without a pow
        np.square(q, out=weight)
    elif gamma == 0.5:
        np.sqrt(q, out=weight)
    elif gamma == 1.0:
        np.copyto(weight, q)
    else:
        np.power(q, gamma, out=weight)
    if gamma != 0.0:
        np.multiply(weight, ym, out=weight)
    np.multiply(weight, ce, out=out)
    if dlogit is not None:
        _block_grad(x, y, gamma, w, n, soft, weight, dlogit)
    return True


def _block_grad(
    x: np.ndarray,
    y: np.ndarray,
    gamma: float,
    w: _Scratch,
    n: int,
    soft: bool,
    weight: np.ndarray,
    dlogit: np.ndarray,
) -> None:
    """``d loss / d logit`` from the loss's terms: E = exp(-x) and E + 1, ce, q = 1 - p_t and the
    weight alpha_t q**g.

    With s = sigmoid(x) and s' = sigmoid(-x): d ce / dx = s - y and d q / dx = s s' (1 - 2y), so
    d loss / dx = alpha_t q**g (g r ce + d ce / dx) with r = s s' (1 - 2y) / q: no q**(g - 1), and
    for hard labels r is s' or -s.
    """
    big, e1, ce, q = w.a[:n], w.c[:n], w.d[:n], w.f[:n]
    s, sn, dce = w.h[:n], w.k[:n], dlogit
    dtype, one = x.dtype, _ONE[x.dtype]
    np.divide(one, e1, out=s)
    np.multiply(big, s, out=sn)  # E / (1 + E)
    # d ce / dx = q - 2 s' y: exact for hard labels.
    np.multiply(sn, y, out=dce)
    np.multiply(dce, _MINUS_TWO[dtype], out=dce)
    np.add(dce, q, out=dce)
    if soft:
        # Near x = 0, 0.5 tanh(x/2) + (0.5 - y) keeps the digits that s, rounded near 1/2, has lost.
        # Blended by a 0/1 factor (exact: one term is 0): a masked copy costs 15 passes.
        near, half, pick = w.a[:n], w.c[:n], w.m[:n]
        np.multiply(x, _HALF[dtype], out=near)
        np.tanh(near, out=near)
        np.multiply(near, _HALF[dtype], out=near)
        np.subtract(_HALF[dtype], y, out=half)
        np.add(near, half, out=near)
        np.absolute(x, out=half)
        np.less(half, one, out=pick)
        np.multiply(near, pick, out=near)
        np.subtract(one, pick, out=pick)
        np.multiply(dce, pick, out=dce)
        np.add(dce, near, out=dce)
    if gamma == 0.0:
        np.multiply(dce, weight, out=dlogit)
        return
    # g r ce = s s' g (1 - 2y) ce / q
    np.multiply(s, sn, out=s)
    np.multiply(y, np.asarray(-2.0 * gamma, dtype), out=sn)
    np.add(sn, np.asarray(gamma, dtype), out=sn)
    np.multiply(s, sn, out=s)
    np.divide(s, q, out=s)
    np.multiply(s, ce, out=s)
    np.add(s, dce, out=s)
    np.multiply(s, weight, out=dlogit)


def block_kernel(
    x: np.ndarray,
    y: np.ndarray,
    alpha: float,
    gamma: float,
    loss: np.ndarray | None,
    dlogit: np.ndarray | None,
) -> float | None:
    """The driver's kernel for a block of the common case (see the module docstring)."""
    if not (_min(y) >= 0.0 and _max(y) <= 1.0):
        return None
    dtype = x.dtype
    w = _acquire(dtype)
    try:
        dest = w.o[: x.shape[0]] if loss is None else loss
        with np.errstate(all="ignore"):  # a non-finite logit shows in the total: declined below
            ok = _block_loss(x, y, alpha, gamma, w, dest, dlogit)
        total = float(_sum(dest, dtype=np.float64)) if ok else math.nan
    finally:
        _release(dtype, w)
    return total if math.isfinite(total) else None


def kernel(
    x: np.ndarray,
    y: np.ndarray,
    alpha: float,
    gamma: float,
    loss: np.ndarray | None,
    dlogit: np.ndarray | None,
) -> float | None:
    """The NumPy kernel: the scalar loop up to ``TINY`` elements, the ufunc passes beyond."""
    chosen = tiny_kernel if x.shape[0] <= TINY else block_kernel
    return chosen(x, y, alpha, gamma, loss, dlogit)


_path = kernel_path(kernel, block_size, threads=True)


def loss(call: Call) -> np.ndarray:
    """Sigmoid focal loss of NumPy arrays: the kernel under the driver, on the NumPy thread pool."""
    result: np.ndarray = _path(call)
    return result
