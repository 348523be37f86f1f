"""torch kernels: the loss and ``d loss / d logit`` of a flat block, in one pass that shares every term.

Three kernels of the driver's contract (``paddlefocal._driver``):

- ``tiny_kernel``, for CPU tensors of up to 16 elements: NumPy's scalar loop in double precision.
- ``blocked_kernel``, for eager CPU tensors: a block of the common case (labels in [0, 1],
  ``|logit| <= 80`` in float32 or 700 in float64, where ``1 - p_t >= sigmoid(-|logit|)`` is a normal
  number) takes short formulas, one for hard labels and one for soft ones; any other block is declined
  and the driver serves it with the reference formulas. Telling the two apart reads five numbers back
  to the host: free on the CPU, a synchronization on a GPU, so this kernel serves CPU tensors only.
- ``branch_free_kernel``, for everything else (a GPU without Triton, ``torch.compile``, ``vmap``): one
  formula for every element, whose guards (``where``) keep the limits at +-inf, the ignore label -100
  and labels outside [0, 1] as the reference has them; Inductor fuses it into one loop.
"""

from __future__ import annotations

import torch
import torch.nn.functional as tnf

from . import numpy as _numpy

__all__ = [
    "CPU_BLOCK",
    "LOGIT_LIMIT",
    "TINY",
    "blocked_kernel",
    "branch_free_kernel",
    "tiny_kernel",
]

#: Elements per block on the CPU: large enough that the per-operation overhead is amortized, small
#: enough that a block's temporaries stay in the L2 cache.
CPU_BLOCK = 1 << 16

#: Beyond these |logit|, sigmoid(-|logit|) (a lower bound of 1 - p_t) may be subnormal.
LOGIT_LIMIT = {torch.float32: 80.0, torch.float64: 700.0}

Tensor = torch.Tensor

#: Up to this many elements of a CPU tensor, NumPy's scalar loop beats a dozen tensor operations.
TINY = _numpy.TINY


def tiny_kernel(
    x: Tensor, y: Tensor, alpha: float, gamma: float, loss: Tensor | None, dlogit: Tensor | None
) -> float | None:
    """A few elements of CPU tensors: NumPy's scalar loop, writing through host views of the outputs
    (fresh tensors of the driver's, so ``numpy()`` shares their memory)."""
    return _numpy.tiny_kernel(
        x,
        y,
        alpha,
        gamma,
        None if loss is None else loss.numpy(),
        None if dlogit is None else dlogit.numpy(),
    )


def _mul(a: Tensor, b: Tensor, dest: Tensor | None) -> Tensor:
    """``a * b``, into ``dest`` when the driver gave one (a view of its output). An ``out=`` product
    rather than a copy: it also traces on fake CUDA tensors of a CPU build, where ``copy_`` cannot."""
    return torch.mul(a, b) if dest is None else torch.mul(a, b, out=dest)


def _softplus(x: Tensor) -> Tensor:
    """softplus, which returns x itself beyond its threshold: 20 leaves out exp(-20) = 2e-9, below
    float32's resolution of 20 but 1e-10 of it in float64, where 40 leaves out 4e-18."""
    return tnf.softplus(x, threshold=20.0 if x.dtype == torch.float32 else 40.0)


def _block_kind(x: Tensor, y: Tensor) -> int:
    """0: not the common case; 1: common, hard labels only; 2: common with soft labels."""
    # y - y*y is >= 0 exactly for labels in [0, 1] (and nan for nan), and > 0 for soft labels.
    soft = torch.addcmul(y, y, y, value=-1.0)
    # item() each (1 us for four) rather than stack and tolist (9 us).
    lo_x, hi_x, lo_s, hi_s = (v.item() for v in (*torch.aminmax(x), *torch.aminmax(soft)))
    limit = LOGIT_LIMIT[x.dtype]
    # A nan fails every comparison: such blocks are declined, and the reference propagates it.
    if -limit <= lo_x and hi_x <= limit and lo_s >= 0.0:
        return 2 if hi_s > 0.0 else 1
    return 0


