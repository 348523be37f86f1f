"""torch path: an ``autograd.Function`` whose backward is the analytic derivative.

Autograd through the forward formulas would give nan at saturated logits for ``gamma < 1`` (as Paddle and
torchvision do); the written-out derivative of ``paddlefocal._derivatives`` is finite there.
"""

from __future__ import annotations

from typing import Any

import array_api_compat.torch as xp_torch
import torch

from paddlefocal._derivatives import focal_elementwise_grads
from paddlefocal._reference import apply_normalizer_and_reduction, focal_elementwise


def _upstream(grad_out: torch.Tensor, count: int, normalizer: Any, reduction: str) -> torch.Tensor:
    """d output / d per-element loss, times the incoming gradient."""
    grad = grad_out
    if reduction == "mean":
        grad = grad / count
    if normalizer is not None:
        grad = grad / normalizer
    return grad


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
        loss = focal_elementwise(xp_torch, logit, label, alpha, gamma)
        ctx.reduction = reduction
        ctx.alpha_is_tensor = isinstance(alpha, torch.Tensor)
        ctx.gamma_is_tensor = isinstance(gamma, torch.Tensor)
        ctx.scalars = (
            None if ctx.alpha_is_tensor else alpha,
            None if ctx.gamma_is_tensor else gamma,
        )
        tensors = [logit, label, normalizer if normalizer is not None else logit.new_empty(0)]
        tensors += [alpha if ctx.alpha_is_tensor else logit.new_empty(0)]
        tensors += [gamma if ctx.gamma_is_tensor else logit.new_empty(0)]
        ctx.has_normalizer = normalizer is not None
        ctx.save_for_backward(*tensors)
        return apply_normalizer_and_reduction(xp_torch, loss, normalizer, reduction)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
        logit, label, normalizer, alpha, gamma = ctx.saved_tensors
        normalizer = normalizer if ctx.has_normalizer else None
        alpha = alpha if ctx.alpha_is_tensor else ctx.scalars[0]
        gamma = gamma if ctx.gamma_is_tensor else ctx.scalars[1]
        need = ctx.needs_input_grad
        upstream = _upstream(grad_out, logit.numel(), normalizer, ctx.reduction)
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
            # out = reduce(loss / n): d out / d n = -reduce(grad * loss) / n.
            loss = focal_elementwise(xp_torch, logit, label, alpha, gamma)
            assert normalizer is not None  # needs_input_grad is False for a None argument
            d_normalizer = -torch.sum(upstream * loss) / normalizer
        return d_logit, d_label, d_normalizer, d_alpha, d_gamma, None


def loss(
    logit: Any, label: Any, normalizer: Any, alpha: Any, gamma: Any, reduction: str, *, xp: Any
) -> Any:
    """Sigmoid focal loss of torch tensors, CPU or CUDA, with the analytic backward."""
    return FocalLoss.apply(logit, label, normalizer, alpha, gamma, reduction)
