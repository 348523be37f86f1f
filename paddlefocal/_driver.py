"""The driver: a backend supplies a per-element kernel; everything else happens here, once.

A kernel computes the loss of one flat block, and its derivative to the logit when asked::

    kernel(x, y, alpha, gamma, loss, dlogit) -> total | None

``x`` and ``y`` are 1-D blocks of one dtype (float32 or float64); ``alpha`` and ``gamma`` are Python
floats with ``gamma >= 0``; ``loss`` and ``dlogit`` are None or 1-D outputs of the block's length that
the kernel fills with the per-element loss and ``d loss / d logit``. It returns the sum of the block's
losses in float64 (a Python float, or a 0-D array that stays on the device), or None for "not my
block": the driver then serves the block with the reference formulas.

The driver owns the rest: cutting the input into blocks and running them on threads, the per-block
fallback, the normalizer and the reduction (Paddle's ``Out / normalizer``, then sum or mean, with the
total divided in float64 before it is rounded), the scale of the gradient, and the calls that no kernel
serves (``alpha``/``gamma`` arrays, a negative ``gamma``), which take the reference.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from ._call import Call
from ._derivatives import focal_elementwise_grads
from ._plugin import Path
from ._reference import accumulation_dtype, focal_elementwise, reference_loss
from ._threads import run_all, threads_for
from ._typing import Array

__all__ = ["Kernel", "kernel_path", "reduce_total", "run", "serves"]

_MAX = {np.dtype(t): float(np.finfo(t).max) for t in (np.float32, np.float64)}


class Kernel(Protocol):
    """A per-element kernel over a flat block (see the module docstring)."""

    def __call__(
        self,
        x: Array,
        y: Array,
        alpha: float,
        gamma: float,
        loss: Array | None,
        dlogit: Array | None,
        /,
    ) -> Any: ...


#: Blocks per thread at the least: below that, handing blocks to a thread costs more than it saves
#: (measured on NumPy: 2 threads on 2 or 4 blocks took 1.3-1.7x the time of one thread).
THREAD_BLOCKS = 4

#: ``block(x) -> elements per block``, or None for the whole array as one block.
BlockSize = Callable[[Array], int | None]


def serves(call: Call) -> bool:
    """Whether a kernel may serve the call: ``alpha``, ``gamma`` Python floats and ``gamma >= 0``."""
    return type(call.alpha) is float and type(call.gamma) is float and call.gamma >= 0.0


def _reference_block(
    xp: Any,
    x: Array,
    y: Array,
    alpha: float,
    gamma: float,
    loss: Array | None,
    dlogit: Array | None,
) -> Any:
    """The fallback: a block the kernel declined, by the reference formulas."""
    values = focal_elementwise(xp, x, y, alpha, gamma)
    if loss is not None:
        loss[...] = values
    if dlogit is not None:
        dlogit[...] = focal_elementwise_grads(xp, x, y, alpha, gamma).logit
    total = xp.sum(values, dtype=accumulation_dtype(xp, values.dtype))
    # NumPy's total is a scalar: a Python float, added exactly and divided on the host.
    return float(total) if isinstance(total, np.generic) else total


def _flat(xp: Any, a: Array) -> Array:
    return xp.reshape(a, (-1,))


def run(
    call: Call,
    kernel: Kernel,
    block: int | None = None,
    threads: bool = False,
    want_grad: bool = False,
    most_threads: int | None = None,
) -> tuple[Array, Array | None]:
    """The loss of a call that ``serves`` admits, and ``d result / d logit`` if ``want_grad``.

    The gradient has ``logit``'s shape and includes the reduction's and the normalizer's scale.
    ``block`` elements per block (None: one block); ``threads`` lets blocks run on the NumPy pool,
    on at most ``most_threads`` threads where that is given.
    """
    xp, logit, reduction = call.xp, call.logit, call.reduction
    alpha, gamma = call.alpha, call.gamma
    x, y = _flat(xp, logit), _flat(xp, call.label)
    n = x.shape[0]
    keep = reduction == "none"
    device = getattr(x, "device", None)
    # The outputs have logit's shape and are filled through flat views: the result is no view, so a
    # caller may edit it in place.
    shaped = xp.empty(logit.shape, dtype=x.dtype, device=device) if keep else None
    shaped_grad = xp.empty(logit.shape, dtype=x.dtype, device=device) if want_grad else None
    out = None if shaped is None else _flat(xp, shaped)
    grad = None if shaped_grad is None else _flat(xp, shaped_grad)
    # An empty input is one empty block: the kernel gives its total (0) in its own kind of number.
    size = max(n, 1) if block is None or n <= block else block
    count = -(-n // size) if n else 1
    if count == 1:
        total = kernel(x, y, alpha, gamma, out, grad)
        if total is None:
            with np.errstate(all="ignore"):  # the reference's discarded branches (0 * inf)
                total = _reference_block(xp, x, y, alpha, gamma, out, grad)
        return _finish(call, shaped, shaped_grad, total, n)
    totals: list[Any] = [0.0] * count

    def serve(i: int) -> None:
        lo, hi = i * size, min(n, (i + 1) * size)
        xb, yb = x[lo:hi], y[lo:hi]
        ob = None if out is None else out[lo:hi]
        gb = None if grad is None else grad[lo:hi]
        total = kernel(xb, yb, alpha, gamma, ob, gb)
        if total is None:
            with np.errstate(all="ignore"):  # the reference's discarded branches (0 * inf)
                total = _reference_block(xp, xb, yb, alpha, gamma, ob, gb)
        totals[i] = total

    workers = threads_for(n, THREAD_BLOCKS * size, most_threads) if threads else 1
    if workers == 1:

        def each() -> None:
            for i in range(count):
                serve(i)

        run_all([each])
    else:
        claim = _claimer()

        def work() -> None:
            while (i := claim()) < count:
                serve(i)

        run_all([work] * workers)
    return _finish(call, shaped, shaped_grad, _add(totals), n)


def _finish(
    call: Call, shaped: Array | None, shaped_grad: Array | None, total: Any, n: int
) -> tuple[Array, Array | None]:
    """The result from the per-element losses (``shaped``) or their total, and the scaled gradient."""
    if shaped is not None:
        result = shaped
        if call.normalizer is not None:
            if isinstance(result, np.ndarray):
                with np.errstate(all="ignore"):  # Paddle's inf or nan for a zero normalizer
                    result /= call.normalizer
            else:  # np.errstate is NumPy's alone (and torch.compile cannot trace it)
                result /= call.normalizer
    else:
        result = reduce_total(call, total, n)
    if shaped_grad is not None:
        shaped_grad = _scale(call, shaped_grad, n)
    return result, shaped_grad


def _claimer() -> Callable[[], int]:
    """Block indices for threads: each takes the next as it finishes one."""
    counter = itertools.count().__next__
    lock = threading.Lock()

    def claim() -> int:
        with lock:
            return counter()

    return claim


def _add(totals: list[Any]) -> Any:
    """The block totals added in block order; exactly rounded where they are Python floats."""
    if len(totals) == 1:
        return totals[0]
    if all(type(t) is float for t in totals):
        return math.fsum(totals)
    total = totals[0]
    for t in totals[1:]:
        total = total + t
    return total


def reduce_total(call: Call, total: Any, n: int) -> Array:
    """``total`` (the float64 sum of the losses) as the call's reduced result, in logit's dtype.

    ``'mean'`` divides by ``n`` (the mean of nothing is nan, as in Paddle) and a normalizer divides the
    total, both in float64 before the one rounding, so a total that overflows the dtype but whose
    quotient does not is not lost (200 x 5e36 over 10 in float32 is 1e38, not inf).
    """
    xp, dtype = call.xp, call.logit.dtype
    normalizer = call.normalizer
    if type(total) is float:
        # Host arithmetic (a kernel on the host: NumPy, or a few elements of a CPU tensor).
        value = total
        if call.reduction == "mean":
            value = value / n if n else math.nan
        if normalizer is not None:
            divisor = float(normalizer)
            if divisor:
                value = value / divisor
            else:
                with np.errstate(all="ignore"):  # inf or nan, as IEEE division by a signed zero
                    value = float(np.float64(value) / np.float64(divisor))
        if not isinstance(call.logit, np.ndarray):
            return xp.asarray(value, dtype=dtype)
        if -_MAX[dtype] <= value <= _MAX[dtype]:
            return np.asarray(value, dtype=dtype)
        with np.errstate(all="ignore"):  # an infinite result is the answer, whatever the caller set
            return np.asarray(value, dtype=dtype)
    if call.reduction == "mean":
        total = total / n if n else total * math.nan
    if normalizer is not None:
        total = total / normalizer  # a float64 total and a 0-D normalizer: float64 arithmetic
    return xp.astype(total, dtype)


def _scale(call: Call, grad: Array, n: int) -> Array:
    """``d result / d logit`` from ``d loss / d logit`` (in place): the adjoint of the reduction and
    the normalizer."""
    if call.reduction == "mean" and n:
        grad *= 1.0 / n
    if call.normalizer is not None:
        grad /= call.normalizer
    return grad


def kernel_path(kernel: Kernel, block: BlockSize | None = None, threads: bool = False) -> Path:
    """A path (``path(call) -> array``) from a kernel: Paddle's semantics around the kernel's math.

    Calls that no kernel serves (``alpha``/``gamma`` arrays, a negative ``gamma``) take the reference.
    A plug-in for a library without autograd can publish ``Backend(..., target=kernel_path(k))``.
    """

    def path(call: Call) -> Array:
        if not serves(call):
            return reference_loss(call)
        size = None if block is None else block(call.logit)
        return run(call, kernel, size, threads)[0]

    return path
