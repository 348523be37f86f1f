"""The torch path under transforms: an ``autograd.Function`` that composes like plain torch operations.

``torch.func`` (grad, vmap, jacrev, jvp, hessian), forward-mode AD and ``torch.compile(fullgraph=True)``
need a Function with ``setup_context``, a vmap rule and a ``jvp``; its forward and backward must be
traceable (no data-dependent Python branches, no host synchronization). The forward evaluates the
reference formulas, the backward and the jvp the written-out derivatives of ``paddlefocal._derivatives``,
both in plain torch operations, so that a transform can differentiate the backward again (hessian,
gradgradcheck). Under ``torch.compile`` Inductor fuses each of them into one loop.
"""

from __future__ import annotations

from typing import Any

import array_api_compat.torch as xp_torch
import torch

from paddlefocal._call import Call
from paddlefocal._derivatives import focal_elementwise_grads
from paddlefocal._reference import apply_normalizer_and_reduction, focal_elementwise
from paddlefocal._typing import Reduction


def _reduce_like_forward(
    per_element: torch.Tensor, normalizer: torch.Tensor | None, reduction: Reduction
) -> torch.Tensor:
    return apply_normalizer_and_reduction(xp_torch, per_element, normalizer, reduction)


def _upstream(
    grad_out: torch.Tensor, n: int, normalizer: torch.Tensor | None, reduction: Reduction
) -> torch.Tensor:
    """The cotangent of the per-element loss: the adjoint of dividing and reducing."""
    if reduction == "mean":
        grad_out = grad_out / n
    if normalizer is not None:
        grad_out = grad_out / normalizer
    return grad_out


def _unpack(ctx: Any, saved: tuple[Any, ...]) -> tuple[Any, ...]:
    logit, label, normalizer, alpha, gamma = saved
    alpha = ctx.scalars[0] if alpha is None else alpha
    gamma = ctx.scalars[1] if gamma is None else gamma
    return logit, label, normalizer, alpha, gamma


class CompiledFocalLoss(torch.autograd.Function):
    """Sigmoid focal loss with the analytic backward, traceable by Dynamo (which refuses a custom jvp)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(
        logit: torch.Tensor,
        label: torch.Tensor,
        normalizer: torch.Tensor | None,
        alpha: Any,
        gamma: Any,
        reduction: Reduction,
    ) -> torch.Tensor:
        per_element = focal_elementwise(xp_torch, logit, label, alpha, gamma)
        return _reduce_like_forward(per_element, normalizer, reduction)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        logit, label, normalizer, alpha, gamma, reduction = inputs
        ctx.reduction = reduction
        ctx.scalars = tuple(v if not isinstance(v, torch.Tensor) else None for v in (alpha, gamma))
        tensors = (
            logit,
            label,
            normalizer,
            *(v if isinstance(v, torch.Tensor) else None for v in (alpha, gamma)),
        )
        ctx.save_for_backward(*tensors)
        ctx.save_for_forward(*tensors)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
        logit, label, normalizer, alpha, gamma = _unpack(ctx, ctx.saved_tensors)
        need = ctx.needs_input_grad
        up = _upstream(grad_out, logit.numel(), normalizer, ctx.reduction)
        d_logit = d_label = d_norm = d_alpha = d_gamma = None
        if need[0] or need[1] or need[3] or need[4]:
            g = focal_elementwise_grads(xp_torch, logit, label, alpha, gamma)
            d_logit = up * g.logit if need[0] else None
            d_label = up * g.label if need[1] else None
            d_alpha = torch.sum(up * g.alpha) if need[3] else None
            d_gamma = torch.sum(up * g.gamma) if need[4] else None
        if need[2]:
            per_element = focal_elementwise(xp_torch, logit, label, alpha, gamma)
            d_norm = -torch.sum(up * per_element) / normalizer
        return d_logit, d_label, d_norm, d_alpha, d_gamma, None


class FocalLoss(CompiledFocalLoss):
    """The same with the forward-mode rule, for ``torch.func`` and ``torch.autograd.forward_ad``."""

    @staticmethod
    def jvp(ctx: Any, *tangents: Any) -> torch.Tensor:
        logit, label, normalizer, alpha, gamma = _unpack(ctx, ctx.saved_tensors)
        t_logit, t_label, t_norm, t_alpha, t_gamma, _ = tangents
        g = focal_elementwise_grads(xp_torch, logit, label, alpha, gamma)
        tangent = torch.zeros_like(logit)
        for t, partial in ((t_logit, g.logit), (t_label, g.label)):
            if t is not None:
                tangent = tangent + partial * t
        for t, partial in ((t_alpha, g.alpha), (t_gamma, g.gamma)):
            if t is not None:
                tangent = tangent + partial * t
        if t_norm is not None and normalizer is not None:
            # d(L / n) = dL / n - L dn / n**2
            per_element = focal_elementwise(xp_torch, logit, label, alpha, gamma)
            tangent = tangent - per_element * (t_norm / normalizer)
        return _reduce_like_forward(tangent, normalizer, ctx.reduction)


def loss(call: Call) -> torch.Tensor:
    """The composable path: any inputs, any transform."""
    function = CompiledFocalLoss if torch.compiler.is_compiling() else FocalLoss
    result: torch.Tensor = function.apply(
        call.logit, call.label, call.normalizer, call.alpha, call.gamma, call.reduction
    )
    return result
