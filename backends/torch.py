"""torch path: an ``autograd.Function``, fused per block, with the written-out derivative as backward.

Autograd through the forward formulas would give nan at saturated logits for ``gamma < 1`` (as Paddle and
torchvision do) and would keep a dozen full-size intermediates alive until the backward. Here the forward
saves only its inputs (logit and label themselves: no copy), and both passes walk the data in blocks on
the CPU (one block on a GPU), so nothing full-size is allocated beyond the result and the gradients. A
block holding anything outside the common case (a non-finite logit, a label outside [0, 1], a subnormal
``1 - p_t``) is handed to the reference formulas, which then serve it exactly.
"""

from __future__ import annotations

from typing import Any

import array_api_compat.torch as xp_torch
import torch

from paddlefocal._call import Call
from paddlefocal._derivatives import focal_elementwise_grads
from paddlefocal._reference import apply_normalizer_and_reduction, focal_elementwise

#: Elements per block on the CPU: large enough that the per-operation overhead is amortized, small
#: enough that a block's temporaries stay in the L2 cache.
CPU_BLOCK = 1 << 17


def _block_size(device: torch.device, n: int) -> int:
    return CPU_BLOCK if device.type == "cpu" else max(n, 1)


def _is_regular(x: torch.Tensor, y: torch.Tensor, q: torch.Tensor, gamma: float) -> bool:
    """Finite logits, labels in [0, 1] and a normal 1 - p_t (unless gamma is 0): the common case that
    the fused formulas serve. One synchronization for the five reductions."""
    if x.numel() == 0:
        return True
    lo_x, hi_x, lo_y, hi_y, lo_q = torch.stack(
        [x.min(), x.max(), y.min(), y.max(), q.min()]
    ).tolist()
    tiny = torch.finfo(x.dtype).smallest_normal
    return bool(
        -float("inf") < lo_x
        and hi_x < float("inf")
        and lo_y >= 0.0
        and hi_y <= 1.0
        and (gamma == 0.0 or lo_q >= tiny)
    )


