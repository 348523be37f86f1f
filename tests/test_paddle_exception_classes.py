"""Each bad call that Paddle 3.3.1 refuses too, run on Paddle and on us: our exception is an instance of
Paddle's class, or the difference is a row of the "Differences from Paddle" table."""

from __future__ import annotations

import numpy as np
import pytest

import paddlefocal
import paddlefocal.nn.functional as F

pytestmark = pytest.mark.usefixtures("paddle")

X = np.array([[0.97, 0.91, 0.03], [0.55, 0.43, 0.71]], np.float32)
Y = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32)

#: Paddle's RuntimeError "(NotFound) The kernel ... is not registered" for a label dtype (or both
#: dtypes) it has no kernel for: we raise InvalidArgumentError (a TypeError and a ValueError) naming
#: the argument, documented as a row.
KERNEL_ROW = "RuntimeError"

CASES = [
    # (id, logit, label, keyword arguments, the documented row where the classes differ)
    ("reduction-None", X, Y, {"reduction": None}, None),
    ("reduction-SUM", X, Y, {"reduction": "SUM"}, None),
    ("logit-list", [[0.5, 0.5, 0.5]] * 2, Y, {}, None),
    ("label-list", X, [[0.5, 0.5, 0.5]] * 2, {}, None),
    ("logit-float64-label-float32", X.astype(np.float64), Y, {}, None),
    ("logit-float32-label-float64", X, Y.astype(np.float64), {}, None),
    ("logit-int64", X.astype(np.int64), Y, {}, None),
    ("logit-float16", X.astype(np.float16), Y, {}, None),
    ("logit-bool", X.astype(bool), Y, {}, None),
    ("label-int64", X, Y.astype(np.int64), {}, KERNEL_ROW),
    ("label-float16", X, Y.astype(np.float16), {}, KERNEL_ROW),
    ("both-int64", X.astype(np.int64), Y.astype(np.int64), {}, KERNEL_ROW),
    ("both-complex64", X.astype(np.complex64), Y.astype(np.complex64), {}, KERNEL_ROW),
    ("label-shape-3", X, Y[0], {}, None),
    ("label-shape-1x3", X, Y[:1], {}, None),
    ("label-shape-2x3x1", X, Y[..., None], {}, None),
    ("label-shape-3x2", X, Y.reshape(3, 2), {}, None),
    ("label-0d", X, np.asarray(1.0, np.float32), {}, None),
    ("normalizer-2d", X, Y, {"normalizer": np.array([[2.0]], np.float32)}, None),
    ("normalizer-2d-int", X, Y, {"normalizer": np.array([[2]], np.int64)}, None),
    ("normalizer-[1]-int64", X, Y, {"normalizer": np.array([2], np.int64)}, None),
    ("normalizer-[1]-int32", X, Y, {"normalizer": np.array([2], np.int32)}, None),
    ("normalizer-[1]-bool", X, Y, {"normalizer": np.array([True])}, None),
    ("normalizer-[3]-int64", X, Y, {"normalizer": np.array([2, 2, 2], np.int64)}, None),
    ("normalizer-[2]", X, Y, {"normalizer": np.array([2.0, 2.0], np.float32)}, None),
    ("normalizer-[0]", X, Y, {"normalizer": np.zeros(0, np.float32)}, None),
    ("alpha-str", X, Y, {"alpha": "a"}, None),
    ("gamma-str", X, Y, {"gamma": "a"}, None),
    ("alpha-None", X, Y, {"alpha": None}, None),
    ("alpha-[2]", X, Y, {"alpha": np.ones(2, np.float32)}, None),
    ("gamma-[2]", X, Y, {"gamma": np.ones(2, np.float32)}, None),
    ("alpha-list-[0.5,0.5]", X, Y, {"alpha": [0.5, 0.5]}, None),
    ("gamma-tuple-(2,2)", X, Y, {"gamma": (2.0, 2.0)}, None),
    (
        "alpha-10**400",
        X,
        Y,
        {"alpha": 10**400},
        "test_alpha_too_large_for_the_dtype_is_refused_where_paddle_returns_nan",
    ),
]


def _paddle_error(logit, label, kwargs):
    import paddle
    import paddle.nn.functional as PF

    def tensor(value):
        return paddle.to_tensor(value) if isinstance(value, np.ndarray) else value

    args = {k: tensor(v) for k, v in kwargs.items()}
    try:
        PF.sigmoid_focal_loss(tensor(logit), tensor(label), **args)
    except Exception as exc:
        return exc
    raise AssertionError("Paddle accepted the call")


@pytest.mark.parametrize(
    ("logit", "label", "kwargs", "row"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_our_exception_is_an_instance_of_paddles_class_or_a_documented_row(
    logit, label, kwargs, row
):
    theirs = _paddle_error(logit, label, kwargs)
    with pytest.raises(Exception) as ours:
        F.sigmoid_focal_loss(logit, label, **kwargs)
    assert "sigmoid_focal_loss" in str(ours.value)
    if row is None:
        assert isinstance(ours.value, type(theirs)), (type(ours.value), repr(theirs))
    else:
        assert not isinstance(ours.value, type(theirs))
        assert row == KERNEL_ROW or row.startswith("test_")
        if row == KERNEL_ROW:
            assert isinstance(theirs, RuntimeError) and "not registered" in str(theirs)
            assert isinstance(ours.value, paddlefocal.InvalidArgumentError)


def test_invalid_argument_error_is_a_type_error_and_a_value_error():
    assert issubclass(paddlefocal.InvalidArgumentError, TypeError)
    assert issubclass(paddlefocal.InvalidArgumentError, ValueError)
    assert "InvalidArgumentError" in paddlefocal.__all__
