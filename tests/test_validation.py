"""Every validation rule of the front-end; where Paddle raises too, Paddle's call runs beside ours."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from helpers import lib

import paddlefocal
import paddlefocal.nn.functional as F

X = np.zeros((2, 3), np.float32)
Y = np.ones((2, 3), np.float32)


def paddle_raises(exc_type, **kwargs):
    """Run Paddle's call on the same arguments (converted to tensors) and return its error message."""
    import paddle
    import paddle.nn.functional as PF

    def conv(v):
        return paddle.to_tensor(v) if isinstance(v, np.ndarray) else v

    args = {k: conv(v) for k, v in kwargs.items()}
    with pytest.raises(exc_type) as info:
        PF.sigmoid_focal_loss(**args)
    return str(info.value)


def test_signature_equals_paddles(paddle):
    import paddle.nn.functional as PF

    ours = inspect.signature(F.sigmoid_focal_loss).parameters
    theirs = inspect.signature(PF.sigmoid_focal_loss).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == [
        (p.name, p.kind, p.default) for p in theirs.values()
    ]
    assert paddlefocal.sigmoid_focal_loss is F.sigmoid_focal_loss


@pytest.mark.parametrize("reduction", [None, "SUM", "avg", "", "Mean", 1])
def test_reduction_error_is_paddles_word_for_word(paddle, reduction):
    theirs = paddle_raises(ValueError, logit=X, label=Y, reduction=reduction)
    with pytest.raises(ValueError) as ours:
        F.sigmoid_focal_loss(X, Y, reduction=reduction)
    assert str(ours.value) == theirs


def test_reduction_is_checked_first():
    with pytest.raises(ValueError, match="'reduction'"):
        F.sigmoid_focal_loss([1.0], "not an array", reduction="avg")


@pytest.mark.parametrize("bad", [[[0.0, 1.0]], 0.5, None, "logit", (1.0,), np.float32(1.0)])
@pytest.mark.parametrize("argname", ["logit", "label"])
def test_non_arrays_are_type_errors(bad, argname):
    kwargs = {"logit": X, "label": Y, argname: bad}
    with pytest.raises(TypeError, match=f"'{argname}' must be an array"):
        F.sigmoid_focal_loss(**kwargs)


def test_masked_arrays_are_refused():
    with pytest.raises(TypeError, match="masked"):
        F.sigmoid_focal_loss(np.ma.masked_array(X), Y)


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float16", "complex64", "uint8"])
@pytest.mark.parametrize("argname", ["logit", "label"])
def test_dtypes_other_than_float32_float64_are_type_errors(dtype, argname):
    kwargs = {"logit": X, "label": Y, argname: np.zeros((2, 3), dtype)}
    with pytest.raises(TypeError, match=f"'{argname}' must have dtype float32 or float64.*{dtype}"):
        F.sigmoid_focal_loss(**kwargs)


def test_float16_and_int_are_refused_by_paddle_too(paddle):
    paddle_raises(Exception, logit=X.astype(np.int64), label=Y.astype(np.int64))
    with pytest.raises(TypeError):
        F.sigmoid_focal_loss(X.astype(np.int64), Y.astype(np.int64))


def test_torch_bfloat16_is_a_type_error():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="bfloat16"):
        F.sigmoid_focal_loss(
            torch.zeros(2, 3, dtype=torch.bfloat16), torch.zeros(2, 3, dtype=torch.bfloat16)
        )


@pytest.mark.parametrize(("logit", "label"), [(X, Y.astype(np.float64)), (X.astype(np.float64), Y)])
def test_label_dtype_must_equal_logit_dtype_with_paddles_value_error(paddle, logit, label):
    paddle_raises(ValueError, logit=logit, label=label)
    with pytest.raises(ValueError, match="'label' must have the same dtype as 'logit'") as ours:
        F.sigmoid_focal_loss(logit, label)
    assert isinstance(ours.value, TypeError)
    assert isinstance(ours.value, paddlefocal.InvalidArgumentError)


