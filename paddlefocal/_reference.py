"""The pure Array API reference implementation: the oracle for every fast path.

Everything here takes the namespace ``xp`` explicitly and uses only functions of the Array API standard,
without ``bool()``/``float()`` on arrays, masks or in-place writes, so the same code runs eagerly
(NumPy, torch, CuPy), traced (``jax.jit``) and lazily (Dask).

Paddle's per-element loss (``python/paddle/nn/functional/loss.py``) is

    ce      = softplus(x) - x * y          (0 where y == -100, Paddle's ignore_index)
    1 - p_t = sigmoid(x) * (1 - y) + sigmoid(-x) * y
    alpha_t = alpha * y + (1 - alpha) * (1 - y)
    loss    = alpha_t * (1 - p_t) ** gamma * ce

which equals the documented formula for hard labels (0 and 1) and is the "p_t form" for soft labels.
"""

from __future__ import annotations

import math
import sys
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ._typing import Array, Namespace, Reduction, Scalar

if TYPE_CHECKING:
    from ._call import Call

#: Paddle's ``sigmoid_cross_entropy_with_logits`` is called with ``ignore_index=-100``: an element whose
#: label equals it contributes 0.
IGNORE_INDEX = -100.0


class Parts(NamedTuple):
    """The stable building blocks shared by the loss and its derivatives."""

    sig: Array  # sigmoid(x)
    sig_neg: Array  # sigmoid(-x) = 1 - sigmoid(x), computed without cancellation
    sp: Array  # softplus(x) = log(1 + exp(x))
    sp_neg: Array  # softplus(-x) = softplus(x) - x
    one_minus_pt: Array  # 1 - p_t
    ce: Array  # binary cross-entropy with logits, 0 at the ignore index
    kept: Array  # bool: label != IGNORE_INDEX
    e: Array  # exp(-|x|)
    l1p: Array  # log1p(exp(-|x|))


def _takes_scalars(xp: Namespace) -> bool:
    """Whether ``xp``'s functions take Python scalars for array arguments (Array API 2024.12).

    Earlier versions (array-api-strict with ``api_version`` 2021.12 to 2023.12) take arrays only.
    """
    return str(getattr(xp, "__array_api_version__", "2024.12")) >= "2024.12"


def where(xp: Namespace, condition: Array, a: Array | float, b: Array | float) -> Array:
    """``xp.where`` that takes a Python float for ``a`` or ``b`` on every version of the standard."""
    if (isinstance(a, float) or isinstance(b, float)) and not _takes_scalars(xp):
        like: Array = b if isinstance(a, float) else a
        if isinstance(a, float):
            a = xp.asarray(a, dtype=like.dtype, device=like.device)
        if isinstance(b, float):
            b = xp.asarray(b, dtype=like.dtype, device=like.device)
    return xp.where(condition, a, b)


def parts(xp: Namespace, x: Array, y: Array) -> Parts:
    """Compute sigmoid, softplus, ``1 - p_t`` and the cross-entropy of ``x`` against ``y`` stably."""
    # exp(-|x|) lies in [0, 1]: nothing overflows, and +-inf logits give exact 0 instead of inf / inf.
    e = xp.exp(-xp.abs(x))
    inv = 1.0 / (1.0 + e)
    pos = x >= 0
    sig = xp.where(pos, inv, e * inv)
    sig_neg = xp.where(pos, e * inv, inv)
    l1p = xp.log1p(e)
    sp = where(xp, pos, x, 0.0) + l1p
    sp_neg = where(xp, pos, 0.0, -x) + l1p
    # softplus(x) - x*y rewritten as y*softplus(-x) + (1-y)*softplus(x): for labels in [0, 1] both
    # terms are >= 0, so no cancellation (Paddle's form gives 0 for log(1+exp(-40)) in float32).
    # At x = +-inf one softplus is infinite and a zero weight must give 0, not 0 * inf = nan; the
    # finite branch keeps y in both products so that autodiff through it sees the whole d ce / d y.
    infinite = xp.isinf(x)
    ce_finite = y * where(xp, infinite, 0.0, sp_neg) + (1.0 - y) * where(xp, infinite, 0.0, sp)
    ce_infinite = xp.where(
        x > 0, where(xp, y == 1, 0.0, (1.0 - y) * x), where(xp, y == 0, 0.0, -y * x)
    )
    ce = xp.where(infinite, ce_infinite, ce_finite)
    kept = y != IGNORE_INDEX
    ce = where(xp, kept, ce, 0.0)
    # 1 - p_t = 1 - (p*y + (1-p)*(1-y)) = p*(1-y) + (1-p)*y: two non-negative terms for labels in
    # [0, 1], so logit 20 with label 1 gives sigmoid(-20) ~ 2.1e-9 instead of 1 - 0.999... = 0.
    # An ignored element takes 1 - p_t = 1: with the label -100 it would be 101 s - 100 s', negative
    # for a negative logit, and its fractional power nan (Paddle's nan, which only zeroes ce).
    one_minus_pt = where(xp, kept, sig * (1.0 - y) + sig_neg * y, 1.0)
    return Parts(sig, sig_neg, sp, sp_neg, one_minus_pt, ce, kept, e, l1p)


