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

from typing import TYPE_CHECKING, NamedTuple

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


def parts(xp: Namespace, x: Array, y: Array) -> Parts:
    """Compute sigmoid, softplus, ``1 - p_t`` and the cross-entropy of ``x`` against ``y`` stably."""
    # exp(-|x|) lies in [0, 1]: nothing overflows, and +-inf logits give exact 0 instead of inf / inf.
    e = xp.exp(-xp.abs(x))
    inv = 1.0 / (1.0 + e)
    pos = x >= 0
    sig = xp.where(pos, inv, e * inv)
    sig_neg = xp.where(pos, e * inv, inv)
    l1p = xp.log1p(e)
    sp = xp.where(pos, x, 0.0) + l1p
    sp_neg = xp.where(pos, 0.0, -x) + l1p
    # softplus(x) - x*y rewritten as y*softplus(-x) + (1-y)*softplus(x): for labels in [0, 1] both
    # terms are >= 0, so no cancellation (Paddle's form gives 0 for log(1+exp(-40)) in float32).
    # At x = +-inf one softplus is infinite and a zero weight must give 0, not 0 * inf = nan; the
    # finite branch keeps y in both products so that autodiff through it sees the whole d ce / d y.
    infinite = xp.isinf(x)
    ce_finite = y * xp.where(infinite, 0.0, sp_neg) + (1.0 - y) * xp.where(infinite, 0.0, sp)
    ce_infinite = xp.where(
        x > 0, xp.where(y == 1, 0.0, (1.0 - y) * x), xp.where(y == 0, 0.0, -y * x)
    )
    ce = xp.where(infinite, ce_infinite, ce_finite)
    kept = y != IGNORE_INDEX
    ce = xp.where(kept, ce, 0.0)
    # 1 - p_t = 1 - (p*y + (1-p)*(1-y)) = p*(1-y) + (1-p)*y: two non-negative terms for labels in
    # [0, 1], so logit 20 with label 1 gives sigmoid(-20) ~ 2.1e-9 instead of 1 - 0.999... = 0.
    one_minus_pt = sig * (1.0 - y) + sig_neg * y
    return Parts(sig, sig_neg, sp, sp_neg, one_minus_pt, ce, kept)


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
    y_small = xp.where(small, y, 0.5)
    via_sigmoids = xp.logaddexp(
        xp.where(small, -p.sp_neg, 0.0) + xp.log1p(-y_small),
        xp.where(small, -p.sp, 0.0) + xp.log(y_small),
    )
    return xp.where(small, via_sigmoids, xp.log(xp.where(small, 1.0, q)))


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
    return xp.where(small, xp.exp(gamma * xp.where(small, log_q, 0.0)), q**gamma)


def focal_elementwise(xp: Namespace, x: Array, y: Array, alpha: Scalar, gamma: Scalar) -> Array:
    """Paddle's unreduced, unnormalized sigmoid focal loss of logits ``x`` against labels ``y``."""
    p = parts(xp, x, y)
    return alpha_t(alpha, y) * focal_factor(xp, p, y, gamma) * p.ce


def apply_normalizer_and_reduction(
    xp: Namespace, loss: Array, normalizer: Array | None, reduction: Reduction
) -> Array:
    """Divide by the (0-D) normalizer, then reduce as Paddle does: ``loss / normalizer``, then sum/mean."""
    if normalizer is not None:
        loss = loss / normalizer
    if reduction == "sum":
        return xp.sum(loss)
    if reduction == "mean":
        return xp.mean(loss)
    return loss


def reference_loss(call: Call) -> Array:
    """The reference path: the stable per-element loss, the normalizer, the reduction."""
    loss = focal_elementwise(call.xp, call.logit, call.label, call.alpha, call.gamma)
    return apply_normalizer_and_reduction(call.xp, loss, call.normalizer, call.reduction)