@pytest.mark.parametrize("label_shape", [(3,), (1, 3), (2, 3, 1), (3, 2), ()])
def test_shape_mismatch_is_a_value_error_naming_both_shapes(paddle, label_shape):
    label = np.ones(label_shape, np.float32)
    paddle_raises(ValueError, logit=X, label=label)
    with pytest.raises(ValueError, match=r"label shape \[.*\] and logit shape \[2, 3\]"):
        F.sigmoid_focal_loss(X, label)


def test_normalizer_with_two_dims_gives_paddles_message(paddle):
    n = np.array([[2.0]], np.float32)
    theirs = paddle_raises(ValueError, logit=X, label=Y, normalizer=n)
    with pytest.raises(ValueError) as ours:
        F.sigmoid_focal_loss(X, Y, normalizer=n)
    assert (
        str(ours.value)
        == theirs
        == "Expected zero or one dimension of normalizer in sigmoid_focal_loss but got 2."
    )


@pytest.mark.parametrize("shape", [(3,), (2,), (0,)])
def test_normalizer_shape_other_than_0d_or_1_is_refused(shape):
    with pytest.raises(ValueError, match=r"'normalizer' must have shape \[\] or \[1\]"):
        F.sigmoid_focal_loss(X, Y, normalizer=np.ones(shape, np.float32))


@pytest.mark.parametrize("bad", [2.0, 2, "2", [2.0], True])
def test_normalizer_that_is_not_an_array_is_a_type_error(bad):
    with pytest.raises(TypeError, match="'normalizer' must be None or an array"):
        F.sigmoid_focal_loss(X, Y, normalizer=bad)


@pytest.mark.parametrize("scalar", [np.float32(2.0), np.float64(2.0)])
def test_numpy_scalar_normalizer_is_a_0d_numpy_array(scalar):
    want = F.sigmoid_focal_loss(X, Y, normalizer=np.asarray(2.0, np.float32))
    got = F.sigmoid_focal_loss(X, Y, normalizer=scalar)
    assert type(got) is np.ndarray and got.dtype == np.float32
    assert got == want


def test_numpy_integer_scalar_normalizer_is_a_0d_integer_normalizer():
    got = F.sigmoid_focal_loss(X, Y, normalizer=np.int64(2))
    assert got.dtype == np.float32
    assert got == F.sigmoid_focal_loss(X, Y, normalizer=np.asarray(2.0, np.float32))


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_shape_1_integer_normalizer_is_paddles_type_error(paddle, dtype):
    n = np.ones(1, dtype)
    assert "Type promotion" in paddle_raises(TypeError, logit=X, label=Y, normalizer=n)
    with pytest.raises(TypeError, match=r"'normalizer' of shape \[1\] must have a floating dtype"):
        F.sigmoid_focal_loss(X, Y, normalizer=n)


@pytest.mark.parametrize(("dtype", "value"), [("int64", 2), ("int32", 2), ("bool", True)])
def test_0d_integer_and_bool_normalizers_are_cast_to_logits_dtype(lib_, dtype, value):
    x, y = lib_.from_numpy(X), lib_.from_numpy(Y)
    n = lib_.from_numpy(np.asarray(value, dtype))
    got = F.sigmoid_focal_loss(x, y, normalizer=n)
    want = F.sigmoid_focal_loss(x, y, normalizer=lib_.from_numpy(np.asarray(value, np.float32)))
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(lib_.to_numpy(got), lib_.to_numpy(want))


def test_float16_and_bfloat16_normalizers_are_cast_to_logits_dtype():
    torch = pytest.importorskip("torch")
    x, y = torch.from_numpy(X), torch.from_numpy(Y)
    want = F.sigmoid_focal_loss(x, y, normalizer=torch.tensor(2.0))
    for half in (torch.float16, torch.bfloat16):
        for shape in ((), (1,)):
            n = torch.full(shape, 2.0, dtype=half)
            got = F.sigmoid_focal_loss(x, y, normalizer=n)
            assert got.dtype == torch.float32 and torch.equal(got, want)
    got = F.sigmoid_focal_loss(X, Y, normalizer=np.asarray(2.0, np.float16))
    assert got.dtype == np.float32 and got == F.sigmoid_focal_loss(X, Y, normalizer=np.float32(2))