def alpha_t(alpha: Scalar, y: Array) -> Array:
    """Paddle's class weight ``alpha * y + (1 - alpha) * (1 - y)``."""
    return alpha * y + (1.0 - alpha) * (1.0 - y)


def log_one_minus_pt(xp: Namespace, p: Parts, y: Array) -> Array:
    """``log(1 - p_t)``, exact also where ``1 - p_t`` is subnormal or underflows to 0.

    ``1 - p_t`` is subnormal for a confident right answer (``sigmoid(-100)`` in float32), yet
    ``(1 - p_t) ** gamma`` is a normal number for ``gamma < 1``: there the log comes from the log-sigmoids,
    ``log(s (1-y) + s' y) = logaddexp(-softplus(-x) + log(1-y), -softplus(x) + log y)``.
    """
    q = p.one_minus_pt
    tiny = xp.finfo(q.dtype).smallest_normal
    small = (q < tiny) & (y >= 0) & (y <= 1)
    # Only elements that take the logaddexp branch see their own label there: log(0) and log1p(-1) have
    # infinite derivatives that a second differentiation would multiply by the where's zero.
    y_small = where(xp, small, y, 0.5)
    via_sigmoids = xp.logaddexp(
        where(xp, small, -p.sp_neg, 0.0) + xp.log1p(-y_small),
        where(xp, small, -p.sp, 0.0) + xp.log(y_small),
    )
    return xp.where(small, via_sigmoids, xp.log(where(xp, small, 1.0, q)))


def focal_factor(
    xp: Namespace, p: Parts, y: Array, gamma: Scalar, log_q: Array | None = None
) -> Array:
    """The modulating factor ``(1 - p_t) ** gamma``, exact where ``1 - p_t`` is subnormal.

    ``log_q`` is ``log_one_minus_pt(xp, p, y)`` when the caller has it already.
    """
    q = p.one_minus_pt
    tiny = xp.finfo(q.dtype).smallest_normal
    if log_q is None:
        log_q = log_one_minus_pt(xp, p, y)
    # log q = -inf only at x = +-inf with a matching hard label, where q is exactly 0 and q**gamma is
    # right (1 for gamma = 0), while exp(0 * -inf) would be nan.
    small = (q < tiny) & (y >= 0) & (y <= 1) & (log_q > -xp.inf)
    return xp.where(small, xp.exp(gamma * where(xp, small, log_q, 0.0)), q**gamma)


class Confident(NamedTuple):
    """Where ``gamma < 0`` needs the factor and the cross-entropy formed together, and their pieces.

    A hard label on its confident side (label 1 with ``x >= 0``, label 0 with ``x <= 0``) has
    ``1 - p_t = t / (1 + t)`` and ``ce = log1p(t)`` with ``t = exp(-|x|)``. For ``gamma < 0``,
    ``(1 - p_t) ** gamma`` overflows (float32: ``sigmoid(-100) ** -1``) where the product with ``ce``
    is moderate, and is infinite at ``x = +-inf`` where the product has a limit. In logs,

        (1 - p_t) ** c = exp(-c |x| - c log1p(t)),     (1 - p_t) ** gamma * ce = exp(-(gamma+1) |x| - gamma log1p(t)) r

    with ``r = log1p(t) / t``, so nothing overflows that the result does not.
    """

    region: Array  # bool: a hard label on its confident side, and gamma < 0
    ax: Array  # |x| in the region, 0 elsewhere (every branch stays finite where it is not taken)
    e: Array  # t = exp(-|x|) in the region, 1 elsewhere
    l1p: Array  # log1p(t)
    r: Array  # log1p(t) / t: ce / (1 - p_t) = (1 + t) r


def confident(xp: Namespace, p: Parts, x: Array, y: Array, gamma: Scalar) -> Confident | None:
    """The region and pieces of ``Confident``; None when ``gamma`` is a number >= 0 (nothing to do)."""
    if isinstance(gamma, (int, float)) and gamma >= 0:
        return None
    region = ((y == 1) & (x >= 0)) | ((y == 0) & (x <= 0))
    if not isinstance(gamma, (int, float)):
        region = region & (gamma < 0)
    ax = where(xp, region, xp.abs(x), 0.0)
    e = where(xp, region, p.e, 1.0)
    l1p = xp.log1p(e)
    # log1p(t) / t = 1 - t/2 + t**2/3 - ...: the series where t is tiny (t / t would be 0 / 0 at
    # x = +-inf and its derivative infinite where t is subnormal).
    tiny = e < 1e-5
    r = xp.where(tiny, 1.0 - e * (0.5 - e / 3.0), l1p / where(xp, tiny, 1.0, e))
    return Confident(region, ax, e, l1p, r)


