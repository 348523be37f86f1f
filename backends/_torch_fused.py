"""The eager torch fast path: the loss and its gradient to ``logit`` in one pass, block by block.

When ``logit`` requires grad, the forward forms ``d loss / d logit`` beside the loss, sharing every
sigmoid and softplus, and saves that one tensor (the logit's size); the backward is one multiplication.
The backward of an autograd recompute, or of torchvision's op sequence, evaluates again what the forward
had. On the CPU both walk the data in blocks small enough that a block's temporaries stay in cache.

A block is served here only in the common case: labels in [0, 1] and ``|logit| <= LOGIT_LIMIT``, where
``1 - p_t >= sigmoid(-|logit|)`` is a normal number, so ``(1 - p_t) ** (gamma - 1)`` is finite and no
limit needs care. Any other block (an infinite logit, the ignore label -100, a subnormal ``1 - p_t``)
takes the reference formulas, which serve it exactly. Every operation is one of torch's fused kernels
(``sigmoid``, ``softplus``, ``lerp``, ``addcmul``), written in place where it can be.
"""

from __future__ import annotations

from typing import Any

import array_api_compat.torch as xp_torch
import torch
import torch.nn.functional as tnf

from paddlefocal._call import Call
from paddlefocal._derivatives import focal_elementwise_grads
from paddlefocal._reference import focal_elementwise
from paddlefocal._typing import Reduction

#: Elements per block on the CPU: large enough that the per-operation overhead is amortized, small
#: enough that a block's temporaries stay in the L2 cache.
CPU_BLOCK = 1 << 16

#: Beyond these |logit|, sigmoid(-|logit|) (a lower bound of 1 - p_t) may be subnormal.
LOGIT_LIMIT = {torch.float32: 80.0, torch.float64: 700.0}


def _block_size(x: torch.Tensor) -> int:
    return CPU_BLOCK if x.device.type == "cpu" else max(x.numel(), 1)


def _block_kind(x: torch.Tensor, y: torch.Tensor) -> int:
    """0: not the common case; 1: common, hard labels only; 2: common with soft labels.

    One host synchronization for the five extremes.
    """
    if x.numel() == 0:
        return 1
    # y - y*y is >= 0 exactly for labels in [0, 1] (and nan for nan), and > 0 for soft labels.
    soft = torch.addcmul(y, y, y, value=-1.0)
    lo_x, hi_x, lo_s, hi_s = torch.stack([*torch.aminmax(x), *torch.aminmax(soft)]).tolist()
    limit = LOGIT_LIMIT[x.dtype]
    # A nan fails every comparison: such blocks go to the reference, which propagates it.
    if -limit <= lo_x and hi_x <= limit and lo_s >= 0.0:
        return 2 if hi_s > 0.0 else 1
    return 0


