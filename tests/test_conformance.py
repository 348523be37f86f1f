"""Every statement of Paddle's documentation page (the seed), each test quoting the one it checks."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from helpers import tol

import paddlefocal.nn.functional as F

LOGIT = np.array([[0.97, 0.91, 0.03], [0.55, 0.43, 0.71]])
LABEL = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def documented_formula(logit: np.ndarray, label: np.ndarray, alpha: float, gamma: float):
    """The formula of the page, written as printed, in float64."""
    s = 1.0 / (1.0 + np.exp(-logit))
    return -label * alpha * (1 - s) ** gamma * np.log(s) - (1 - label) * (
        1 - alpha
    ) * s**gamma * np.log(1 - s)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_seed_example_prints_0_65782464(lib_, dtype):
    """'output = paddle.nn.functional.sigmoid_focal_loss(logit, label, normalizer=fg_num) ...
    Tensor(shape=[], dtype=float32, ... 0.65782464)'"""
    xp = lib_.xp
    logit = lib_.from_numpy(LOGIT.astype(dtype))
    label = lib_.from_numpy(LABEL.astype(dtype))
    fg_num = xp.sum(xp.astype(label >= 1.0, xp.float32))
    out = F.sigmoid_focal_loss(logit, label, normalizer=xp.asarray(fg_num))
    value = lib_.to_numpy(out)
    assert value.shape == ()
    assert value.dtype == dtype
    np.testing.assert_allclose(value, 0.65782464, rtol=1e-7)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.0])
@pytest.mark.parametrize("alpha", [0.25, 0.5, 0.9])
def test_out_follows_the_documented_formula_for_hard_labels(lib_, alpha, gamma):
    """'Out = -Labels * alpha * {(1 - \\sigma(Logit))}^{gamma}\\log(\\sigma(Logit)) - (1 - Labels) *
    (1 - alpha) * {\\sigma(Logit)}^{gamma}\\log(1 - \\sigma(Logit))' with
    '\\sigma(Logit) = \\frac{1}{1 + \\exp(-Logit)}'."""
    rng = np.random.default_rng(1)
    logit = rng.normal(scale=3.0, size=(4, 7))
    label = (rng.uniform(size=(4, 7)) > 0.5).astype(np.float64)
    out = F.sigmoid_focal_loss(
        lib_.from_numpy(logit), lib_.from_numpy(label), alpha=alpha, gamma=gamma, reduction="none"
    )
    np.testing.assert_allclose(
        lib_.to_numpy(out), documented_formula(logit, label, alpha, gamma), rtol=1e-12, atol=1e-14
    )


