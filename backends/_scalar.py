"""The scalar kernel: a few elements in double precision, where a ufunc call or a tensor operation
would cost more than the arithmetic (NumPy's and torch's CPU paths, up to ``TINY`` elements)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["TINY", "tiny_kernel"]

#: Up to this many elements, a scalar loop (about 0.5 us an element) beats the ufuncs' fixed cost.
TINY = 16


def tiny_kernel(
    x: Any,
    y: Any,
    alpha: float,
    gamma: float,
    loss: np.ndarray | None,
    dlogit: np.ndarray | None,
) -> float | None:
    """The driver's kernel for a few elements, and ``d loss / d logit``: the stable terms in double
    precision on Python floats, each result rounded once into the dtype. ``x`` and ``y`` need only
    ``tolist`` (NumPy arrays, or torch tensors)."""
    losses, grads = [], []
    exp, log1p, tanh, inf = math.exp, math.log1p, math.tanh, math.inf
    for xi, yi in zip(x.tolist(), y.tolist(), strict=True):
        if not (0.0 <= yi <= 1.0 and -inf < xi < inf):
            return None
        # e = exp(-|x|); s, sn = sigmoid(x), sigmoid(-x), each from terms that do not cancel.
        e = exp(-abs(xi))
        inv = 1.0 / (1.0 + e)
        s, sn = (inv, e * inv) if xi >= 0.0 else (e * inv, inv)
        ce = log1p(e) + max(xi * (1.0 - yi), -xi * yi)
        q = s * (1.0 - yi) + sn * yi  # 1 - p_t
        # A subnormal double 1 - p_t has lost digits that its power would show.
        if q < 2.2250738585072014e-308 and gamma != 0.0:
            return None
        alpha_t = alpha * yi + (1.0 - alpha) * (1.0 - yi)
        losses.append(alpha_t * q**gamma * ce)
        if dlogit is not None:
            # d ce / dx = s - y, near x = 0 as 0.5 tanh(x / 2) + (0.5 - y): the digits that s,
            # rounded near 1/2, has lost. d q / dx = s sn (1 - 2y).
            dce = 0.5 * tanh(0.5 * xi) + (0.5 - yi) if abs(xi) < 1.0 else s * (1.0 - yi) - sn * yi
            if gamma == 0.0:
                grads.append(alpha_t * dce)
            else:
                dq = s * sn * (1.0 - 2.0 * yi)
                grads.append(alpha_t * q ** (gamma - 1.0) * (gamma * dq * ce + q * dce))
    if loss is not None:
        loss[...] = losses
    if dlogit is not None:
        dlogit[...] = grads
    return math.fsum(losses)