def _hard_loss_and_grad(
    x: torch.Tensor, y: torch.Tensor, alpha: float, gamma: float, with_grad: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-element loss and (if asked) d loss / d logit of a common-case block of labels 0 and 1."""
    # With t = 1 - 2y = +-1 and z = t x: 1 - p_t = sigmoid(z) = q and ce = softplus(z), so
    # loss = alpha_t q**g softplus(z) and d loss / dx = t alpha_t q**g (g sigmoid(-z) softplus(z) + q),
    # with no q**(g-1). 1 - q loses digits only where q ~ 1, where its term is negligible. For hard
    # labels t alpha_t = (1 - alpha) - y, and alpha_t is its absolute value when 0 <= alpha <= 1.
    z = torch.addcmul(x, x, y, value=-2.0)  # x - 2xy: exactly -x for a label 1
    q = torch.sigmoid(z)
    ce = tnf.softplus(z)  # exact to 1e-10 where it returns z (z > 20)
    signed_a_t = torch.rsub(y, 1.0 - alpha)
    if 0.0 <= alpha <= 1.0:
        w = torch.abs(signed_a_t)
    else:
        w = torch.mul(y, 2.0 * alpha - 1.0).add_(1.0 - alpha)
    qg = None if gamma == 0.0 else q if gamma == 1.0 else q * q if gamma == 2.0 else q.pow(gamma)
    if qg is not None:
        w.mul_(qg)
    loss = torch.mul(w, ce)
    if not with_grad:
        return loss, None
    if qg is None:
        return loss, q.mul_(signed_a_t)
    grad = torch.addcmul(q, torch.rsub(q, 1.0), ce, value=gamma)
    return loss, grad.mul_(qg).mul_(signed_a_t)


def _loss_and_grad(
    x: torch.Tensor, y: torch.Tensor, alpha: float, gamma: float, with_grad: bool, soft: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-element loss and (if asked) d loss / d logit of a common-case block."""
    if not soft:
        return _hard_loss_and_grad(x, y, alpha, gamma, with_grad)
    # Later results overwrite buffers that are no longer needed: few allocations per block.
    xn = torch.neg(x)
    s = torch.sigmoid(x)
    sn = torch.sigmoid(xn)
    # lerp(a, b, w) is a + w (b - a) for w < 1/2 and b - (b - a)(1 - w) otherwise: a hard label picks
    # one term exactly and a soft one adds terms of one sign, so ce = y softplus(-x) + (1-y) softplus(x)
    # and 1 - p_t = s (1-y) + s' y keep the tiny values of saturated logits (logit 20, label 1:
    # 1 - p_t = 2e-9, not 0).
    ce = tnf.softplus(x).lerp_(tnf.softplus(xn), y)
    q = torch.lerp(s, sn, y)
    # w = alpha_t (1 - p_t)**(gamma - 1): finite, as 1 - p_t is normal here.
    w = torch.mul(y, 2.0 * alpha - 1.0).add_(1.0 - alpha)
    if gamma == 2.0:
        w.mul_(q)
    elif gamma != 0.0 and gamma != 1.0:
        w.mul_(q.pow(gamma - 1.0))
    loss = torch.mul(w, ce) if gamma == 0.0 else torch.mul(w, q).mul_(ce)
    if not with_grad:
        return loss, None
    # d ce / dx = s (1-y) - s' y = (1 - p_t) - 2 s' y: exact for hard labels.
    dce = torch.addcmul(q, sn, y, value=-2.0)
    if soft:
        # A label near 1/2 against a small logit: sigmoid(x) - y = 0.5 tanh(x/2) + (0.5 - y) keeps the
        # digits that sigmoid(x), rounded near 1/2, has lost.
        near_zero = x.abs() < 1.0
        dce = torch.where(near_zero, torch.tanh(x * 0.5).mul_(0.5).add_(torch.rsub(y, 0.5)), dce)
    if gamma == 0.0:
        return loss, dce.mul_(w)
    # d loss / dx = alpha_t q**(g-1) [g (dq/dx) ce + q dce/dx], dq/dx = s s' (1 - 2y)
    factor = torch.mul(y, -2.0 * gamma, out=xn).add_(gamma)
    grad = s.mul_(sn).mul_(factor).mul_(ce)
    return loss, grad.addcmul_(q, dce).mul_(w)


def _reference_block(
    x: torch.Tensor, y: torch.Tensor, alpha: float, gamma: float, with_grad: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    loss = focal_elementwise(xp_torch, x, y, alpha, gamma)
    grad = focal_elementwise_grads(xp_torch, x, y, alpha, gamma).logit if with_grad else None
    return loss, grad


def _block(
    x: torch.Tensor, y: torch.Tensor, alpha: float, gamma: float, with_grad: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    kind = _block_kind(x, y)
    if kind:
        return _loss_and_grad(x, y, alpha, gamma, with_grad, kind == 2)
    return _reference_block(x, y, alpha, gamma, with_grad)


def forward(call: Call, with_grad: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The loss and (if asked) the gradient of the unnormalized per-element loss, of logit's shape;
    ``call.alpha`` and ``call.gamma`` are floats."""
    logit, label, normalizer = call.logit, call.label, call.normalizer
    alpha, gamma, reduction = float(call.alpha), float(call.gamma), call.reduction
    n = logit.numel()
    size = _block_size(logit)
    grad: torch.Tensor | None
    if n <= size:
        # Elementwise operations on the arrays as given: the results are new tensors of logit's
        # shape, not views, so that a caller may edit them in place.
        loss, grad = _block(logit, label, alpha, gamma, with_grad)
        if reduction == "none":
            result = loss
        else:
            result = loss.sum() if reduction == "sum" else loss.mean()
    else:
        x, y = logit.reshape(-1), label.reshape(-1)
        grad = torch.empty(logit.shape, dtype=x.dtype, device=x.device) if with_grad else None
        flat_grad = grad.view(-1) if grad is not None else None
        out = (
            torch.empty(logit.shape, dtype=x.dtype, device=x.device)
            if reduction == "none"
            else None
        )
        flat_out = out.view(-1) if out is not None else None
        # Per-block sums accumulate in float64: the sum of 2**26 float32 terms keeps its digits.
        total = torch.zeros((), dtype=torch.float64, device=x.device)
        for start in range(0, n, size):
            stop = start + size
            loss, g = _block(x[start:stop], y[start:stop], alpha, gamma, with_grad)
            if flat_grad is not None and g is not None:
                flat_grad[start:stop] = g
            if flat_out is not None:
                flat_out[start:stop] = loss
            else:
                total += loss.sum(dtype=torch.float64)
        if out is not None:
            result = out
        else:
            result = (total if reduction == "sum" else total / n).to(x.dtype)
    if normalizer is not None:
        result = result / normalizer
    return result, grad


class FusedFocalLoss(torch.autograd.Function):
    """Loss and gradient in one pass; saves the gradient, so the backward is one multiplication."""

    @staticmethod
    def forward(
        ctx: Any,
        logit: torch.Tensor,
        label: torch.Tensor,
        normalizer: torch.Tensor | None,
        alpha: float,
        gamma: float,
        reduction: Reduction,
    ) -> torch.Tensor:
        call = Call(logit, label, normalizer, alpha, gamma, reduction, xp_torch)
        result, grad = forward(call, True)
        assert grad is not None
        # The scale of the reduction and the normalizer is applied here, leaving the backward bare.
        if reduction == "mean" and logit.numel():
            grad.mul_(1.0 / logit.numel())
        if normalizer is not None:
            grad.div_(normalizer)
        ctx.args = (normalizer, alpha, gamma, reduction)
        # The inputs are saved too (no copy): a second differentiation recomputes from them.
        ctx.save_for_backward(grad, logit, label)
        return result

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
        grad, logit, label = ctx.saved_tensors
        if torch.is_grad_enabled():
            grad = _differentiable_grad(logit, label, ctx.args)
        return grad_out * grad, None, None, None, None, None


def _differentiable_grad(
    logit: torch.Tensor,
    label: torch.Tensor,
    args: tuple[torch.Tensor | None, float, float, Reduction],
) -> torch.Tensor:
    """d result / d logit in operations that autograd can differentiate again (create_graph=True);
    ``args`` are the forward's normalizer, alpha, gamma and reduction."""
    normalizer, alpha, gamma, reduction = args
    grad: torch.Tensor = focal_elementwise_grads(xp_torch, logit, label, alpha, gamma).logit
    if reduction == "mean":
        grad = grad / logit.numel()
    return grad / normalizer if normalizer is not None else grad
