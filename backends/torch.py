"""torch path: one autograd Function over the driver, and its forward-mode twin.

The forward runs a kernel under the driver (``paddlefocal._driver``): NumPy's kernels for CPU tensors
(on views of their memory; a large compiled input calls them as an operator, ``_torch_cpu_op``), the
Triton kernel on a Triton device (CUDA, ROCm, XPU) when ``triton`` imports, the branch-free kernel
elsewhere. When only ``logit`` requires grad the kernel forms ``d loss / d logit`` beside the loss
and the Function saves that one tensor: the backward is one multiplication. Otherwise (gradients to
``label`` or ``normalizer``, tensor ``alpha``/``gamma``, a negative ``gamma``, ``vmap``) the forward
evaluates the reference formulas and the backward the written-out derivatives of
``paddlefocal._derivatives``, in plain torch operations that a transform can differentiate again.

``FocalLoss`` serves eager calls and ``torch.compile(fullgraph=True)``, where Dynamo leaves it opaque
(``_in_graph``); ``FocalLossJvp`` adds ``setup_context``, a vmap rule and the forward-mode rule
(``jvp``), for ``torch.func`` and forward AD, outside a compiled region (Dynamo refuses a custom
``jvp``). Both are finite where autograd through the forward formulas gives nan (saturated logits with
``gamma < 1``).
"""

from __future__ import annotations

import importlib.util
import inspect
from typing import Any

import array_api_compat.torch as xp_torch
import torch
from torch.autograd import forward_ad

from paddlefocal._after_import import after_import
from paddlefocal._call import Call
from paddlefocal._derivatives import focal_elementwise_grads
from paddlefocal._driver import Kernel, run, serves
from paddlefocal._kinds import KINDS, torch_kind
from paddlefocal._reference import apply_normalizer_and_reduction, focal_elementwise
from paddlefocal._typing import REDUCTIONS, Reduction

from . import _torch_cpu_op as _cpu_op
from ._torch_kernels import branch_free_kernel, cpu_kernel

__all__ = ["FocalLoss", "FocalLossJvp", "loss", "triton_loss"]

_TRITON = importlib.util.find_spec("triton") is not None


def _triton_kernel() -> Kernel:
    from ._triton_kernel import triton_kernel

    return triton_kernel


def _kernel(x: torch.Tensor, forced: bool) -> Kernel | None:
    """The kernel for ``x``; None where the reference formulas serve it."""
    if torch.compiler.is_compiling():
        # A large CPU input's graph calls the eager kernel as an opaque operator (_torch_cpu_op).
        large = x.numel() >= _cpu_op.COMPILED_CPU_OP
        cpu = x.device.type == "cpu" and not forced and _cpu_op.defined() and large
        return cpu_kernel if cpu else branch_free_kernel
    # A tensor that vmap batches cannot be written into the driver's outputs: the reference
    # formulas, in plain operations, are vmapped instead.
    if _wrapped(x):
        return None
    if forced or (_TRITON and x.device.type in ("cuda", "xpu")):
        return _triton_kernel()
    return cpu_kernel if x.device.type == "cpu" else branch_free_kernel


def _forward(call: Call, want_grad: bool, forced: bool) -> tuple[torch.Tensor, torch.Tensor]:
    kernel = _kernel(call.logit, forced) if serves(call) else None
    if kernel is None:
        per_element = focal_elementwise(xp_torch, call.logit, call.label, call.alpha, call.gamma)
        result = apply_normalizer_and_reduction(
            xp_torch, per_element, call.normalizer, call.reduction
        )
        grad = None
    elif kernel is cpu_kernel:
        if torch.compiler.is_compiling():
            return _cpu_op.call(call, want_grad)
        result, grad = _cpu_op.run_cpu(call, want_grad, kernel)
    else:
        result, grad = run(call, kernel, want_grad=want_grad)
    # An empty tensor says "no gradient saved": the backward then uses the written-out derivatives.
    return result, call.logit.new_empty((0,)) if grad is None else grad