def test_focal_loss_down_weights_easy_examples(lib_):
    """'It down-weights easily-classified examples and thus focuses training on hard examples.'"""
    logit = np.array([[4.0, 0.1]])  # an easy positive and a hard one
    label = np.array([[1.0, 1.0]])
    x, y = lib_.from_numpy(logit), lib_.from_numpy(label)
    focal = lib_.to_numpy(F.sigmoid_focal_loss(x, y, gamma=2.0, reduction="none"))
    ce = lib_.to_numpy(F.sigmoid_focal_loss(x, y, gamma=0.0, reduction="none"))
    weight = focal / ce  # the down-weighting factor (1 - p)^gamma
    assert weight[0, 0] < 0.001 < 0.2 < weight[0, 1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalizer_divides_out(lib_, dtype):
    """'if normalizer is not None, this operator divides the normalizer tensor on the loss Out:
    Out = \\frac{Out}{normalizer}'"""
    x = lib_.from_numpy(LOGIT.astype(dtype))
    y = lib_.from_numpy(LABEL.astype(dtype))
    plain = lib_.to_numpy(F.sigmoid_focal_loss(x, y, reduction="none"))
    for shape in [(), (1,)]:
        n = lib_.from_numpy(np.full(shape, 3.5, dtype))
        divided = lib_.to_numpy(F.sigmoid_focal_loss(x, y, normalizer=n, reduction="none"))
        np.testing.assert_allclose(divided, plain / dtype(3.5), **tol(dtype))


def test_reduction_none_mean_sum(lib_):
    """'If reduction set to 'none', the operator will return the original loss Out. If reduction set to
    'mean', the reduced mean loss is Out = MEAN(Out). If reduction set to 'sum', the reduced sum loss is
    Out = SUM(Out).'"""
    x, y = lib_.from_numpy(LOGIT), lib_.from_numpy(LABEL)
    none = lib_.to_numpy(F.sigmoid_focal_loss(x, y, reduction="none"))
    np.testing.assert_allclose(none, documented_formula(LOGIT, LABEL, 0.25, 2.0), rtol=1e-12)
    mean = lib_.to_numpy(F.sigmoid_focal_loss(x, y, reduction="mean"))
    total = lib_.to_numpy(F.sigmoid_focal_loss(x, y, reduction="sum"))
    np.testing.assert_allclose(mean, none.mean(), rtol=1e-12)
    np.testing.assert_allclose(total, none.sum(), rtol=1e-12)


def test_label_0_is_negative_and_1_is_positive(lib_):
    """'Note that the target label is 0 for the negative class and is 1 for the positive class.'"""
    logit = np.array([[3.0, -3.0]])
    x = lib_.from_numpy(logit)
    as_positive = lib_.to_numpy(
        F.sigmoid_focal_loss(x, lib_.from_numpy(np.ones((1, 2))), reduction="none")
    )
    as_negative = lib_.to_numpy(
        F.sigmoid_focal_loss(x, lib_.from_numpy(np.zeros((1, 2))), reduction="none")
    )
    # A large logit is a confident positive: small loss as positive, large as negative, and vice versa.
    assert as_positive[0, 0] < as_negative[0, 0]
    assert as_negative[0, 1] < as_positive[0, 1]


@pytest.mark.parametrize("shape", [(5,), (2, 3), (2, 3, 4), (2, 1, 3, 2, 2)])
def test_logit_shape_n_star_with_any_number_of_dimensions(lib_, shape):
    """'logit (Tensor) - The input logit tensor. The shape is [N, *], where N is batch_size, * means any
    number of additional dimensions.'"""
    rng = np.random.default_rng(2)
    logit = rng.normal(size=shape)
    label = rng.uniform(size=shape).round()
    out = F.sigmoid_focal_loss(lib_.from_numpy(logit), lib_.from_numpy(label), reduction="none")
    np.testing.assert_allclose(
        lib_.to_numpy(out), documented_formula(logit, label, 0.25, 2.0), rtol=1e-12
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_available_dtypes_are_float32_and_float64(lib_, dtype):
    """'Available dtype is float32, float64.' (logit and label) and 'Returns ... The same dtype as
    logit tensor.'"""
    out = F.sigmoid_focal_loss(
        lib_.from_numpy(LOGIT.astype(dtype)), lib_.from_numpy(LABEL.astype(dtype))
    )
    assert lib_.to_numpy(out).dtype == dtype
    with pytest.raises(TypeError, match="'logit' must have dtype float32 or float64"):
        F.sigmoid_focal_loss(
            lib_.from_numpy(LOGIT.astype(np.int32)), lib_.from_numpy(LABEL.astype(dtype))
        )


def test_label_has_the_same_shape_as_logit(lib_):
    """'label (Tensor) - The target label tensor with the same shape as logit.'"""
    with pytest.raises(ValueError, match="same shape"):
        F.sigmoid_focal_loss(lib_.from_numpy(LOGIT), lib_.from_numpy(LABEL[:1]))


def test_soft_labels_between_0_and_1_are_accepted(lib_):
    """'The target label whose value should be numbers between 0 and 1.'"""
    label = np.array([[0.1, 0.5, 0.9], [0.0, 1.0, 0.3]])
    out = lib_.to_numpy(
        F.sigmoid_focal_loss(lib_.from_numpy(LOGIT), lib_.from_numpy(label), reduction="none")
    )
    assert np.all(np.isfinite(out)) and np.all(out > 0)


@pytest.mark.parametrize("shape", [(), (1,)])
def test_normalizer_is_1d_shape_1_or_0d(lib_, shape):
    """'normalizer (Tensor, optional) - ... It has to be a 1-D Tensor with shape [1, ] or 0-D Tensor with
    shape []. The data type is float32, float64.'"""
    x, y = lib_.from_numpy(LOGIT), lib_.from_numpy(LABEL)
    out = F.sigmoid_focal_loss(x, y, normalizer=lib_.from_numpy(np.full(shape, 2.0)))
    assert lib_.to_numpy(out).shape == ()
    with pytest.raises(ValueError, match=r"shape \[\] or \[1\]"):
        F.sigmoid_focal_loss(x, y, normalizer=lib_.from_numpy(np.full((3,), 2.0)))
    integer = lib_.from_numpy(np.full(shape, 2, np.int32))
    if shape:  # as in Paddle, whose type promotion takes integer tensors only as 0-D scalars
        with pytest.raises(TypeError, match=r"'normalizer' of shape \[1\] must have a floating"):
            F.sigmoid_focal_loss(x, y, normalizer=integer)
    else:
        np.testing.assert_array_equal(lib_.to_numpy(F.sigmoid_focal_loss(x, y, integer)), out)


def test_normalizer_none_means_no_normalization(lib_):
    """'If set to None, the focal loss will not be normalized. Default is None.'"""
    x, y = lib_.from_numpy(LOGIT), lib_.from_numpy(LABEL)
    np.testing.assert_array_equal(
        lib_.to_numpy(F.sigmoid_focal_loss(x, y)),
        lib_.to_numpy(F.sigmoid_focal_loss(x, y, normalizer=lib_.from_numpy(np.asarray(1.0)))),
    )
    assert inspect.signature(F.sigmoid_focal_loss).parameters["normalizer"].default is None


def test_default_alpha_gamma_reduction():
    """'alpha ... Default value is set to 0.25.', 'gamma ... Default value is set to 2.0.', and
    'reduction ... Default is 'sum''."""
    params = inspect.signature(F.sigmoid_focal_loss).parameters
    assert params["alpha"].default == 0.25
    assert params["gamma"].default == 2.0
    assert params["reduction"].default == "sum"
    out = F.sigmoid_focal_loss(LOGIT, LABEL)
    np.testing.assert_allclose(out, documented_formula(LOGIT, LABEL, 0.25, 2.0).sum(), rtol=1e-12)


@pytest.mark.parametrize("alpha", [0, 1, 0.75])
def test_alpha_balances_positive_and_negative(lib_, alpha):
    """'alpha (int|float, optional) - Hyper-parameter to balance the positive and negative example, it
    should be between 0 and 1.'"""
    x, y = lib_.from_numpy(LOGIT), lib_.from_numpy(LABEL)
    out = lib_.to_numpy(F.sigmoid_focal_loss(x, y, alpha=alpha, reduction="none"))
    np.testing.assert_allclose(
        out, documented_formula(LOGIT, LABEL, alpha, 2.0), rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize("gamma", [0, 1, 5])
def test_gamma_modulates_easy_and_hard_examples(lib_, gamma):
    """'gamma (int|float, optional) - Hyper-parameter to modulate the easy and hard examples.'"""
    x, y = lib_.from_numpy(LOGIT), lib_.from_numpy(LABEL)
    out = lib_.to_numpy(F.sigmoid_focal_loss(x, y, gamma=gamma, reduction="none"))
    np.testing.assert_allclose(out, documented_formula(LOGIT, LABEL, 0.25, gamma), rtol=1e-12)


def test_reduction_candidates_are_none_mean_sum():
    """'reduction (str, optional) - ... the candicates are 'none' | 'mean' | 'sum'.'"""
    for reduction in ("none", "mean", "sum"):
        F.sigmoid_focal_loss(LOGIT, LABEL, reduction=reduction)
    with pytest.raises(ValueError, match="should be 'sum', 'mean' or 'none'"):
        F.sigmoid_focal_loss(LOGIT, LABEL, reduction="max")


def test_name_is_accepted():
    """'name (str, optional) - Name for the operation (optional, default is None).'"""
    np.testing.assert_array_equal(
        F.sigmoid_focal_loss(LOGIT, LABEL, name="focal"), F.sigmoid_focal_loss(LOGIT, LABEL)
    )


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_result_shape(lib_, reduction):
    """'Returns - Tensor, if reduction is 'mean' or 'sum', the out shape is [], otherwise the shape is the
    same as logit.'"""
    x = lib_.from_numpy(np.zeros((2, 3, 4)))
    out = F.sigmoid_focal_loss(x, x, reduction=reduction)
    assert tuple(out.shape) == ((2, 3, 4) if reduction == "none" else ())
    assert type(out) is type(x)
