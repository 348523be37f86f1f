"""Odd ``alpha`` and ``gamma``: huge numbers, 0-D arrays that are nan or overflow the dtype, negative
gamma (computed in log space, checked against mpmath)."""

from __future__ import annotations

import functools
from fractions import Fraction

import mp_reference as mpr
import numpy as np
import pytest

import paddlefocal.nn.functional as F
from paddlefocal._derivatives import focal_elementwise_grads
from paddlefocal._reference import focal_elementwise

X = np.array([[0.97, 0.91, 0.03], [0.55, 0.43, 0.71]], np.float32)
Y = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32)


@pytest.mark.parametrize(
    ("argname", "value", "shown"),
    [("alpha", 10**400, "int 1000"), ("gamma", Fraction(10**400, 3), r"Fraction Fraction\(")],
)
def test_numbers_beyond_float_are_value_errors_naming_the_value(argname, value, shown):
    with pytest.raises(ValueError, match=f"'{argname}' must be finite, but received {shown}"):
        F.sigmoid_focal_loss(X, Y, **{argname: value})


@pytest.mark.parametrize("argname", ["alpha", "gamma"])
def test_numbers_beyond_the_dtype_are_refused_in_float32_and_served_in_float64(argname):
    with pytest.raises(ValueError, match=rf"'{argname}' must be finite in logit's dtype float32"):
        F.sigmoid_focal_loss(X, Y, **{argname: 1e300})
    x64, y64 = X.astype(np.float64), Y.astype(np.float64)
    if argname == "alpha":
        # alpha_t = alpha y + (1 - alpha)(1 - y): a huge, finite weight in float64.
        out = F.sigmoid_focal_loss(x64, y64, alpha=1e300, reduction="none")
        assert np.all(np.isfinite(out)) and np.any(np.abs(out) > 1e290)
    with pytest.raises(ValueError, match=f"'{argname}' must be finite in logit's dtype float64"):
        F.sigmoid_focal_loss(x64, y64, **{argname: 1.7e308})


