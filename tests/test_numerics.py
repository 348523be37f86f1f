"""Accuracy against a 50-digit mpmath reference on a grid out to +-1e4 and +-inf, finite gradients."""

from __future__ import annotations

import contextlib
import functools
import sys

import mp_reference as mpr
import numpy as np
import pytest
from helpers import lib

import paddlefocal.nn.functional as F
from paddlefocal._derivatives import focal_elementwise_grads

#: The bounds the Numerics page states: relative error of the loss where the true value is normal; the
#: gradients get 4x.
BOUND = {np.float32: 3e-5, np.float64: 1e-12}
GRAD_FACTOR = 4
FTZ_LIMIT = 1e3 * float(np.finfo(np.float32).tiny)


@functools.cache
def grid(dtype):
    return mpr.grid(dtype)


def _groups(g):
    for alpha in mpr.ALPHAS:
        for gamma in mpr.GAMMAS:
            yield alpha, gamma, (g.alpha == alpha) & (g.gamma == gamma)


def _synchronous_dask():
    if "dask" not in sys.modules:
        return contextlib.nullcontext()
    import dask

    return dask.config.set(scheduler="synchronous")


def _ours(lib_, g):
    """Per-element loss and (where the library differentiates) gradients on the whole grid."""
    loss = np.empty(g.logit.shape)
    d_logit = np.full(g.logit.shape, np.nan)
    d_label = np.full(g.logit.shape, np.nan)
    for alpha, gamma, sel in _groups(g):
        x, y = lib_.from_numpy(g.logit[sel]), lib_.from_numpy(g.label[sel])
        loss[sel] = lib_.to_numpy(F.sigmoid_focal_loss(x, y, None, alpha, gamma, "none"))
        if lib_.name == "torch":
            xt = x.clone().requires_grad_()
            yt = y.clone().requires_grad_()
            F.sigmoid_focal_loss(xt, yt, None, alpha, gamma, "sum").backward()
            d_logit[sel], d_label[sel] = xt.grad.numpy(), yt.grad.numpy()
        elif lib_.name == "jax":
            import jax

            grads = jax.grad(
                lambda a, b: F.sigmoid_focal_loss(a, b, None, alpha, gamma), argnums=(0, 1)
            )(x, y)
            d_logit[sel], d_label[sel] = np.asarray(grads[0]), np.asarray(grads[1])
        else:
            # The formulas' discarded branches are quiet; Dask computes them lazily, here on this
            # thread, where the error state holds.
            with np.errstate(all="ignore"), _synchronous_dask():
                grads = focal_elementwise_grads(lib_.xp, x, y, alpha, gamma)
                d_logit[sel], d_label[sel] = lib_.to_numpy(grads.logit), lib_.to_numpy(grads.label)
    return loss, d_logit, d_label


def _check(name, ours, true, normal, dtype, bound, scale=None, abs_bound=None):
    # Where a derivative's terms cancel (condition number > bound / eps), the error is held to a few ulps
    # of the terms instead; `well_conditioned` drops only points that meet that.
    keep = mpr.well_conditioned(ours, true, scale, dtype, bound)
    ours, true, normal = ours[keep], true[keep], normal[keep]
    worst_rel, worst_abs = mpr.errors(ours, true, normal, dtype)
    tiny = float(np.finfo(dtype).tiny) if abs_bound is None else abs_bound
    if worst_rel > bound or worst_abs >= tiny:
        with np.errstate(invalid="ignore"):
            rel = np.abs(ours - true) / np.where(true == 0, 1, np.abs(true))
        score = np.where(normal, rel, np.abs(ours - true) / tiny)
        score = np.where(np.isnan(ours) | ((ours != true) & np.isinf(true)), np.inf, score)
        i = int(np.nanargmax(score))
        g = grid(dtype)
        i = np.flatnonzero(keep)[i]
        raise AssertionError(
            f"{name}: worst relative error {worst_rel:.3g} (bound {bound:g}), worst absolute error "
            f"below normal {worst_abs:.3g}; e.g. logit {g.logit[i]!r} label {g.label[i]!r} alpha "
            f"{g.alpha[i]} gamma {g.gamma[i]}: ours {ours[i]!r}, true {true[i]!r}"
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["numpy", "array_api_strict", "torch", "jax", "dask"])
def test_grid_accuracy(name, dtype):
    pytest.importorskip(name)
    lib_ = lib(name)
    g = grid(dtype)
    loss, d_logit, d_label = _ours(lib_, g)
    bound = BOUND[dtype]
    _check("loss", loss, g.loss, g.loss_normal, dtype, bound)
    if name == "dask":
        return  # the reference's derivatives are checked on numpy and array-api-strict
    grad_bound = GRAD_FACTOR * bound
    if name == "jax" and dtype == np.float32:
        # XLA on CPU flushes subnormal intermediates to zero: a derivative such as 88 * e^-88 (normal)
        # formed from e^-88 (subnormal) comes out 0. Such values, within 1e3 of the smallest normal,
        # are held to the absolute bound of non-normal values.
        g = _flush_to_zero_view(g)
    floor = FTZ_LIMIT if name == "jax" and dtype == np.float32 else None
    _check(
        "d/d logit", d_logit, g.d_logit, g.d_logit_normal, dtype, grad_bound, g.d_logit_scale, floor
    )
    _check(
        "d/d label", d_label, g.d_label, g.d_label_normal, dtype, grad_bound, g.d_label_scale, floor
    )


