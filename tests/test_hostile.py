"""Hostile input and concurrency: no mutation, odd layouts, determinism, threads and fuzzing.

The catalogue of bad calls is ``test_hostile_catalogue.py``; odd but valid inputs per argument are
``test_hostile_<argument>.py``.
"""

from __future__ import annotations

import hashlib
import threading

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from helpers import selected_libs, tol
from hypothesis import given, settings
from hypothesis import strategies as st

import paddlefocal.nn.functional as F
from paddlefocal import backends
from paddlefocal._registry import restored


def _digest(lb, *arrays):
    h = hashlib.sha256()
    for arr in arrays:
        if arr is not None:
            h.update(np.ascontiguousarray(lb.to_numpy(arr)).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("path", ["fast", "reference"])
def test_inputs_never_written(lib_, path):
    rng = np.random.default_rng(3)
    x = rng.normal(scale=8, size=(70, 600))
    x[0, :4] = [np.inf, -np.inf, 100.0, -100.0]
    y = rng.uniform(size=x.shape)
    y[1] = 1.0
    y[2, :3] = [-100.0, 1.5, 0.0]
    logit, label = lib_.from_numpy(x), lib_.from_numpy(y)
    normalizer = lib_.from_numpy(np.asarray([3.0]))
    before = _digest(lib_, logit, label, normalizer)
    import contextlib

    ctx = backends.use("reference") if path == "reference" else contextlib.nullcontext()
    with ctx, np.errstate(all="ignore"):
        for reduction in ("sum", "mean", "none"):
            F.sigmoid_focal_loss(logit, label, normalizer, 0.3, 0.5, reduction)
        if lib_.name == "torch":
            xt, yt = logit.clone().requires_grad_(), label.clone().requires_grad_()
            nt = normalizer.clone().requires_grad_()
            F.sigmoid_focal_loss(xt, yt, nt, 0.3, 0.5).backward()
            assert _digest(lib_, xt, yt, nt) == before
        if lib_.name == "jax":
            import jax

            jax.grad(lambda a, b, c: F.sigmoid_focal_loss(a, b, c), argnums=(0, 1, 2))(
                logit, label, normalizer
            )
    assert _digest(lib_, logit, label, normalizer) == before


@pytest.mark.parametrize("shape", [(0,), (0, 3), (), (1,), (5, 1, 3), (1, 1, 1)])
def test_unusual_shapes_agree_with_the_reference(lib_, shape):
    rng = np.random.default_rng(4)
    x = np.asarray(rng.normal(size=shape))
    y = np.asarray(rng.uniform(size=shape))
    for reduction in ("sum", "mean", "none"):
        got = lib_.to_numpy(
            F.sigmoid_focal_loss(lib_.from_numpy(x), lib_.from_numpy(y), reduction=reduction)
        )
        with backends.use("reference"), np.errstate(all="ignore"):
            want = F.sigmoid_focal_loss(x, y, reduction=reduction)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


@pytest.mark.slow
def test_very_long_1d_array():
    n = 2**26
    rng = np.random.default_rng(5)
    x = rng.normal(scale=4, size=n).astype(np.float32)
    y = (rng.uniform(size=n) < 0.2).astype(np.float32)
    total = F.sigmoid_focal_loss(x, y)
    parts = sum(
        float(F.sigmoid_focal_loss(x[i : i + 2**24], y[i : i + 2**24])) for i in range(0, n, 2**24)
    )
    np.testing.assert_allclose(float(total), parts, rtol=1e-6)
    none = F.sigmoid_focal_loss(x, y, reduction="none")
    idx = rng.integers(0, n, size=4096)
    with np.errstate(all="ignore"):
        from paddlefocal._reference import focal_elementwise

        want = focal_elementwise(np, x[idx], y[idx], 0.25, 2.0)
    np.testing.assert_allclose(none[idx], want, **tol(np.float32))


def test_torch_views_and_requires_grad():
    torch = pytest.importorskip("torch")
    base = torch.randn(6, 8, dtype=torch.float64, requires_grad=True)
    label = torch.rand(6, 8, dtype=torch.float64)
    view = base[1:5, ::2]
    out = F.sigmoid_focal_loss(view, label[1:5, ::2], reduction="none")
    want = F.sigmoid_focal_loss(
        view.detach().numpy().copy(), label[1:5, ::2].numpy().copy(), reduction="none"
    )
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-13)
    out.sum().backward()
    assert base.grad is not None and base.grad[0].abs().sum() == 0