def _hard(
    x: Tensor, y: Tensor, alpha: float, gamma: float, loss: Tensor | None, dlogit: Tensor | None
) -> Tensor:
    """A common-case block of labels 0 and 1; returns the per-element loss."""
    # With t = 1 - 2y = +-1 and z = t x: 1 - p_t = sigmoid(z) = q and ce = softplus(z), so
    # loss = alpha_t q**g softplus(z) and d loss / dx = t alpha_t q**g (g sigmoid(-z) softplus(z) + q),
    # with no q**(g-1). 1 - q loses digits only where q ~ 1, where its term is negligible. For hard
    # labels t alpha_t = (1 - alpha) - y, and alpha_t is its absolute value when 0 <= alpha <= 1.
    z = torch.addcmul(x, x, y, value=-2.0)  # x - 2xy: exactly -x for a label 1
    q = torch.sigmoid(z)
    ce = _softplus(z)
    signed_a_t = torch.rsub(y, 1.0 - alpha)
    if 0.0 <= alpha <= 1.0:
        w = torch.abs(signed_a_t)
    else:
        w = torch.mul(y, 2.0 * alpha - 1.0).add_(1.0 - alpha)
    qg = None if gamma == 0.0 else q if gamma == 1.0 else q * q if gamma == 2.0 else q.pow(gamma)
    if qg is not None:
        w.mul_(qg)
    out = torch.mul(w, ce) if loss is None else torch.mul(w, ce, out=loss)
    if dlogit is not None:
        # Written into the driver's output from the first operation on: one fresh buffer fewer.
        if qg is None:
            torch.mul(q, signed_a_t, out=dlogit)
        else:
            torch.addcmul(q, torch.rsub(q, 1.0), ce, value=gamma, out=dlogit).mul_(qg).mul_(
                signed_a_t
            )
    return out


def _soft(
    x: Tensor, y: Tensor, alpha: float, gamma: float, loss: Tensor | None, dlogit: Tensor | None
) -> Tensor:
    """A common-case block with soft labels; returns the per-element loss."""
    xn = torch.neg(x)
    s = torch.sigmoid(x)
    sn = torch.sigmoid(xn)
    # lerp(a, b, w) is a + w (b - a) for w < 1/2 and b - (b - a)(1 - w) otherwise: a hard label picks
    # one term exactly and a soft one adds terms of one sign, so ce = y softplus(-x) + (1-y) softplus(x)
    # and 1 - p_t = s (1-y) + s' y keep the tiny values of saturated logits.
    ce = _softplus(x).lerp_(_softplus(xn), y)
    q = torch.lerp(s, sn, y)
    # w = alpha_t (1 - p_t)**(gamma - 1): finite, as 1 - p_t is normal here.
    w = torch.mul(y, 2.0 * alpha - 1.0).add_(1.0 - alpha)
    if gamma == 2.0:
        w.mul_(q)
    elif gamma != 0.0 and gamma != 1.0:
        w.mul_(q.pow(gamma - 1.0))
    wq = w if gamma == 0.0 else torch.mul(w, q)
    out = torch.mul(wq, ce) if loss is None else torch.mul(wq, ce, out=loss)
    if dlogit is None:
        return out
    # d ce / dx = sigmoid(x) - y, as (1 - p_t) - 2 s' y (exact for hard labels), and near x = 0 as
    # 0.5 tanh(x/2) + (0.5 - y), which keeps the digits that sigmoid(x), rounded near 1/2, has lost.
    dce = torch.addcmul(q, sn, y, value=-2.0)
    near_zero = x.abs() < 1.0
    dce = torch.where(near_zero, torch.tanh(x * 0.5).mul_(0.5).add_(torch.rsub(y, 0.5)), dce)
    if gamma == 0.0:
        torch.mul(dce, w, out=dlogit)
        return out
    # d loss / dx = alpha_t q**(g-1) [g (dq/dx) ce + q dce/dx], dq/dx = s s' (1 - 2y)
    factor = torch.mul(y, -2.0 * gamma, out=xn).add_(gamma)
    grad = s.mul_(sn).mul_(factor).mul_(ce).addcmul_(q, dce)
    torch.mul(grad, w, out=dlogit)
    return out


def blocked_kernel(
    x: Tensor, y: Tensor, alpha: float, gamma: float, loss: Tensor | None, dlogit: Tensor | None
) -> Tensor | None:
    """The driver's kernel for eager CPU blocks: None for a block outside the common case."""
    if x.numel() == 0:
        return torch.zeros((), dtype=torch.float64)
    kind = _block_kind(x, y)
    if not kind:
        return None
    formula = _soft if kind == 2 else _hard
    return formula(x, y, alpha, gamma, loss, dlogit).sum(dtype=torch.float64)


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