def _flush_to_zero_view(g):
    import dataclasses

    limit = FTZ_LIMIT
    return dataclasses.replace(
        g,
        d_logit_normal=g.d_logit_normal & (np.abs(g.d_logit) >= limit),
        d_label_normal=g.d_label_normal & (np.abs(g.d_label) >= limit),
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_nan_for_non_nan_input(dtype):
    g = grid(dtype)
    loss, d_logit, d_label = _ours(lib("torch"), g) if _has("torch") else _ours(lib("numpy"), g)
    assert not np.isnan(loss).any()
    assert not np.isnan(d_logit).any()
    assert not np.isnan(d_label).any()
    assert np.all(loss >= 0)


def _has(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


def test_nan_input_gives_nan():
    out = F.sigmoid_focal_loss(np.array([np.nan, 0.0]), np.array([1.0, np.nan]), reduction="none")
    assert np.isnan(out).all()


def test_mpmath_reference_derivatives_match_numerical_differentiation():
    """The reference's written-out derivatives against mpmath's own numerical differentiation."""
    for x, y, a, g in [
        (0.7, 0.3, 0.4, 1.5),
        (-3.0, 0.9, 0.25, 0.5),
        (12.0, 0.5, 0.25, 2.0),
        (-0.2, 0.1, 0.75, 5.0),
    ]:
        x, y, a, g = (mpr.mp.mpf(v) for v in (x, y, a, g))
        assert mpr.mp.almosteq(
            mpr.d_logit(x, y, a, g), mpr.mp.diff(lambda t: mpr.loss(t, y, a, g), x), 1e-30
        )
        assert mpr.mp.almosteq(
            mpr.d_label(x, y, a, g), mpr.mp.diff(lambda t: mpr.loss(x, t, a, g), y), 1e-30
        )


def test_gamma_zero_is_alpha_weighted_bce_with_its_gradient():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = torch.tensor(rng.normal(scale=6, size=200), requires_grad=True)
    y = torch.tensor(rng.uniform(size=200), requires_grad=True)
    ours = F.sigmoid_focal_loss(x, y, alpha=0.3, gamma=0.0, reduction="none")
    x2 = x.detach().clone().requires_grad_()
    y2 = y.detach().clone().requires_grad_()
    alpha_t = 0.3 * y2 + 0.7 * (1 - y2)
    bce = alpha_t * torch.nn.functional.binary_cross_entropy_with_logits(x2, y2, reduction="none")
    torch.testing.assert_close(ours, bce, rtol=1e-14, atol=1e-15)
    ours.sum().backward()
    bce.sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-13, atol=1e-15)
    torch.testing.assert_close(y.grad, y2.grad, rtol=1e-13, atol=1e-15)


SATURATED = [20.0, -20.0, 30.0, -35.0, 0.3, -1.2]


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_gradcheck_and_gradgradcheck_at_saturation(reduction, gamma):
    torch = pytest.importorskip("torch")
    x = torch.tensor(SATURATED, dtype=torch.float64, requires_grad=True)
    # Finite differences across label 1 or 0 leave the domain (1 - p_t < 0) for gamma < 1: there the
    # label is held fixed and only the logit and normalizer gradients are checked.
    y = torch.tensor([1.0, 0.0, 1.0, 0.0, 0.7, 0.2], dtype=torch.float64, requires_grad=gamma >= 1)
    n = torch.tensor([2.5], dtype=torch.float64, requires_grad=True)

    def fn(a, b, c):
        return F.sigmoid_focal_loss(a, b, c, 0.25, gamma, reduction)

    assert torch.autograd.gradcheck(fn, (x, y, n))
    assert torch.autograd.gradgradcheck(fn, (x, y, n))


def test_gradcheck_random_inputs_every_reduction():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    for reduction in ("sum", "mean", "none"):
        x = torch.tensor(rng.normal(scale=3, size=(3, 4)), requires_grad=True)
        y = torch.tensor(rng.uniform(size=(3, 4)), requires_grad=True)
        n = torch.tensor(1.7, dtype=torch.float64, requires_grad=True)
        fn = lambda a, b, c: F.sigmoid_focal_loss(a, b, c, 0.4, 1.3, reduction)  # noqa: E731
        assert torch.autograd.gradcheck(fn, (x, y, n))
        assert torch.autograd.gradgradcheck(fn, (x, y, n))


def test_jax_gradient_finite_at_saturation_under_jit_and_vmap():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    x = jnp.asarray([[20.0, 100.0, -100.0, 1e4]])
    y = jnp.asarray([[1.0, 1.0, 0.0, 1.0]])
    grad = jax.jit(jax.vmap(jax.grad(lambda a, b: F.sigmoid_focal_loss(a, b, gamma=0.5))))(x, y)
    assert np.all(np.isfinite(np.asarray(grad)))