def test_repeated_calls_are_bit_identical(lib_):
    rng = np.random.default_rng(6)
    x = lib_.from_numpy(rng.normal(scale=5, size=(300, 200)).astype(np.float32))
    y = lib_.from_numpy((rng.uniform(size=(300, 200)) < 0.3).astype(np.float32))
    for reduction in ("sum", "none"):
        first = lib_.to_numpy(F.sigmoid_focal_loss(x, y, reduction=reduction))
        for _ in range(3):
            np.testing.assert_array_equal(
                lib_.to_numpy(F.sigmoid_focal_loss(x, y, reduction=reduction)), first
            )


def test_threads_agree_with_single_threaded_results():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    cases = []
    for i in range(6):
        x = rng.normal(scale=4, size=(17, 29)).astype(np.float32 if i % 2 else np.float64)
        y = rng.uniform(size=x.shape).astype(x.dtype)
        reduction = ("sum", "mean", "none")[i % 3]
        as_torch = i >= 3
        cases.append(
            (
                torch.from_numpy(x) if as_torch else x,
                torch.from_numpy(y) if as_torch else y,
                reduction,
            )
        )

    def compute(case):
        x, y, reduction = case
        out = F.sigmoid_focal_loss(x, y, reduction=reduction)
        return (
            out.numpy()
            if hasattr(out, "numpy") and not isinstance(out, np.ndarray)
            else np.asarray(out)
        )

    expected = [compute(c) for c in cases]
    with restored():  # the registry's first use races too
        barrier = threading.Barrier(8)
        failures = []

        def worker(seed):
            barrier.wait()
            order = np.random.default_rng(seed).integers(0, len(cases), size=500)
            for k in order:
                got = compute(cases[k])
                if not np.array_equal(got, expected[k]):
                    failures.append((seed, int(k)))

        threads = [threading.Thread(target=worker, args=(s,)) for s in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failures == []


# --- fuzzing --------------------------------------------------------------------------------------

DOCUMENTED = (TypeError, ValueError)
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.lists(st.floats(-1, 1), max_size=3),
    st.complex_numbers(max_magnitude=2),
)


@st.composite
def calls(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int32, np.float16, np.bool_]))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    elements = st.floats(-1e4, 1e4, width=32) if dtype in (np.float32, np.float64) else None
    x = draw(hnp.arrays(dtype, shape, elements=elements))
    label_dtype = draw(st.sampled_from([dtype, dtype, np.float64]))
    label_shape = draw(st.sampled_from([shape, shape, shape, (*shape, 1)]))
    floating = np.dtype(label_dtype).kind == "f"
    y_elements = st.sampled_from([0.0, 1.0, 0.5, -100.0, 0.25]) if floating else None
    y = draw(hnp.arrays(label_dtype, label_shape, elements=y_elements))
    normalizer = draw(
        st.one_of(
            st.none(),
            st.sampled_from([(), (1,), (2,), (1, 1)]).map(lambda s: np.full(s, 2.0, dtype)),
            junk,
        )
    )
    alpha = draw(st.one_of(st.floats(-1, 2), junk))
    gamma = draw(st.one_of(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0]), junk))
    reduction = draw(st.one_of(st.sampled_from(["sum", "mean", "none"]), junk))
    return x, y, normalizer, alpha, gamma, reduction


# At least 1000 examples in CI; the nightly profile's 20,000 when it is loaded.
@settings(max_examples=max(1000, settings.default.max_examples), deadline=None)
@given(call=calls(), torch_too=st.booleans())
def test_fuzz_only_documented_errors_and_valid_calls_agree(call, torch_too):
    x, y, normalizer, alpha, gamma, reduction = call
    try:
        got = F.sigmoid_focal_loss(x, y, normalizer, alpha, gamma, reduction)
    except DOCUMENTED:
        return
    with backends.use("reference"), np.errstate(all="ignore"):
        want = F.sigmoid_focal_loss(x, y, normalizer, alpha, gamma, reduction)
    assert got.dtype == x.dtype and got.shape == want.shape
    np.testing.assert_allclose(
        got, want, rtol=tol(x.dtype)["rtol"] * 10, atol=tol(x.dtype)["atol"], equal_nan=True
    )
    if torch_too and "torch" in selected_libs():
        import torch

        t_norm = torch.from_numpy(normalizer) if isinstance(normalizer, np.ndarray) else normalizer
        out = F.sigmoid_focal_loss(
            torch.from_numpy(x), torch.from_numpy(y), t_norm, alpha, gamma, reduction
        )
        np.testing.assert_allclose(
            out.numpy(),
            want,
            rtol=tol(x.dtype)["rtol"] * 10,
            atol=tol(x.dtype)["atol"],
            equal_nan=True,
        )
