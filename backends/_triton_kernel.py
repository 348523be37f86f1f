# Triton kernels take untyped parameters (their types come from the launch, not from annotations).
# mypy: disable-error-code="no-untyped-def"
"""The Triton kernel: loss and ``d loss / d logit`` of a flat array in one pass, as a torch op.

One program reads ``BLOCK`` logits and labels once each, forms the per-element loss and its derivative
to the logit together (the formulas of the branch-free torch kernel, guarded with ``where`` so that no
element branches), writes only the outputs asked for (``WRITE_LOSS``, ``WRITE_GRAD`` are constexpr: an
unused output costs neither a store nor its arithmetic) and stores its partial sum in float64. The
partials are added after the kernel by one ``sum`` over a small float64 tensor, in a fixed order: no
atomics, so the total is the same on every run.

Only ``tl.exp``, ``tl.log`` and IEEE division are used, so the Triton interpreter (``TRITON_INTERPRET=1``
on CPU tensors, NumPy underneath) runs the very formulas that a GPU compiles. ``log1p`` is formed from
``log`` by Goldberg's correction, exact to a few ulps also where ``exp(-|x|)`` is subnormal.

The launch is wrapped as the torch op ``paddlefocal::sigmoid_focal_fwd`` (``torch.library.triton_op``
with ``wrap_triton``): it traces under ``FakeTensorMode`` and ``torch.compile``, where Inductor sees the
kernel itself, and reads nothing back to the host.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch.library import triton_op, wrap_triton

__all__ = [
    "BLOCK",
    "LAUNCH_OPTIONS",
    "NUM_WARPS",
    "focal_kernel",
    "sigmoid_focal_fwd",
    "triton_kernel",
]

#: Elements per program: 8 per thread with 4 warps, so a float32 thread loads two 16-byte vectors per
#: input.
BLOCK = 1024
NUM_WARPS = 4
#: libdevice, as Triton links it for NVIDIA by default, flushes float32 subnormals to zero (its
#: ``__nv_logf`` and the float32 ``div.rn`` then use ``.ftz`` instructions): a subnormal loss such as
#: float32 logit -89, label 0, gamma 0 (1.67e-39) would come out 0. Other backends ignore the option
#: (AMD's default keeps subnormals).
LAUNCH_OPTIONS = {"enable_reflect_ftz": False}


@triton.jit
def _div(a, b):
    """a / b rounded to nearest (float32 ``/`` compiles to an approximate division; float64's is IEEE)."""
    if a.dtype == tl.float32:
        return tl.div_rn(a, b)
    return a / b


@triton.jit
def _log1p(e):
    """log(1 + e) for e in [0, 1]: log(u) e / (u - 1) with u = 1 + e corrects u's rounding (u - 1 is
    exact); where u rounds to 1, log1p(e) = e to within e**2 / 2, subnormal e included."""
    u = 1.0 + e
    d = u - 1.0
    return tl.where(d == 0.0, e, tl.log(u) * _div(e, tl.where(d == 0.0, 1.0, d)))


@triton.jit
def _half_tanh_half(x):
    """tanh(x/2)/2 = sigmoid(x) - 1/2 for small |x|: the first five terms of its series."""
    u = 0.5 * x
    u2 = u * u
    series = 1.0 + u2 * (
        -1.0 / 3.0 + u2 * (2.0 / 15.0 + u2 * (-17.0 / 315.0 + u2 * (62.0 / 2835.0)))
    )
    return 0.5 * u * series


@triton.jit
def focal_kernel(
    x_ptr,
    y_ptr,
    loss_ptr,
    dlogit_ptr,
    partial_ptr,
    n,
    alpha: tl.float64,
    gamma: tl.float64,
    BLOCK: tl.constexpr,
    GAMMA_KIND: tl.constexpr,
    NEAR: tl.constexpr,
    WRITE_LOSS: tl.constexpr,
    WRITE_GRAD: tl.constexpr,
):
    """One program: BLOCK elements' loss, derivative and float64 partial sum.

    ``GAMMA_KIND``: 0, 1, 2 for those gammas (no power formed), 3 for any other ``gamma >= 0``.
    ``NEAR``: below this |x|, d ce / dx takes the series of tanh(x/2)/2 (0.5 in float32, 0.125 in float64).
    """
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask, other=0.0)
    y = tl.load(y_ptr + offs, mask=mask, other=0.0)
    # alpha and gamma arrive in float64 (a Python float's digits) and are used in the input's dtype,
    # as the reference's ``alpha * y`` rounds them.
    a = (tl.zeros_like(x) + alpha).to(x.dtype)
    g = (tl.zeros_like(x) + gamma).to(x.dtype)
    # exp(-|x|) lies in [0, 1]: nothing overflows, and x = +-inf gives an exact 0.
    e = tl.exp(-tl.abs(x))
    l1p = _log1p(e)
    inv = _div(tl.full(x.shape, 1.0, x.dtype), 1.0 + e)
    pos = x >= 0.0
    s = tl.where(pos, inv, e * inv)
    sn = tl.where(pos, e * inv, inv)
    # ce = y softplus(-x) + (1-y) softplus(x); a term whose weight is 0 is 0 also against an infinite
    # softplus (x = +-inf with a hard label).
    ce = (
        tl.where(y == 0.0, 0.0, y * tl.maximum(-x, 0.0))
        + tl.where(y == 1.0, 0.0, (1.0 - y) * tl.maximum(x, 0.0))
        + l1p
    )
    kept = y != -100.0  # Paddle's ignore_index
    ce = tl.where(kept, ce, 0.0)
    # An ignored element takes 1 - p_t = 1, so a fractional power of Paddle's negative value there
    # cannot make its zero loss nan.
    q = tl.where(kept, s * (1.0 - y) + sn * y, 1.0)
    a_t = a * y + (1.0 - a) * (1.0 - y)
    if GAMMA_KIND == 0:
        qg = tl.full(x.shape, 1.0, x.dtype)
    elif GAMMA_KIND == 1:
        qg = q
    elif GAMMA_KIND == 2:
        qg = q * q
    else:
        # q**g = exp(g log q); for a hard label log q = -softplus(-z) with z = x (1 - 2y) exactly,
        # also where q is subnormal and has lost the digits its power would show (gamma < 1).
        z = x * (1.0 - 2.0 * y)
        hard = (y == 0.0) | (y == 1.0)
        log_q = tl.where(hard, tl.minimum(z, 0.0) - l1p, tl.log(tl.where(hard, 1.0, q)))
        qg = tl.exp(g * log_q)
    per_element = a_t * qg * ce
    if WRITE_LOSS:
        tl.store(loss_ptr + offs, per_element, mask=mask)
    if WRITE_GRAD:
        # d ce / dx = sigmoid(x) - y, near 0 as (sigmoid(x) - 1/2) + (1/2 - y): a tiny logit's digits
        # survive against a label of 1/2.
        dce = tl.where(tl.abs(x) < NEAR, _half_tanh_half(x) + (0.5 - y), s * (1.0 - y) - sn * y)
        dce = tl.where(kept, dce, 0.0)
        if GAMMA_KIND == 0:
            grad = a_t * dce
        else:
            # g q**(g-1) dq ce as q**g (dq / q) ce: dq / q is bounded for labels in [0, 1], so nothing
            # is infinite where q underflows; a zero dq (x = +-inf) against an infinite ce is a 0 limit.
            dq = s * sn * (1.0 - 2.0 * y)
            ratio = _div(dq, tl.where(q == 0.0, 1.0, q))
            focal = tl.where(dq == 0.0, 0.0, g * qg * ratio * ce)
            grad = a_t * (focal + qg * dce)
        tl.store(dlogit_ptr + offs, grad, mask=mask)
    partial = tl.sum(tl.where(mask, per_element.to(tl.float64), 0.0), axis=0)
    tl.store(partial_ptr + pid, partial)