def _scaled(xp: Namespace, c: Scalar, v: Array) -> Array:
    """``c * v`` with 0 where ``c`` is 0 (``v`` may be infinite)."""
    if isinstance(c, (int, float)):
        return xp.zeros_like(v) if c == 0 else c * v
    return where(xp, c == 0, 0.0, c * v)


def power_of_q(xp: Namespace, c: Confident, power: Scalar) -> Array:
    """``(1 - p_t) ** power`` in the confident region, from logs."""
    return xp.exp(-_scaled(xp, power, c.ax) - power * c.l1p)


def focal_ce_confident(xp: Namespace, c: Confident, gamma: Scalar) -> Array:
    """``(1 - p_t) ** gamma * ce`` in the confident region, from logs."""
    return xp.exp(-_scaled(xp, gamma + 1.0, c.ax) - gamma * c.l1p) * c.r


def focal_times_ce(
    xp: Namespace, p: Parts, x: Array, y: Array, gamma: Scalar, qg: Array | None = None
) -> Array:
    """``(1 - p_t) ** gamma * ce``, exact also for ``gamma < 0`` at saturation and at +-inf.

    ``qg`` is ``focal_factor(xp, p, y, gamma)`` when the caller has it already.
    """
    product = (focal_factor(xp, p, y, gamma) if qg is None else qg) * p.ce
    c = confident(xp, p, x, y, gamma)
    if c is None:
        return product
    return xp.where(c.region, focal_ce_confident(xp, c, gamma), product)


def focal_elementwise(xp: Namespace, x: Array, y: Array, alpha: Scalar, gamma: Scalar) -> Array:
    """Paddle's unreduced, unnormalized sigmoid focal loss of logits ``x`` against labels ``y``."""
    p = parts(xp, x, y)
    return alpha_t(alpha, y) * focal_times_ce(xp, p, x, y, gamma)


def accumulation_dtype(xp: Namespace, dtype: Any) -> Any:
    """The dtype a total is summed in: float64, except where the library has none (JAX without x64)."""
    if dtype == xp.float64:
        return dtype
    jax = sys.modules.get("jax")
    if jax is not None and xp.__name__.startswith("jax") and not jax.config.jax_enable_x64:
        return dtype
    return xp.float64


def apply_normalizer_and_reduction(
    xp: Namespace, loss: Array, normalizer: Array | None, reduction: Reduction
) -> Array:
    """Divide by the (0-D) normalizer and reduce: Paddle's ``loss / normalizer``, then sum or mean.

    ``'sum'`` and ``'mean'`` reduce first and divide the total (equal for any non-zero normalizer).
    For a zero normalizer the total over 0 is inf when the total is positive (its limit as the
    normalizer tends to 0+), where Paddle's element-wise 0 / 0 makes the whole sum nan as soon as one
    element's loss is 0; ``'none'`` divides each element, 0 / 0 = nan as in Paddle.
    """
    if reduction == "none":
        return loss if normalizer is None else loss / normalizer
    # The total is summed, averaged and divided in float64 and rounded once: a float32 total that
    # overflows while its quotient does not is kept.
    acc = accumulation_dtype(xp, loss.dtype)
    total = xp.sum(loss, dtype=acc)
    if reduction == "mean":
        size = math.prod(loss.shape)
        total = total / size if size else total * math.nan
    if normalizer is not None:
        total = total / xp.astype(normalizer, acc)
    return xp.astype(total, loss.dtype)


def reference_loss(call: Call) -> Array:
    """The reference path: the stable per-element loss, the normalizer, the reduction."""
    # The formulas' discarded branches (0 * inf at infinite logits) and Paddle's division by a zero
    # normalizer are quiet, whatever NumPy error state the caller set.
    # NumPy's error state covers the libraries that compute on NumPy eagerly (array-api-strict, say);
    # torch.compile cannot trace np.errstate, and torch warns of none of these.
    torch = sys.modules.get("torch")
    is_torch = torch is not None and isinstance(call.logit, torch.Tensor)
    quiet = nullcontext() if is_torch else np.errstate(all="ignore")
    with quiet:
        loss = focal_elementwise(call.xp, call.logit, call.label, call.alpha, call.gamma)
        return apply_normalizer_and_reduction(call.xp, loss, call.normalizer, call.reduction)