def test_traced_integer_normalizer_under_jax_jit_is_cast_to_logits_dtype():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    x, y = jnp.asarray(X), jnp.asarray(Y)
    step = jax.jit(lambda x, y, n: F.sigmoid_focal_loss(x, y, normalizer=n))
    got = step(x, y, (y >= 1).sum())  # an int32 0-D tracer
    assert got.dtype == jnp.float32
    want = F.sigmoid_focal_loss(X, Y, normalizer=np.asarray(6.0, np.float32))
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)


def test_reduction_numpy_str_is_taken_as_the_plain_str():
    from paddlefocal._validation import validate

    call = validate(X, Y, None, 0.25, 2.0, np.str_("mean"))
    assert type(call.reduction) is str and call.reduction == "mean"
    assert F.sigmoid_focal_loss(X, Y, reduction=np.str_("mean")) == F.sigmoid_focal_loss(
        X, Y, reduction="mean"
    )


def test_numpy_normalizer_with_torch_inputs_is_a_type_error():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="'normalizer' must be an array of the same library"):
        F.sigmoid_focal_loss(
            torch.zeros(2, 3), torch.ones(2, 3), normalizer=np.asarray(2.0, np.float32)
        )


@pytest.mark.parametrize("argname", ["alpha", "gamma"])
@pytest.mark.parametrize("bad", [True, False, np.bool_(True), "a", None, [0.5], 1 + 2j])
def test_alpha_gamma_wrong_types(argname, bad):
    with pytest.raises(TypeError, match=f"'{argname}' must be an int"):
        F.sigmoid_focal_loss(X, Y, **{argname: bad})


def test_alpha_string_is_refused_by_paddle_too(paddle):
    paddle_raises(TypeError, logit=X, label=Y, alpha="a")
    with pytest.raises(TypeError, match="'alpha'"):
        F.sigmoid_focal_loss(X, Y, alpha="a")


@pytest.mark.parametrize("argname", ["alpha", "gamma"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_alpha_gamma_non_finite_are_value_errors(argname, bad):
    with pytest.raises(ValueError, match=f"'{argname}' must be finite"):
        F.sigmoid_focal_loss(X, Y, **{argname: bad})


@pytest.mark.parametrize("argname", ["alpha", "gamma"])
def test_alpha_gamma_arrays_must_be_0d_floating_same_library(argname):
    with pytest.raises(ValueError, match=f"'{argname}' must be a number or a 0-D array"):
        F.sigmoid_focal_loss(X, Y, **{argname: np.ones(2, np.float32)})
    with pytest.raises(TypeError, match=f"'{argname}' must be a 0-D array of an integer or float"):
        F.sigmoid_focal_loss(X, Y, **{argname: np.asarray(True)})
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=f"'{argname}' must be an array of the same library"):
        F.sigmoid_focal_loss(X, Y, **{argname: torch.tensor(0.5)})


@pytest.mark.parametrize("argname", ["alpha", "gamma"])
def test_alpha_gamma_0d_arrays_are_accepted(lib_, argname):
    x = lib_.from_numpy(np.linspace(-2, 2, 6).reshape(2, 3))
    y = lib_.from_numpy(np.array([[0, 1, 0.5], [1, 0, 0.2]]))
    value = 0.5 if argname == "alpha" else 1.5
    with_number = lib_.to_numpy(F.sigmoid_focal_loss(x, y, **{argname: value}))
    with_array = lib_.to_numpy(
        F.sigmoid_focal_loss(x, y, **{argname: lib_.from_numpy(np.asarray(value))})
    )
    np.testing.assert_allclose(with_array, with_number, rtol=1e-14)


@pytest.mark.parametrize("argname", ["alpha", "gamma"])
@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "float16"])
def test_alpha_gamma_0d_integer_arrays_are_cast_as_paddle_casts_them(lib_, paddle, argname, dtype):
    """Paddle's ``to_tensor(alpha, dtype=logit.dtype)`` casts a 0-D integer (or half) tensor."""
    import paddle.nn.functional as PF

    if dtype == "float16" and lib_.name in ("array-api-strict", "dask"):
        pytest.skip(f"{lib_.name}'s namespace has no float16")
    x = np.array([[0.97, 0.91, 0.03], [0.55, 0.43, 0.71]], np.float32)
    y = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.5]], np.float32)
    value = np.asarray(3 if argname == "alpha" else 1, dtype)
    theirs = PF.sigmoid_focal_loss(
        paddle.to_tensor(x), paddle.to_tensor(y), **{argname: paddle.to_tensor(value)}
    ).numpy()
    ours = F.sigmoid_focal_loss(
        lib_.from_numpy(x), lib_.from_numpy(y), **{argname: lib_.from_numpy(value)}
    )
    assert lib_.to_numpy(ours).dtype == np.float32
    np.testing.assert_allclose(lib_.to_numpy(ours), theirs, rtol=1e-6)