def _forward_of(args: tuple[Any, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    logit, label, normalizer, alpha, gamma, reduction, want_grad, forced = args
    call = Call(logit, label, normalizer, alpha, gamma, reduction, xp_torch)
    return _forward(call, want_grad, forced)


def _upstream(
    grad_out: torch.Tensor, n: int, normalizer: torch.Tensor | None, reduction: Reduction
) -> torch.Tensor:
    """The cotangent of the per-element loss: the adjoint of dividing and reducing."""
    if reduction == "mean":
        grad_out = grad_out / n
    if normalizer is not None:
        grad_out = grad_out / normalizer
    return grad_out


class FocalLoss(torch.autograd.Function):
    """Sigmoid focal loss with the analytic backward, for eager calls and torch.compile.

    Its forward takes ``ctx`` (no ``setup_context``): torch 2.14 binds a ``setup_context`` Function's
    arguments to its signature on every call, 10-20 us (as much as a 4096-element loss), where this
    form binds nothing. ``torch.func`` needs ``setup_context``: the twin has it.
    """

    @staticmethod
    def forward(ctx: Any, *args: Any) -> tuple[torch.Tensor, torch.Tensor]:
        # (logit, label, normalizer, alpha, gamma, reduction, want_grad, forced)
        output = _forward_of(args)
        _save(ctx, args, output, forward=False)
        return output

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor, _: Any) -> tuple[Any, ...]:
        logit, label, normalizer, alpha, gamma, saved = _unpack(ctx)
        need = ctx.needs_input_grad
        if grad_out is None:
            return (None,) * 8
        if saved.numel() == logit.numel() and not torch.is_grad_enabled() and not any(need[1:5]):
            return grad_out * saved, None, None, None, None, None, None, None
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
        return d_logit, d_label, d_norm, d_alpha, d_gamma, None, None, None


def _save(ctx: Any, inputs: tuple[Any, ...], output: Any, forward: bool) -> None:
    logit, label, normalizer, alpha, gamma, reduction = inputs[:6]
    ctx.reduction = reduction
    ctx.scalars = tuple(v if not isinstance(v, torch.Tensor) else None for v in (alpha, gamma))
    arrays = (v if isinstance(v, torch.Tensor) else None for v in (alpha, gamma))
    tensors = (logit, label, normalizer, *arrays, output[1])
    ctx.mark_non_differentiable(output[1])
    # The saved gradient is an output for autograd's sake only: no zeros of its size backward.
    ctx.set_materialize_grads(False)
    ctx.save_for_backward(*tensors)
    if forward:
        ctx.save_for_forward(*tensors)


def _unpack(ctx: Any) -> tuple[Any, ...]:
    logit, label, normalizer, alpha, gamma, saved = ctx.saved_tensors
    alpha = ctx.scalars[0] if alpha is None else alpha
    gamma = ctx.scalars[1] if gamma is None else gamma
    return logit, label, normalizer, alpha, gamma, saved


class FocalLossJvp(FocalLoss):
    """The same with ``setup_context``, a vmap rule and the forward-mode rule, for ``torch.func`` and
    ``torch.autograd.forward_ad``."""

    generate_vmap_rule = True

    @staticmethod
    def forward(*args: Any) -> tuple[torch.Tensor, torch.Tensor]:
        # apply binds its arguments to this signature on every call: ``*args`` binds in a few
        # microseconds, eight named parameters in 10-20.
        return _forward_of(args)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        _save(ctx, inputs, output, forward=True)

    @staticmethod
    def jvp(ctx: Any, *tangents: Any) -> tuple[torch.Tensor, None]:
        logit, label, normalizer, alpha, gamma, _ = _unpack(ctx)
        t_logit, t_label, t_norm, t_alpha, t_gamma = tangents[:5]
        g = focal_elementwise_grads(xp_torch, logit, label, alpha, gamma)
        tangent = torch.zeros_like(logit)
        for t, partial in ((t_logit, g.logit), (t_label, g.label), (t_alpha, g.alpha)):
            if t is not None:
                tangent = tangent + partial * t
        if t_gamma is not None:
            tangent = tangent + g.gamma * t_gamma
        if t_norm is not None and normalizer is not None:
            # d(L / n) = dL / n - L dn / n**2
            per_element = focal_elementwise(xp_torch, logit, label, alpha, gamma)
            tangent = tangent - per_element * (t_norm / normalizer)
        reduced = apply_normalizer_and_reduction(xp_torch, tangent, normalizer, ctx.reduction)
        return reduced, None


# The twin's apply binds its arguments to forward's signature on every call; inspect.signature would
# rebuild it each time (17 us, more than the seed's whole loss), unless the function carries it.
FocalLossJvp.forward.__signature__ = inspect.signature(FocalLossJvp.forward)  # type: ignore[attr-defined]
# Outside torch.func and torch.compile, with every argument given positionally, Function.apply's own
# checks (3-4 us on torch 2.13) change nothing: the eager call goes to the base class's apply, which
# Function.apply itself calls once it has made them.
_eager_apply = super(torch.autograd.Function, FocalLoss).apply
_wrapped = torch._C._functorch.is_functorch_wrapped_tensor


def _dual(tensor: torch.Tensor | None) -> bool:
    return tensor is not None and forward_ad.unpack_dual(tensor).tangent is not None


def _apply(call: Call, forced: bool) -> torch.Tensor:
    logit, label, normalizer = call.logit, call.label, call.normalizer
    grad_mode = torch.is_grad_enabled()
    norm_grad = normalizer is not None and normalizer.requires_grad
    want_grad = grad_mode and logit.requires_grad and not label.requires_grad and not norm_grad
    args = (logit, label, normalizer, call.alpha, call.gamma, call.reduction, want_grad, forced)
    result: torch.Tensor
    if torch.compiler.is_compiling():
        code = REDUCTIONS.index(call.reduction)
        result = _in_graph(
            logit, label, normalizer, call.alpha, call.gamma, code, want_grad, forced
        )
    elif torch._C._are_functorch_transforms_active():  # torch.func: no public test exists
        result = FocalLossJvp.apply(*args)[0]
    else:
        dual = _dual(logit) or _dual(label) or _dual(normalizer)
        backward = grad_mode and (logit.requires_grad or label.requires_grad or norm_grad)
        if serves(call) and not (backward or dual):
            # Nothing to differentiate: the forward alone, without an autograd node.
            result = _forward(call, False, forced)[0]
        elif dual or _wrapped(logit) or _wrapped(label):  # forward AD, or a torch.func leftover
            result = FocalLossJvp.apply(*args)[0]
        else:
            result = _eager_apply(*args)[0]
    return result


def _in_graph(
    logit: torch.Tensor,
    label: torch.Tensor,
    normalizer: torch.Tensor | None,
    alpha: Any,
    gamma: Any,
    code: int,
    want_grad: bool,
    forced: bool,
) -> torch.Tensor:
    """The Function inside a compiled region, left opaque to Dynamo and traced by AOTAutograd.

    Dynamo's own tracing of an autograd Function saves detached values for its backward: with its
    eager backend, a second differentiation (a gradient penalty, a Hessian-vector product) would
    miss the terms through them, without a word. Opaque to Dynamo, the Function runs as it does
    uncompiled there; AOTAutograd (aot_eager, Inductor) traces it and refuses a second
    differentiation, as it does for any compiled region. The reduction travels as its index (a
    string is no graph input); a float ``alpha``/``gamma`` may arrive symbolic (``dynamic=True``),
    and ``float`` makes it a constant of the graph again.
    """
    alpha = alpha if isinstance(alpha, torch.Tensor) else float(alpha)
    gamma = gamma if isinstance(gamma, torch.Tensor) else float(gamma)
    reduction = REDUCTIONS[code]
    return FocalLoss.apply(logit, label, normalizer, alpha, gamma, reduction, want_grad, forced)[0]


def _before_compiling() -> None:
    """Once torch.compile has imported Dynamo: the Function opaque to it, and the paths for tensors
    and parameters chosen eagerly (plug-ins read), so that a compiled call traces no walk of the
    library table and guards none of it."""
    torch.compiler.allow_in_graph(_in_graph)
    _cpu_op.define()
    from paddlefocal._registry import resolve

    for tensor in (torch.empty(0), torch.nn.Parameter(torch.empty(0))):
        resolve(tensor)


def loss(call: Call) -> torch.Tensor:
    """Sigmoid focal loss of torch tensors, on any device, with the analytic derivative."""
    return _apply(call, False)


def triton_loss(call: Call) -> torch.Tensor:
    """The same with the Triton kernel on any device (CPU tensors need ``TRITON_INTERPRET=1``)."""
    return _apply(call, True)


# torch's kind known before the first call: a compiled first call then traces no walk of the library
# table (and guards none of it on every later call).
KINDS.setdefault(torch.Tensor, torch_kind(None))
KINDS.setdefault(torch.nn.Parameter, KINDS[torch.Tensor])
# Last: where Dynamo is loaded already, the paths are chosen now, from this module as complete.
# Importing Dynamo here would cost the first call of every process about 1.7 s.
after_import("torch._dynamo", _before_compiling)