def _pieces(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """sigmoid(x), sigmoid(-x), 1 - y, ce and 1 - p_t of a regular block."""
    s = torch.sigmoid(x)
    sn = torch.sigmoid(-x)
    l1p = torch.log1p(torch.exp(-x.abs()))
    omy = 1.0 - y
    # ce = y softplus(-x) + (1 - y) softplus(x): non-negative terms for labels in [0, 1].
    ce = (torch.relu(x) + l1p).mul_(omy).add_((torch.relu(-x) + l1p).mul_(y))
    q = (s * omy).add_(sn * y)  # 1 - p_t without cancellation
    return s, sn, omy, ce, q


def _power(q: torch.Tensor, gamma: float) -> torch.Tensor:
    if gamma == 0.0:
        return torch.ones_like(q)
    if gamma == 1.0:
        return q
    if gamma == 2.0:
        return q * q
    return q.pow(gamma)


def _forward_block(x: torch.Tensor, y: torch.Tensor, alpha: float, gamma: float) -> torch.Tensor:
    # The pieces are computed first and thrown away if the block is not regular: checking the
    # inputs and 1 - p_t together costs one synchronization instead of two.
    *_, ce, q = _pieces(x, y)
    if _is_regular(x, y, q, gamma):
        a_t = (y * (2.0 * alpha - 1.0)).add_(1.0 - alpha)
        return a_t.mul_(_power(q, gamma)).mul_(ce)
    return focal_elementwise(xp_torch, x, y, alpha, gamma)


def _grads_block(
    x: torch.Tensor, y: torch.Tensor, alpha: float, gamma: float, with_loss: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """d loss / d logit, d loss / d label and (if asked) the loss of one block."""
    s, sn, omy, ce, q = _pieces(x, y)
    if _is_regular(x, y, q, gamma):
        a_t = (y * (2.0 * alpha - 1.0)).add_(1.0 - alpha)
        # g q**(g-1) ce: q is a normal number here, so q**(g-1) is finite; q**g = q**(g-1) q.
        qgm1 = _power(q, gamma - 1.0) if gamma != 0.0 else None
        qg = qgm1 * q if qgm1 is not None else torch.ones_like(q)
        half_tanh = torch.tanh(0.5 * x)
        # d ce / dx = sigmoid(x) - y, formed without cancellation (see _derivatives).
        dce_dx = torch.where(x.abs() < 1.0, 0.5 * half_tanh + (0.5 - y), s * omy - sn * y)
        focal = qgm1 * ce * gamma if qgm1 is not None else None
        d_logit = qg * dce_dx
        d_label = qg * (-x)
        if focal is not None:
            d_logit.add_(focal * (s * sn).mul_(1.0 - 2.0 * y))
            d_label.sub_(focal * half_tanh)  # dq/dy = sigmoid(-x) - sigmoid(x) = -tanh(x/2)
        d_logit.mul_(a_t)
        d_label.mul_(a_t).add_(qg * ce * (2.0 * alpha - 1.0))
        loss = a_t * qg * ce if with_loss else None
        return d_logit, d_label, loss
    grads = focal_elementwise_grads(xp_torch, x, y, alpha, gamma)
    loss = focal_elementwise(xp_torch, x, y, alpha, gamma) if with_loss else None
    return grads.logit, grads.label, loss


def _flat(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(-1)


class FocalLoss(torch.autograd.Function):
    """Sigmoid focal loss with an analytic backward to logit, label, normalizer, alpha and gamma."""

    @staticmethod
    def forward(
        ctx: Any,
        logit: torch.Tensor,
        label: torch.Tensor,
        normalizer: torch.Tensor | None,
        alpha: Any,
        gamma: Any,
        reduction: str,
    ) -> torch.Tensor:
        ctx.reduction = reduction
        ctx.tensor_scalars = isinstance(alpha, torch.Tensor) or isinstance(gamma, torch.Tensor)
        if ctx.tensor_scalars:
            # alpha or gamma as tensors (perhaps requiring grad): the reference formulas serve them.
            loss = focal_elementwise(xp_torch, logit, label, alpha, gamma)
            result = apply_normalizer_and_reduction(xp_torch, loss, normalizer, reduction)
        else:
            result = _fused_forward(logit, label, normalizer, float(alpha), float(gamma), reduction)
        empty = logit.new_empty(0)
        ctx.has = (
            normalizer is not None,
            isinstance(alpha, torch.Tensor),
            isinstance(gamma, torch.Tensor),
        )
        ctx.scalars = (alpha, gamma)
        ctx.save_for_backward(
            logit,
            label,
            normalizer if ctx.has[0] else empty,
            alpha if ctx.has[1] else empty,
            gamma if ctx.has[2] else empty,
        )
        return result

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
        logit, label, normalizer, alpha, gamma = ctx.saved_tensors
        normalizer = normalizer if ctx.has[0] else None
        alpha = alpha if ctx.has[1] else ctx.scalars[0]
        gamma = gamma if ctx.has[2] else ctx.scalars[1]
        need = ctx.needs_input_grad
        upstream = grad_out
        if ctx.reduction == "mean":
            upstream = upstream / logit.numel()
        if normalizer is not None:
            upstream = upstream / normalizer
        if ctx.tensor_scalars or torch.is_grad_enabled():
            # Tensor alpha/gamma, or a double backward (create_graph=True): the reference formulas,
            # whole-array and out-of-place, so that autograd can differentiate them again.
            return _reference_backward(logit, label, normalizer, alpha, gamma, upstream, need)
        return _fused_backward(logit, label, normalizer, float(alpha), float(gamma), upstream, need)


def _fused_forward(
    logit: torch.Tensor,
    label: torch.Tensor,
    normalizer: torch.Tensor | None,
    alpha: float,
    gamma: float,
    reduction: str,
) -> torch.Tensor:
    x, y = _flat(logit), _flat(label)
    n = x.numel()
    size = _block_size(x.device, n)
    if reduction == "none":
        out = torch.empty(n, dtype=x.dtype, device=x.device)
        for start in range(0, n, size):
            out[start : start + size] = _forward_block(
                x[start : start + size], y[start : start + size], alpha, gamma
            )
        result = out.reshape(logit.shape)
        return result / normalizer if normalizer is not None else result
    # Per-block sums accumulate in float64: the sum of 2**26 float32 terms keeps its digits.
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    for start in range(0, n, size):
        block = _forward_block(x[start : start + size], y[start : start + size], alpha, gamma)
        total += block.sum(dtype=torch.float64)
    if reduction == "mean":
        total = total / n if n else torch.full_like(total, float("nan"))
    result = total.to(logit.dtype)
    return result / normalizer if normalizer is not None else result


def _fused_backward(
    logit: torch.Tensor,
    label: torch.Tensor,
    normalizer: torch.Tensor | None,
    alpha: float,
    gamma: float,
    upstream: torch.Tensor,
    need: tuple[bool, ...],
) -> tuple[Any, ...]:
    x, y = _flat(logit), _flat(label)
    n = x.numel()
    size = _block_size(x.device, n)
    per_element = upstream.dim() > 0
    up = _flat(upstream) if per_element else upstream
    d_logit = torch.empty(n, dtype=x.dtype, device=x.device) if need[0] else None
    d_label = torch.empty(n, dtype=x.dtype, device=x.device) if need[1] else None
    d_norm = torch.zeros((), dtype=torch.float64, device=x.device) if need[2] else None
    for start in range(0, n, size):
        stop = start + size
        gx, gy, loss = _grads_block(x[start:stop], y[start:stop], alpha, gamma, need[2])
        u = up[start:stop] if per_element else up
        if d_logit is not None:
            torch.mul(gx, u, out=d_logit[start:stop])
        if d_label is not None:
            torch.mul(gy, u, out=d_label[start:stop])
        if d_norm is not None and loss is not None:
            d_norm -= (loss * u).sum(dtype=torch.float64)
    return (
        None if d_logit is None else d_logit.reshape(logit.shape),
        None if d_label is None else d_label.reshape(label.shape),
        None if d_norm is None or normalizer is None else (d_norm.to(x.dtype) / normalizer),
        None,
        None,
        None,
    )


def _reference_backward(
    logit: torch.Tensor,
    label: torch.Tensor,
    normalizer: torch.Tensor | None,
    alpha: Any,
    gamma: Any,
    upstream: torch.Tensor,
    need: tuple[bool, ...],
) -> tuple[Any, ...]:
    d_logit = d_label = d_normalizer = d_alpha = d_gamma = None
    if need[0] or need[1] or need[3] or need[4]:
        grads = focal_elementwise_grads(xp_torch, logit, label, alpha, gamma)
        if need[0]:
            d_logit = upstream * grads.logit
        if need[1]:
            d_label = upstream * grads.label
        if need[3]:
            d_alpha = torch.sum(upstream * grads.alpha)
        if need[4]:
            d_gamma = torch.sum(upstream * grads.gamma)
    if need[2]:
        assert normalizer is not None  # needs_input_grad is False for a None argument
        loss = focal_elementwise(xp_torch, logit, label, alpha, gamma)
        d_normalizer = -torch.sum(upstream * loss) / normalizer
    return d_logit, d_label, d_normalizer, d_alpha, d_gamma, None


def loss(call: Call) -> torch.Tensor:
    """Sigmoid focal loss of torch tensors, CPU or CUDA, fused, with the analytic backward."""
    result: torch.Tensor = FocalLoss.apply(
        call.logit, call.label, call.normalizer, call.alpha, call.gamma, call.reduction
    )
    return result