def test_paddle_tensors_0d_integer_alpha_gamma_normalizer_are_cast_as_paddle_casts_them(paddle):
    import paddle.nn.functional as PF

    x = paddle.to_tensor(np.array([[0.97, 0.91, 0.03], [0.55, 0.43, 0.71]], np.float32))
    y = paddle.to_tensor(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.5]], np.float32))
    for kwargs in (
        {"alpha": paddle.to_tensor(np.asarray(3, np.int64))},
        {"gamma": paddle.to_tensor(np.asarray(1, np.int32))},
        {"normalizer": paddle.to_tensor(np.asarray(2, np.int64))},
    ):
        theirs = PF.sigmoid_focal_loss(x, y, **kwargs)
        ours = F.sigmoid_focal_loss(x, y, **kwargs)
        assert ours.dtype == paddle.float32
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    with pytest.raises(TypeError, match="'gamma' must be a 0-D array of an integer or floating"):
        F.sigmoid_focal_loss(x, y, gamma=paddle.to_tensor(np.asarray(True)))


def test_mixed_libraries_are_a_type_error():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="'label' must be an array of the same library as 'logit'"):
        F.sigmoid_focal_loss(X, torch.ones(2, 3))
    with pytest.raises(TypeError, match="'label' must be an array of the same library as 'logit'"):
        F.sigmoid_focal_loss(torch.zeros(2, 3), Y)


def test_different_devices_are_a_value_error():
    torch = pytest.importorskip("torch")
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="meta"):
        F.sigmoid_focal_loss(x, torch.ones(2, 3, device="meta"))
    with pytest.raises(ValueError, match="meta"):
        F.sigmoid_focal_loss(x.to("meta"), torch.ones(2, 3, device="meta"))


def test_different_jax_devices_are_a_value_error():
    jax = pytest.importorskip("jax")
    devices = jax.devices("cpu")
    if len(devices) < 2:
        # One CPU device here: compare against a CPU array placed on a stand-in device object.
        import array_api_strict

        x = array_api_strict.asarray(X)
        y = array_api_strict.asarray(Y, device=array_api_strict.Device("device1"))
        with pytest.raises(ValueError, match="all arrays must be on one device"):
            F.sigmoid_focal_loss(x, y)


def test_name_is_accepted_and_ignored(paddle):
    np.testing.assert_array_equal(
        F.sigmoid_focal_loss(X, Y, name="loss"), F.sigmoid_focal_loss(X, Y)
    )


def test_validation_happens_before_computation_for_lazy_arrays():
    dask = pytest.importorskip("dask.array")
    x = dask.zeros((2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="same shape"):
        F.sigmoid_focal_loss(x, dask.zeros((3, 2), dtype=np.float32))


def test_errors_on_every_library(lib_):
    """The same rules on every backend: a shape mismatch and a wrong dtype."""
    xp_lib = lib(lib_.name)
    x = xp_lib.from_numpy(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="same shape"):
        F.sigmoid_focal_loss(x, xp_lib.from_numpy(np.zeros((3, 2))))
    with pytest.raises(TypeError, match="'label' must have the same dtype"):
        F.sigmoid_focal_loss(x, xp_lib.from_numpy(np.zeros((2, 3), np.float32)))
