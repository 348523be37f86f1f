"""torch path: one pass for the loss and its gradient in eager mode; a composable Function elsewhere.

Two implementations of the same function, chosen per call:

- eager, plain tensors, ``alpha`` and ``gamma`` numbers, ``gamma >= 0`` and only ``logit`` (if anything)
  requiring grad: :mod:`._torch_fused` forms the loss and ``d loss / d logit`` in one blocked pass and
  saves that gradient (the logit's size) for a backward of one multiplication;
- anything else (``torch.compile``, ``torch.func`` transforms, forward-mode AD, a label or normalizer
  that requires grad, tensor ``alpha``/``gamma``, a negative ``gamma``): :mod:`._torch_composable`, an
  ``autograd.Function`` with ``setup_context``, a vmap rule and a ``jvp`` over the reference formulas
  and their written-out derivatives.

Both give finite gradients where autograd through the forward formulas gives nan (saturated logits with
``gamma < 1``), and both are device-agnostic.
"""

from __future__ import annotations

import torch
import torch.autograd.forward_ad as _forward_ad

from paddlefocal._call import Call

from . import _torch_compiled, _torch_composable, _torch_fused
from ._torch_fused import CPU_BLOCK

__all__ = ["CPU_BLOCK", "loss"]

_transforms_level = torch._C._functorch.maybe_current_level


def _needs_grad(tensor: torch.Tensor | None) -> bool:
    return tensor is not None and tensor.requires_grad


def loss(call: Call) -> torch.Tensor:
    """Sigmoid focal loss of torch tensors, on any device, with the analytic derivative."""
    logit, label, normalizer = call.logit, call.label, call.normalizer
    alpha, gamma, reduction = call.alpha, call.gamma, call.reduction
    result: torch.Tensor
    # Tensor alpha/gamma, a negative gamma (whose power the reference forms in log space), gradients to
    # label or normalizer: the reference formulas in the composable Function.
    if type(alpha) is not float or type(gamma) is not float or gamma < 0.0:
        return _torch_composable.loss(call)
    grad_enabled = torch.is_grad_enabled()
    if grad_enabled and (label.requires_grad or _needs_grad(normalizer)):
        return _torch_composable.loss(call)
    if torch.compiler.is_compiling():
        result = _torch_compiled.CompiledFusedFocalLoss.apply(
            logit, label, normalizer, alpha, gamma, reduction
        )
        return result
    if _transforms_level() is not None or _forward_ad._current_level >= 0:
        return _torch_composable.loss(call)
    if grad_enabled and logit.requires_grad:
        result = _torch_fused.FusedFocalLoss.apply(
            logit, label, normalizer, alpha, gamma, reduction
        )
        return result
    return _torch_fused.forward(call, False)[0]
