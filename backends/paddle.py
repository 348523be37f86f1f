"""Paddle path: ``paddle.Tensor`` in, ``paddle.Tensor`` out, gradients through Paddle's autograd.

Paddle is not an Array API library, so this backend brings the small namespace that the front-end and the
reference formulas need, and wraps the per-element loss in a ``paddle.autograd.PyLayer`` whose backward is
the written-out derivative: the numbers are Paddle's where Paddle is right and the documented ones where it
is not (finite saturated gradients, the whole label gradient, limits at infinite logits, 1-D inputs).
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import paddle

from paddlefocal._call import Call
from paddlefocal._derivatives import focal_elementwise_grads
from paddlefocal._reference import apply_normalizer_and_reduction, focal_elementwise


def _tensor_like(value: Any, like: paddle.Tensor) -> paddle.Tensor:
    if isinstance(value, paddle.Tensor):
        return value
    return paddle.full_like(like, value)


def _where(condition: paddle.Tensor, a: Any, b: Any) -> paddle.Tensor:
    # paddle.where takes tensors only; the reference formulas pass at least one tensor per call.
    like = a if isinstance(a, paddle.Tensor) else b
    a, b = _tensor_like(a, like), _tensor_like(b, like)
    return paddle.where(condition, a, b)


def _astype(x: paddle.Tensor, dtype: Any, copy: bool = True) -> paddle.Tensor:
    return x if x.dtype == dtype and not copy else x.astype(dtype)


#: The Array API subset that the front-end and ``paddlefocal._reference`` use, on Paddle tensors.
namespace = SimpleNamespace(
    __name__="paddlefocal.backends.paddle.namespace",
    float32=paddle.float32,
    float64=paddle.float64,
    # The other dtypes a 0-D normalizer, alpha or gamma may have (cast to logit's dtype).
    bool=paddle.bool,
    int8=paddle.int8,
    int16=paddle.int16,
    int32=paddle.int32,
    int64=paddle.int64,
    uint8=paddle.uint8,
    float16=paddle.float16,
    bfloat16=paddle.bfloat16,
    inf=math.inf,
    exp=paddle.exp,
    abs=paddle.abs,
    log=paddle.log,
    log1p=paddle.log1p,
    tanh=paddle.tanh,
    logaddexp=paddle.logaddexp,
    isinf=paddle.isinf,
    isfinite=paddle.isfinite,
    where=_where,
    finfo=paddle.finfo,
    sum=paddle.sum,
    mean=paddle.mean,
    reshape=lambda x, shape: paddle.reshape(x, list(shape)),
    astype=_astype,
    asarray=paddle.to_tensor,
)


class FocalLoss(paddle.autograd.PyLayer):
    """The per-element loss with the analytic derivative to logit, label and tensor alpha/gamma."""

    @staticmethod
    def forward(
        ctx: Any, logit: paddle.Tensor, label: paddle.Tensor, alpha: Any, gamma: Any
    ) -> Any:
        ctx.save_for_backward(logit, label)
        ctx.alpha, ctx.gamma = alpha, gamma
        # PyLayer differentiates tensor inputs only, and wants None for one that needs no gradient.
        ctx.inputs = [t for t in (logit, label, alpha, gamma) if isinstance(t, paddle.Tensor)]
        return focal_elementwise(namespace, logit, label, alpha, gamma)

    @staticmethod
    def backward(ctx: Any, grad: paddle.Tensor) -> Any:
        logit, label = ctx.saved_tensor()
        grads = focal_elementwise_grads(namespace, logit, label, ctx.alpha, ctx.gamma)
        out = [
            None if logit.stop_gradient else grad * grads.logit,
            None if label.stop_gradient else grad * grads.label,
        ]
        for value, partial in ((ctx.alpha, grads.alpha), (ctx.gamma, grads.gamma)):
            if isinstance(value, paddle.Tensor):
                # A 0-D alpha or gamma scales every element: its gradient is the sum.
                total = paddle.sum(grad * partial).reshape(value.shape)
                out.append(None if value.stop_gradient else total)
        return tuple(out)


def loss(call: Call) -> paddle.Tensor:
    """Sigmoid focal loss of Paddle tensors, with Paddle autograd through an analytic backward."""
    per_element = FocalLoss.apply(call.logit, call.label, call.alpha, call.gamma)
    result: paddle.Tensor = apply_normalizer_and_reduction(
        namespace, per_element, call.normalizer, call.reduction
    )
    return result
