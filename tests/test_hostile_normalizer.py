"""Odd but real ``normalizer`` values: NumPy scalars, NumPy subclasses, zero."""

from __future__ import annotations

import numpy as np
import pytest

import paddlefocal.nn.functional as F
from paddlefocal import backends

LOGIT = np.array([[0.97, 0.91, 0.03], [0.55, 0.43, 0.71]], np.float32)
LABEL = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32)


def test_solov2_normalizer_ported_to_numpy_is_accepted():
    """SOLOv2's ``fg_num = paddle.sum(fg_mask) + 1.0`` written for NumPy is a NumPy float32 scalar."""
    fg_num = np.sum(LABEL >= 1.0, dtype=np.float32) + 1.0
    assert isinstance(fg_num, np.float32)
    got = F.sigmoid_focal_loss(LOGIT, LABEL, normalizer=fg_num)
    want = F.sigmoid_focal_loss(LOGIT, LABEL, normalizer=np.asarray(3.0, np.float32))
    assert type(got) is np.ndarray and got.dtype == np.float32 and got.shape == ()
    assert got == want
    # The documented example's value divided afresh: 0.65782464 * 2 / 3.
    np.testing.assert_allclose(got, 0.65782464 * 2 / 3, rtol=1e-6)


@pytest.mark.parametrize("scalar_type", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_numpy_float_scalars_are_0d_arrays_and_keep_logits_dtype(scalar_type, reduction):
    got = F.sigmoid_focal_loss(LOGIT, LABEL, normalizer=scalar_type(2.0), reduction=reduction)
    want = F.sigmoid_focal_loss(
        LOGIT, LABEL, normalizer=np.asarray(2.0, np.float32), reduction=reduction
    )
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)


def test_python_numbers_stay_refused_while_numpy_scalars_are_accepted():
    with pytest.raises(TypeError, match="'normalizer' must be None or an array"):
        F.sigmoid_focal_loss(LOGIT, LABEL, normalizer=2.0)
    F.sigmoid_focal_loss(LOGIT, LABEL, normalizer=np.float64(2.0))  # a float subclass, accepted


def test_numpy_scalar_with_torch_inputs_names_the_numpy_scalar():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"same library as 'logit' \(torch.Tensor\).*numpy.float32"):
        F.sigmoid_focal_loss(
            torch.from_numpy(LOGIT), torch.from_numpy(LABEL), normalizer=np.float32(2.0)
        )


@pytest.mark.parametrize("shape", [(), (1,)])
def test_ndarray_subclass_normalizer_is_accepted(shape):
    class Tagged(np.ndarray):
        pass

    normalizer = np.full(shape, 2.0, np.float32).view(Tagged)
    got = F.sigmoid_focal_loss(LOGIT, LABEL, normalizer=normalizer)
    assert got == F.sigmoid_focal_loss(LOGIT, LABEL, normalizer=np.asarray(2.0, np.float32))


# --- zero ---------------------------------------------------------------------------------------------

#: logit 20 with label 1: a tiny positive loss (about 2.2e-27, kept in float32); logit +inf with label
#: 1 and an ignored element: a loss of exactly 0; logit 0.5: an ordinary positive loss.
ZERO_X = np.array([[20.0, np.inf, 0.5, 0.5]], np.float32)
ZERO_Y = np.array([[1.0, 1.0, -100.0, 1.0]], np.float32)


def test_zero_normalizer_per_element_is_nan_for_0_over_0_and_inf_for_positive_over_0(lib_):
    x, y = lib_.from_numpy(ZERO_X), lib_.from_numpy(ZERO_Y)
    zero = lib_.from_numpy(np.asarray(0.0, np.float32))
    got = lib_.to_numpy(F.sigmoid_focal_loss(x, y, normalizer=zero, reduction="none"))
    np.testing.assert_array_equal(got, [[np.inf, np.nan, np.nan, np.inf]])


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_zero_normalizer_divides_the_total_on_every_path(lib_, reduction):
    """A positive total over 0 is inf (its limit as the normalizer tends to 0+), a zero total nan:
    the same on the fast paths and the reference."""
    x, y = lib_.from_numpy(ZERO_X), lib_.from_numpy(ZERO_Y)
    zero = lib_.from_numpy(np.asarray(0.0, np.float32))
    fast = lib_.to_numpy(F.sigmoid_focal_loss(x, y, normalizer=zero, reduction=reduction))
    with backends.use("reference"), np.errstate(all="ignore"):
        ref = lib_.to_numpy(F.sigmoid_focal_loss(x, y, normalizer=zero, reduction=reduction))
    assert fast == ref == np.inf
    exact_zero = [lib_.from_numpy(a[:, 1:3]) for a in (ZERO_X, ZERO_Y)]
    assert np.isnan(
        lib_.to_numpy(F.sigmoid_focal_loss(*exact_zero, normalizer=zero, reduction=reduction))
    )


@pytest.mark.parametrize("name", ["dask", "array_api_strict"])
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_lazy_and_strict_arrays_compute_quietly_and_as_numpy(name, reduction):
    """Infinite logits, the ignore label, a zero normalizer, an array alpha and a negative gamma give
    no warning on Dask (computed later, on Dask's threads) or array-api-strict, as on NumPy, and
    NumPy's values."""
    import warnings

    from helpers import lib

    pytest.importorskip(name)
    lib_ = lib(name)
    x = np.array([[np.inf, -np.inf, 0.5], [1.0, 2.0, -3.0]], np.float32)
    y = np.array([[1.0, 0.0, 0.3], [-100.0, 1.0, 0.0]], np.float32)
    zero, alpha = np.asarray(0.0, np.float32), np.asarray(0.25, np.float32)
    for normalizer, a, gamma in ((zero, 0.25, 2.0), (zero, alpha, 2.0), (None, 0.25, -0.5)):
        want = F.sigmoid_focal_loss(x, y, normalizer, a, gamma, reduction)
        args = [lib_.from_numpy(v) for v in (x, y)]
        n = None if normalizer is None else lib_.from_numpy(normalizer)
        a_ = a if isinstance(a, float) else lib_.from_numpy(a)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = lib_.to_numpy(F.sigmoid_focal_loss(*args, n, a_, gamma, reduction))
        # Equal where NumPy takes the same formulas (the chunks' kernel may round the rest apart).
        np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
