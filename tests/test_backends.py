"""Every library gets its own array type back, fast paths equal the reference, laziness and tracing."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from helpers import assert_close, lib, tol

import paddlefocal
import paddlefocal.nn.functional as F
from paddlefocal import backends


def _case(shape=(3, 4), dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    logit = np.asarray(rng.normal(scale=5, size=shape), dtype)
    label = np.asarray(rng.uniform(size=shape), dtype)
    label.reshape(-1)[::2] = 1.0
    return logit, label


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_result_is_the_callers_type_dtype_and_shape(lib_, reduction, dtype):
    logit, label = _case(dtype=dtype)
    x = lib_.from_numpy(logit)
    out = F.sigmoid_focal_loss(x, lib_.from_numpy(label), reduction=reduction)
    assert type(out) is type(x)
    assert out.dtype == x.dtype
    assert tuple(out.shape) == (logit.shape if reduction == "none" else ())


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_normalizer", [False, True])
def test_fast_path_equals_reference(lib_, reduction, dtype, with_normalizer):
    logit, label = _case(shape=(5, 7), dtype=dtype, seed=3)
    args = [lib_.from_numpy(logit), lib_.from_numpy(label)]
    n = lib_.from_numpy(np.asarray(3.0, dtype)) if with_normalizer else None
    fast = F.sigmoid_focal_loss(*args, n, 0.3, 1.5, reduction)
    with backends.use("reference"):
        reference = lib_.to_numpy(F.sigmoid_focal_loss(*args, n, 0.3, 1.5, reduction))
    assert_close(fast, reference, lib_, atol=tol(dtype)["atol"] / 100)


def test_empty_inputs(lib_):
    x = lib_.from_numpy(np.zeros((0, 3)))
    assert lib_.to_numpy(F.sigmoid_focal_loss(x, x, reduction="sum")) == 0.0
    assert np.isnan(lib_.to_numpy(F.sigmoid_focal_loss(x, x, reduction="mean")))
    assert lib_.to_numpy(F.sigmoid_focal_loss(x, x, reduction="none")).shape == (0, 3)


def test_zero_normalizer_gives_inf(lib_):
    x = lib_.from_numpy(np.ones((2, 3)))
    out = lib_.to_numpy(F.sigmoid_focal_loss(x, x * 0, normalizer=lib_.from_numpy(np.asarray(0.0))))
    assert out == np.inf


def test_path_names():
    x = np.zeros(3)
    assert backends.path_name(x) == "numpy"
    with backends.use("reference"):
        assert backends.path_name(x) == "reference"
    torch = pytest.importorskip("torch")
    assert backends.path_name(torch.zeros(3)) == "torch"
    jnp = pytest.importorskip("jax.numpy")
    assert backends.path_name(jnp.zeros(3)) == "jax"
    strict = pytest.importorskip("array_api_strict")
    assert backends.path_name(strict.zeros(3)) == "reference"


def test_use_rejects_unknown_paths_and_mismatches():
    with pytest.raises(ValueError, match="unknown path"), backends.use("fortran"):
        pass
    with backends.use("torch"), pytest.raises(ValueError, match="served by 'numpy'"):
        backends.resolve(np.zeros(3))


def test_register_a_third_party_path(registry):
    calls = []

    def fake(call):
        calls.append(call.reduction)
        return call.xp.asarray(42.0)

    class Marker(np.ndarray):
        pass

    registry.register("marker", "numpy", lambda a: isinstance(a, Marker), fake)
    x = np.zeros(2).view(Marker)
    assert float(F.sigmoid_focal_loss(x, x)) == 42.0
    assert calls == ["sum"]
    assert float(F.sigmoid_focal_loss(np.zeros(2), np.zeros(2))) != 42.0  # plain arrays unaffected


def test_dask_stays_lazy_until_computed():
    da = pytest.importorskip("dask.array")
    import dask

    logit, label = _case(shape=(64, 8))
    x = da.from_array(logit, chunks=(16, 8))
    y = da.from_array(label, chunks=(16, 8))

    def refuse(*args, **kwargs):
        raise AssertionError("the call computed something")

    with dask.config.set(scheduler=refuse):
        out = F.sigmoid_focal_loss(x, y, reduction="mean")
        none = F.sigmoid_focal_loss(x, y, reduction="none")
    assert isinstance(out, da.Array) and isinstance(none, da.Array)
    assert none.chunks == x.chunks
    np.testing.assert_allclose(
        out.compute(), F.sigmoid_focal_loss(logit, label, reduction="mean"), rtol=1e-12
    )


def test_jax_jit_vmap_grad():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    logit, label = _case(shape=(4, 6))
    x, y = jnp.asarray(logit), jnp.asarray(label)
    eager = F.sigmoid_focal_loss(x, y)
    jitted = jax.jit(lambda a, b: F.sigmoid_focal_loss(a, b))(x, y)
    np.testing.assert_allclose(jitted, eager, rtol=1e-13)
    rows = jax.vmap(lambda a, b: F.sigmoid_focal_loss(a, b))(x, y)
    np.testing.assert_allclose(
        rows, [F.sigmoid_focal_loss(logit[i], label[i]) for i in range(4)], rtol=1e-13
    )
    gx, gy = jax.jit(jax.grad(lambda a, b: F.sigmoid_focal_loss(a, b), argnums=(0, 1)))(x, y)
    torch = pytest.importorskip("torch")
    tx = torch.tensor(logit, requires_grad=True)
    ty = torch.tensor(label, requires_grad=True)
    F.sigmoid_focal_loss(tx, ty).backward()
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gy, ty.grad.numpy(), rtol=1e-12)
    n = jnp.asarray(2.0)
    gn = jax.grad(lambda n_: F.sigmoid_focal_loss(x, y, normalizer=n_))(n)
    np.testing.assert_allclose(gn, -float(F.sigmoid_focal_loss(logit, label)) / 4.0, rtol=1e-12)


def test_jax_float32():
    jnp = pytest.importorskip("jax.numpy")
    logit, label = _case(dtype=np.float32)
    out = F.sigmoid_focal_loss(jnp.asarray(logit), jnp.asarray(label))
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, F.sigmoid_focal_loss(logit, label), rtol=1e-5)


def test_torch_gradients_reach_logit_label_normalizer_alpha_gamma():
    torch = pytest.importorskip("torch")
    logit, label = _case(shape=(3, 3))
    args = [
        torch.tensor(v, dtype=torch.float64, requires_grad=True)
        for v in (logit, label, 2.0, 0.3, 1.7)
    ]
    assert torch.autograd.gradcheck(lambda *a: F.sigmoid_focal_loss(*a, reduction="mean"), args)


def test_torch_no_grad_and_noncontiguous():
    torch = pytest.importorskip("torch")
    logit, label = _case(shape=(6, 8))
    x = torch.tensor(logit).t()
    y = torch.tensor(label).t()
    assert not x.is_contiguous()
    with torch.no_grad():
        out = F.sigmoid_focal_loss(x, y, reduction="none")
    np.testing.assert_allclose(
        out.numpy(), F.sigmoid_focal_loss(logit.T, label.T, reduction="none"), rtol=1e-13
    )


def test_importing_and_using_paddlefocal_on_numpy_imports_no_framework():
    code = (
        "import sys, numpy as np, paddlefocal\n"
        "paddlefocal.sigmoid_focal_loss(np.zeros((2, 3)), np.ones((2, 3)))\n"
        "bad = [m for m in ('torch', 'jax', 'dask', 'cupy', 'paddle', 'array_api_strict') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_version_is_exposed():
    assert paddlefocal.__version__.count(".") == 2
    assert set(paddlefocal.__all__) == {
        "InvalidArgumentError",
        "__version__",
        "get_num_threads",
        "nn",
        "set_num_threads",
        "sigmoid_focal_loss",
    }


@pytest.mark.parametrize("name", ["numpy", "torch"])
def test_inputs_are_not_modified(name):
    if name == "torch":
        pytest.importorskip("torch")
    lb = lib(name)
    logit, label = _case(shape=(4, 5))
    x, y = lb.from_numpy(logit.copy()), lb.from_numpy(label.copy())
    n = lb.from_numpy(np.asarray([2.0]))
    for reduction in ("sum", "mean", "none"):
        F.sigmoid_focal_loss(x, y, n, reduction=reduction)
    np.testing.assert_array_equal(lb.to_numpy(x), logit)
    np.testing.assert_array_equal(lb.to_numpy(y), label)
    np.testing.assert_array_equal(lb.to_numpy(n), [2.0])


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        (np.zeros(1, np.float32), np.zeros((), np.float32)),  # [1] is not 0-D
        (np.zeros((), np.float64), np.zeros((), np.float32)),  # dtype
        (np.ones((), np.float32), np.zeros((), np.float32)),  # value
        ([0.0], np.zeros(1)),  # not an array of the library
    ],
)
def test_assert_close_catches_library_dtype_shape_and_value(actual, expected):
    with pytest.raises(AssertionError):
        assert_close(actual, expected, lib("numpy"))
