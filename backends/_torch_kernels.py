"""torch kernels of the driver's contract (``paddlefocal._driver``), over flat blocks.

- ``cpu_kernel``, for eager CPU tensors: NumPy's kernels (``paddlefocal.backends.numpy``) on views of
  the same memory, with ``d loss / d logit``. NumPy's float32 ``exp``, ``log1p`` and ``tanh`` are SIMD
  loops, where torch's CPU ``log1p`` and ``softplus`` in float32 take one element at a time (about
  10 ns an element, against 0.6 ns): the whole block then costs less than torch's softplus alone. A
  block outside the common case is declined, and the driver serves it with the reference formulas.
- ``branch_free_kernel``, for everything else (a GPU without Triton, ``torch.compile``): one formula
  for every element, whose guards (``where``) keep the limits at +-inf, the ignore label -100 and
  labels outside [0, 1] as the reference has them, and read nothing back to the host; Inductor fuses
  it into one loop.
"""

from __future__ import annotations

import torch

from . import numpy as _numpy

__all__ = ["block_size", "branch_free_kernel", "cpu_kernel"]

Tensor = torch.Tensor


def block_size(x: Tensor) -> int:
    """Elements per block of a CPU tensor: NumPy's (32768 in float32, 16384 in float64)."""
    return _numpy.BLOCK_BYTES // x.element_size()


def cpu_kernel(
    x: Tensor, y: Tensor, alpha: float, gamma: float, loss: Tensor | None, dlogit: Tensor | None
) -> float | None:
    """A block of CPU tensors by NumPy's kernel, through views that share the tensors' memory (the
    outputs are the driver's fresh tensors; ``detach`` drops nothing but the autograd flag)."""
    return _numpy.kernel(
        x.detach().numpy(),
        y.detach().numpy(),
        alpha,
        gamma,
        None if loss is None else loss.numpy(),
        None if dlogit is None else dlogit.numpy(),
    )


def _mul(a: Tensor, b: Tensor, dest: Tensor | None) -> Tensor:
    """``a * b``, into ``dest`` when the driver gave one (a view of its output). An ``out=`` product
    rather than a copy: it also traces on fake CUDA tensors of a CPU build, where ``copy_`` cannot."""
    return torch.mul(a, b) if dest is None else torch.mul(a, b, out=dest)


def _half_tanh_half(x: Tensor) -> Tensor:
    """tanh(x/2)/2 = sigmoid(x) - 1/2 for small |x|: u - u**3/3 + 2u**5/15 - 17u**7/315 + 62u**9/2835."""
    u = 0.5 * x
    u2 = u * u
    series = 1.0 + u2 * (
        -1.0 / 3.0 + u2 * (2.0 / 15.0 + u2 * (-17.0 / 315.0 + u2 * (62.0 / 2835.0)))
    )
    return 0.5 * u * series


def branch_free_kernel(
    x: Tensor, y: Tensor, alpha: float, gamma: float, loss: Tensor | None, dlogit: Tensor | None
) -> Tensor:
    """The driver's kernel for any block, in guarded operations that read nothing back to the host."""
    e = torch.exp(-x.abs())
    l1p = torch.log1p(e)
    inv = 1.0 / (1.0 + e)
    pos = x >= 0
    s = torch.where(pos, inv, e * inv)
    sn = torch.where(pos, e * inv, inv)
    # ce = y softplus(-x) + (1-y) softplus(x); a term whose weight is 0 is 0 also against an infinite
    # softplus (x = +-inf with a hard label).
    ce = (
        torch.where(y == 0, 0.0, y * torch.relu(-x))
        + torch.where(y == 1, 0.0, (1.0 - y) * torch.relu(x))
        + l1p
    )
    kept = y != -100.0  # IGNORE_INDEX: a literal, as Dynamo lifts a float global as an input
    ce = torch.where(kept, ce, 0.0)
    # An ignored element takes 1 - p_t = 1, so a fractional power of Paddle's negative value there
    # cannot make its zero loss nan.
    q = torch.where(kept, s * (1.0 - y) + sn * y, 1.0)
    a_t = alpha * y + (1.0 - alpha) * (1.0 - y)
    # d ce / dx = sigmoid(x) - y; near 0 as (sigmoid(x) - 1/2) + (1/2 - y), whose first term, from the
    # series of tanh(x/2)/2, keeps a tiny logit's digits against a label of 1/2 (a polynomial: Inductor's
    # tanh costs four exps). Five terms of the series leave a relative error of 0.009 (x/2)**10: below
    # 1e-8 (float32) and 1e-14 (float64) within these bounds.
    near = 0.5 if x.dtype == torch.float32 else 0.125
    if gamma == 0.0:
        weight = a_t
    else:
        if gamma == 1.0:
            qg = q
        elif gamma == 2.0:
            qg = q * q
        else:
            # q**g = exp(g log q); for a hard label log q = -softplus(-z) with z = x (1 - 2y) exactly,
            # also where q is subnormal and has lost the digits its power would show (gamma < 1).
            z = x * (1.0 - 2.0 * y)
            hard = (y == 0) | (y == 1)
            log_q = torch.where(hard, torch.clamp(z, max=0.0) - l1p, torch.log(q))
            qg = torch.exp(gamma * log_q)
        weight = a_t * qg
    out = _mul(weight, ce, loss)
    if dlogit is not None:
        dce = torch.where(x.abs() < near, _half_tanh_half(x) + (0.5 - y), s * (1.0 - y) - sn * y)
        dce = torch.where(kept, dce, 0.0)
        if gamma == 0.0:
            _mul(a_t, dce, dlogit)
        else:
            # g q**(g-1) dq ce, as q**g (dq / q) ce: dq / q is bounded for labels in [0, 1], so nothing
            # is infinite where q underflows; a zero dq (x = +-inf) against an infinite ce is a 0 limit.
            dq = s * sn * (1.0 - 2.0 * y)
            focal = gamma * qg * (dq / q)
            focal = torch.where(dq == 0, 0.0, focal * ce)
            _mul(a_t, focal + qg * dce, dlogit)
    return out.sum(dtype=torch.float64)
