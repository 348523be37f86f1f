"""The torch path inside ``torch.compile``: loss and gradient as one branch-free loop.

Dynamo cannot branch on data, so the eager path's per-block check of the common case is not available;
instead every element takes one formula whose guards (``where``) keep the limits at +-inf, the ignore
label -100 and labels outside [0, 1] as the reference has them. Inductor fuses it into one loop that
forms the loss and ``d loss / d logit`` together (one exp, one log1p and one division per element; a pow only
for a ``gamma`` other than 0, 1 and 2); the Function saves that gradient and its backward is one
multiplication. Used for ``alpha``, ``gamma`` numbers with ``gamma >= 0`` when only ``logit`` requires
grad; other calls take the composable Function over the reference formulas.
"""

from __future__ import annotations

from typing import Any

import torch


def _half_tanh_half(x: torch.Tensor) -> torch.Tensor:
    """tanh(x/2)/2 = sigmoid(x) - 1/2 for small |x|: u - u**3/3 + 2u**5/15 - 17u**7/315 + 62u**9/2835."""
    u = 0.5 * x
    u2 = u * u
    series = 1.0 + u2 * (
        -1.0 / 3.0 + u2 * (2.0 / 15.0 + u2 * (-17.0 / 315.0 + u2 * (62.0 / 2835.0)))
    )
    return 0.5 * u * series


def loss_and_grad(
    x: torch.Tensor, y: torch.Tensor, alpha: float, gamma: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-element loss and d loss / d logit, for any logit and label, in guarded operations."""
    e = torch.exp(-x.abs())
    inv = 1.0 / (1.0 + e)
    pos = x >= 0
    s = torch.where(pos, inv, e * inv)
    sn = torch.where(pos, e * inv, inv)
    # ce = y softplus(-x) + (1-y) softplus(x); a term whose weight is 0 is 0 also against an infinite
    # softplus (x = +-inf with a hard label).
    ce = (
        torch.where(y == 0, 0.0, y * torch.relu(-x))
        + torch.where(y == 1, 0.0, (1.0 - y) * torch.relu(x))
        + torch.log1p(e)
    )
    kept = y != -100.0  # IGNORE_INDEX: a literal, as Dynamo lifts a float global as an input
    ce = torch.where(kept, ce, 0.0)
    q = s * (1.0 - y) + sn * y
    a_t = alpha * y + (1.0 - alpha) * (1.0 - y)
    # d ce / dx = sigmoid(x) - y; near 0 as (sigmoid(x) - 1/2) + (1/2 - y), whose first term, from the
    # series of tanh(x/2)/2, keeps a tiny logit's digits against a label of 1/2 (a polynomial: Inductor's
    # tanh costs four exps). Beyond NEAR_ZERO the difference s(1-y) - s'y loses at most
    # eps / |sigmoid(x) - 1/2| of its digits. Five terms of the series leave a relative error of
    # 0.009 (x/2)**10: below 1e-8 (float32) and 1e-14 (float64) within these bounds. (Literals: Dynamo
    # lifts a float read from a global as a graph input, which breaks a second call in the graph.)
    near = 0.5 if x.dtype == torch.float32 else 0.125
    dce = torch.where(x.abs() < near, _half_tanh_half(x) + (0.5 - y), s * (1.0 - y) - sn * y)
    dce = torch.where(kept, dce, 0.0)
    if gamma == 0.0:
        return a_t * ce, a_t * dce
    dq = s * sn * (1.0 - 2.0 * y)
    # g q**(g-1) dq ce, as q**g (dq / q) ce: dq / q is bounded for labels in [0, 1], so nothing is
    # infinite where q underflows; a zero dq (x = +-inf) against an infinite ce is a 0 limit.
    if gamma == 1.0:
        qg, focal = q, dq
    elif gamma == 2.0:
        qg, focal = q * q, 2.0 * q * dq
    else:
        qg = q**gamma
        focal = gamma * qg * (dq / q)
    focal = torch.where(dq == 0, 0.0, focal * ce)
    return a_t * qg * ce, a_t * (focal + qg * dce)


class CompiledFusedFocalLoss(torch.autograd.Function):
    """Loss and gradient in one loop; the backward multiplies the saved gradient."""

    @staticmethod
    def forward(
        ctx: Any,
        logit: torch.Tensor,
        label: torch.Tensor,
        normalizer: torch.Tensor | None,
        alpha: float,
        gamma: float,
        reduction: str,
    ) -> torch.Tensor:
        per_element, grad = loss_and_grad(logit, label, alpha, gamma)
        if normalizer is not None:
            per_element = per_element / normalizer
            grad = grad / normalizer
        if reduction == "sum":
            result = per_element.sum()
        elif reduction == "mean":
            result = per_element.mean()
            grad = grad / logit.numel()
        else:
            result = per_element
        ctx.save_for_backward(grad)
        return result

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
        (grad,) = ctx.saved_tensors
        return grad_out * grad, None, None, None, None, None