def _gamma_kind(gamma: float) -> int:
    return int(gamma) if gamma in (0.0, 1.0, 2.0) else 3


@triton_op("paddlefocal::sigmoid_focal_fwd", mutates_args={"loss", "dlogit"})
def sigmoid_focal_fwd(
    x: torch.Tensor,
    y: torch.Tensor,
    alpha: float,
    gamma: float,
    loss: torch.Tensor | None,
    dlogit: torch.Tensor | None,
) -> torch.Tensor:
    """The float64 total of the losses of flat ``x`` against ``y``; fills ``loss``/``dlogit`` if given."""
    n = x.numel()
    programs = max(triton.cdiv(n, BLOCK), 1)
    partials = torch.empty(programs, dtype=torch.float64, device=x.device)
    # An output not asked for is never written: the input stands in for its pointer.
    wrap_triton(focal_kernel)[(programs,)](
        x,
        y,
        x if loss is None else loss,
        x if dlogit is None else dlogit,
        partials,
        n,
        alpha,
        gamma,
        BLOCK=BLOCK,
        GAMMA_KIND=_gamma_kind(gamma),
        NEAR=0.5 if x.dtype == torch.float32 else 0.125,
        WRITE_LOSS=loss is not None,
        WRITE_GRAD=dlogit is not None,
        num_warps=NUM_WARPS,
        **LAUNCH_OPTIONS,
    )
    return partials.sum()


def triton_kernel(
    x: torch.Tensor,
    y: torch.Tensor,
    alpha: float,
    gamma: float,
    loss: torch.Tensor | None,
    dlogit: torch.Tensor | None,
) -> torch.Tensor:
    """The driver's kernel (``paddlefocal._driver``) for the whole array: never declines a block.

    Returns the total as a 0-D float64 tensor on ``x``'s device, never read back to the host.
    """
    total: torch.Tensor = sigmoid_focal_fwd(
        x.contiguous(), y.contiguous(), float(alpha), float(gamma), loss, dlogit
    )
    return total
