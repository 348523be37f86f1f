"""An independent reference: Paddle's per-element focal loss and its derivatives in mpmath at 50 digits.

Written from the formula alone (no paddlefocal code). The identities used are exact:
``1 - sigmoid(x) = sigmoid(-x)`` and ``log(1 + e^x) - x y = y log(1 + e^-x) + (1 - y) log(1 + e^x)``; they
keep 50 digits meaningful where 1 - p_t ~ e^-10000.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import mpmath as mp
import numpy as np

mp.mp.dps = 50

MAGNITUDES = [0.0, 1e-8, 1e-4, 0.01, 0.5, 1, 2, 5, 10, 20, 21, 25, 30, 40, 88, 100, 700, 1e4]
LOGITS = [*sorted({s * m for m in MAGNITUDES for s in (1.0, -1.0)}), np.inf, -np.inf]
LABELS = [0.0, 1.0, 0.25, 0.5, 0.9]
GAMMAS = [0.0, 0.5, 1.0, 2.0, 2.5, 5.0]
#: Negative gammas (Paddle accepts them; the loss then grows as 1 - p_t shrinks): a grid of their own.
NEGATIVE_GAMMAS = [-0.5, -1.0, -2.0]
ALPHAS = [0.25, 0.5]


def _pieces(x, y):
    s = 1 / (1 + mp.exp(-x))
    sn = 1 / (1 + mp.exp(x))
    ce = y * mp.log1p(mp.exp(-x)) + (1 - y) * mp.log1p(mp.exp(x))
    q = s * (1 - y) + sn * y
    return s, sn, ce, q


def loss(x, y, a, g):
    s, sn, ce, q = _pieces(x, y)
    return (a * y + (1 - a) * (1 - y)) * q**g * ce


def d_logit_terms(x, y, a, g):
    s, sn, ce, q = _pieces(x, y)
    big_a = a * y + (1 - a) * (1 - y)
    return [
        big_a * g * q ** (g - 1) * s * sn * (1 - 2 * y) * ce,
        big_a * q**g * (s * (1 - y) - sn * y),
    ]


def d_label_terms(x, y, a, g):
    s, sn, ce, q = _pieces(x, y)
    big_a = a * y + (1 - a) * (1 - y)
    return [(2 * a - 1) * q**g * ce, big_a * g * q ** (g - 1) * (sn - s) * ce, big_a * q**g * (-x)]


def d_logit(x, y, a, g):
    return mp.fsum(d_logit_terms(x, y, a, g))


def d_label(x, y, a, g):
    return mp.fsum(d_label_terms(x, y, a, g))


def term_scale(terms_fn, x, y, a, g):
    """The sum of the terms' magnitudes: a sum computed in floating point is accurate to a few
    ulps of this, not of its result, where the terms cancel (an ill-conditioned point)."""
    return mp.fsum(abs(t) for t in terms_fn(x, y, a, g))


def _limit_at_infinity(fn, x, y, a, g):
    """The limit as x -> +-inf: 0 or a finite value where it exists, else +-inf."""
    far = mp.mpf(10) ** 6 * (1 if x > 0 else -1)
    farther = far * 2
    v1, v2 = fn(far, y, a, g), fn(farther, y, a, g)
    if abs(v1) < mp.mpf(10) ** -1000:
        return 0.0
    if abs(v2 - v1) < mp.mpf(10) ** -30 * abs(v1):  # converged: a finite limit
        return float(v1)
    return float(mp.sign(v1)) * np.inf


def _infinite_limit_is_ill_conditioned(terms_fn, x, y, a, g, eps):
    """Whether the terms, growing like |x|, cancel to within rounding: then the sign of the limit is
    decided by the last bits of the label, and no floating-point evaluation can know it."""
    far = mp.mpf(10) ** 6 * (1 if x > 0 else -1)
    terms = terms_fn(far, y, a, g)
    return abs(mp.fsum(terms)) < 16 * eps * mp.fsum(abs(t) for t in terms)


@dataclass(frozen=True)
class Grid:
    """The grid, rounded to one dtype, with the true values as float64 (and the 'normal' masks)."""

    dtype: type
    logit: np.ndarray
    label: np.ndarray
    alpha: np.ndarray
    gamma: np.ndarray
    loss: np.ndarray
    d_logit: np.ndarray
    d_label: np.ndarray
    #: whether the true value (before rounding to float64) is at least the dtype's smallest normal
    loss_normal: np.ndarray
    d_logit_normal: np.ndarray
    d_label_normal: np.ndarray
    #: the sum of magnitudes of each derivative's terms (inf where an infinite limit is ill-conditioned)
    d_logit_scale: np.ndarray
    d_label_scale: np.ndarray


def _to_float(value, tiny):
    v = float(value)
    return v, bool(abs(value) >= tiny)


def _loss_limit_at_infinity(x: float, y: float, a: float, g: float) -> float:
    """The loss as x -> +-inf. A hard label on its confident side: (1 - p_t) ** g ce ~ exp(-(g+1)|x|),
    so 0 for g > -1, alpha_t for g = -1, inf below; anything else grows like |x|."""
    if (x > 0 and y == 1) or (x < 0 and y == 0):
        if g > -1:
            return 0.0
        return float(a * y + (1 - a) * (1 - y)) if g == -1 else np.inf
    return np.inf


def grid(dtype, gammas=None) -> Grid:
    tiny = mp.mpf(float(np.finfo(dtype).tiny))
    eps = mp.mpf(float(np.finfo(dtype).eps))
    rows = {k: [] for k in ("x", "y", "a", "g", "L", "dx", "dy", "nL", "ndx", "ndy", "sdx", "sdy")}
    for x, y, a, g in itertools.product(
        LOGITS, LABELS, ALPHAS, GAMMAS if gammas is None else gammas
    ):
        x, y = float(dtype(x)), float(dtype(y))
        rows["x"].append(x)
        rows["y"].append(y)
        rows["a"].append(a)
        rows["g"].append(g)
        args = (mp.mpf(y), mp.mpf(a), mp.mpf(g))
        if np.isinf(x):
            limit_loss = _loss_limit_at_infinity(x, y, a, g)
            values = [(limit_loss, limit_loss != 0)]
            for fn, terms in ((d_logit, d_logit_terms), (d_label, d_label_terms)):
                limit = _limit_at_infinity(fn, x, *args)
                values.append((limit, limit != 0))
                ill = _infinite_limit_is_ill_conditioned(terms, x, *args, eps)
                rows["sdx" if fn is d_logit else "sdy"].append(np.inf if ill else 0.0)
        else:
            mx = mp.mpf(x)
            values = [_to_float(fn(mx, *args), tiny) for fn in (loss, d_logit, d_label)]
            rows["sdx"].append(float(term_scale(d_logit_terms, mx, *args)))
            rows["sdy"].append(float(term_scale(d_label_terms, mx, *args)))
        for key, (value, normal) in zip(("L", "dx", "dy"), values, strict=True):
            rows[key].append(value)
            rows["n" + key].append(normal)
    arr = {k: np.asarray(v) for k, v in rows.items()}
    return Grid(
        dtype,
        arr["x"].astype(dtype),
        arr["y"].astype(dtype),
        arr["a"],
        arr["g"],
        arr["L"],
        arr["dx"],
        arr["dy"],
        arr["nL"],
        arr["ndx"],
        arr["ndy"],
        arr["sdx"],
        arr["sdy"],
    )


def well_conditioned(
    ours: np.ndarray, true: np.ndarray, scale: np.ndarray | None, dtype, bound: float
):
    """Points where the error is held to the plain relative bound: all but those where the terms of a
    derivative cancel, and the error allowed is a few ulps of the terms (8 eps * scale) instead."""
    if scale is None:
        return np.ones(true.shape, bool)
    eps = float(np.finfo(dtype).eps)
    with np.errstate(invalid="ignore"):
        slack = 8 * eps * scale
        ill = np.isinf(scale) | (slack > bound * np.abs(true))
        within = np.isinf(scale) & ~np.isnan(ours) | (
            np.abs(ours - true) <= slack + bound * np.abs(true)
        )
    return ~(ill & within)


def errors(ours: np.ndarray, true: np.ndarray, normal: np.ndarray, dtype) -> tuple[float, float]:
    """(worst relative error where the true value is normal, worst absolute error elsewhere);
    exact matches of infinities count as 0, a nan or a wrong infinity as inf."""
    ours = ours.astype(np.float64)
    same_inf = np.isinf(true) & (ours == true)
    bad = np.isnan(ours) | (np.isinf(true) & ~same_inf) | (np.isinf(ours) & ~np.isinf(true))
    finite = ~np.isinf(true) & ~bad
    with np.errstate(invalid="ignore"):  # inf - inf where both are infinite: masked out below
        rel = np.abs(ours - true) / np.where(true == 0, 1.0, np.abs(true))
        error = np.abs(ours - true)
    worst_rel = float(np.max(np.where(finite & normal, rel, 0.0), initial=0.0))
    worst_abs = float(np.max(np.where(finite & ~normal, error, 0.0), initial=0.0))
    if np.any(bad):
        worst_rel = np.inf
    return worst_rel, worst_abs