@pytest.mark.parametrize("argname", ["alpha", "gamma"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_0d_array_that_is_not_finite_is_refused_like_a_number(lib_, argname, bad):
    x, y = lib_.from_numpy(X), lib_.from_numpy(Y)
    value = lib_.from_numpy(np.asarray(bad, np.float32))
    if lib_.name == "dask":
        # Lazy: its value is not known without computing it, so it is not checked (documented).
        F.sigmoid_focal_loss(x, y, **{argname: value})
        return
    with pytest.raises(ValueError, match=f"'{argname}' must be finite"):
        F.sigmoid_focal_loss(x, y, **{argname: value})


def test_0d_float64_alpha_overflowing_float32_is_refused():
    with pytest.raises(ValueError, match="'alpha' must be finite in logit's dtype float32"):
        F.sigmoid_focal_loss(X, Y, alpha=np.asarray(1e300))


def test_traced_alpha_under_jit_is_not_checked_but_works():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    x, y = jnp.asarray(X), jnp.asarray(Y)
    jitted = jax.jit(lambda a: F.sigmoid_focal_loss(x, y, alpha=a))
    np.testing.assert_allclose(
        jitted(jnp.float32(0.4)), F.sigmoid_focal_loss(X, Y, alpha=0.4), rtol=1e-6
    )
    # A traced nan cannot be seen by the front-end: it flows into the result (documented).
    assert np.isnan(jitted(jnp.float32(np.nan)))


# --- negative gamma -----------------------------------------------------------------------------------


@functools.cache
def _grid(dtype):
    return mpr.grid(dtype, mpr.NEGATIVE_GAMMAS)


def _in_dtype(true, dtype):
    """True values as the dtype holds them: beyond its largest number they are infinite."""
    with np.errstate(invalid="ignore"):  # sign(0) * inf for a zero, which the other branch takes
        return np.where(np.abs(true) > np.finfo(dtype).max, np.sign(true) * np.inf, true)


def _assert_accurate(name, ours, true, normal, scale, dtype, bound):
    true = _in_dtype(true, dtype)
    keep = mpr.well_conditioned(ours, true, scale, dtype, bound)
    worst_rel, worst_abs = mpr.errors(ours[keep], true[keep], normal[keep], dtype)
    assert worst_rel <= bound and worst_abs < np.finfo(dtype).tiny, (name, worst_rel, worst_abs)


BOUND = {np.float32: 3e-5, np.float64: 1e-12}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["numpy", "array_api_strict", "torch"])
def test_negative_gamma_reference_and_derivatives_match_mpmath(name, dtype):
    """The grid out to +-1e4 and +-inf, gammas -0.5, -1 and -2, in the namespace of each library."""
    pytest.importorskip(name)
    from helpers import lib

    lb = lib(name.replace("_", "-"))
    g = _grid(dtype)
    loss = np.empty(g.logit.shape)
    d_logit, d_label = np.empty(g.logit.shape), np.empty(g.logit.shape)
    for alpha in mpr.ALPHAS:
        for gamma in mpr.NEGATIVE_GAMMAS:
            sel = (g.alpha == alpha) & (g.gamma == gamma)
            x, y = lb.from_numpy(g.logit[sel]), lb.from_numpy(g.label[sel])
            with np.errstate(all="ignore"):
                loss[sel] = lb.to_numpy(focal_elementwise(lb.xp, x, y, alpha, gamma))
                grads = focal_elementwise_grads(lb.xp, x, y, alpha, gamma)
            d_logit[sel], d_label[sel] = lb.to_numpy(grads.logit), lb.to_numpy(grads.label)
    bound = BOUND[dtype]
    _assert_accurate("loss", loss, g.loss, g.loss_normal, None, dtype, bound)
    _assert_accurate(
        "d/d logit", d_logit, g.d_logit, g.d_logit_normal, g.d_logit_scale, dtype, 4 * bound
    )
    _assert_accurate(
        "d/d label", d_label, g.d_label, g.d_label_normal, g.d_label_scale, dtype, 4 * bound
    )


def test_negative_gamma_float32_saturated_logit_gives_the_value_not_inf():
    """logit 100, label 1, gamma -1: alpha (1 - p_t)**-1 ce = 0.25 (1 + e^-100) log1p(e^-100) / e^-100."""
    x = np.array([100.0, -100.0], np.float32)
    y = np.array([1.0, 0.0], np.float32)
    out = F.sigmoid_focal_loss(x, y, gamma=-1.0, reduction="none")
    np.testing.assert_allclose(out, [0.25, 0.75], rtol=1e-6)


@pytest.mark.parametrize(("gamma", "limit"), [(-0.5, 0.0), (-1.0, 1.0), (-2.0, np.inf)])
def test_negative_gamma_infinite_logits_give_the_limit(lib_, gamma, limit):
    """At a confident hard label (1 - p_t)**gamma ce ~ exp(-(gamma + 1)|x|) times alpha_t."""
    x = lib_.from_numpy(np.array([np.inf, -np.inf, np.inf], np.float64))
    y = lib_.from_numpy(np.array([1.0, 0.0, 0.0], np.float64))
    out = lib_.to_numpy(F.sigmoid_focal_loss(x, y, alpha=0.25, gamma=gamma, reduction="none"))
    np.testing.assert_array_equal(out, [0.25 * limit, 0.75 * limit, np.inf])


def test_negative_gamma_torch_float32_gradient_at_logit_45_is_finite():
    """Through the written-out derivative (a 0-D tensor gamma takes it on the current torch path)."""
    torch = pytest.importorskip("torch")
    x = torch.tensor([45.0, -45.0, 3.0], requires_grad=True)
    y = torch.tensor([1.0, 0.0, 1.0])
    F.sigmoid_focal_loss(x, y, gamma=torch.tensor(-1.0)).backward()
    assert torch.isfinite(x.grad).all()
    # d/dx [alpha_t ce / (1 - p_t)] -> 0 at saturation; at logit 3 the finite difference in float64.
    assert abs(float(x.grad[0])) < 1e-12 and abs(float(x.grad[1])) < 1e-12
    h = 1e-6

    def at(v):
        return float(F.sigmoid_focal_loss(np.array([v]), np.array([1.0]), gamma=-1.0))

    np.testing.assert_allclose(float(x.grad[2]), (at(3.0 + h) - at(3.0 - h)) / (2 * h), rtol=1e-4)
