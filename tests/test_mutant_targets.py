"""Tests aimed at one-line bugs the other fast tests let through (``benchmarks/mutants.py``).

Each test names the path it exercises and proves that path ran: it calls the kernel or the check
directly, or counts the calls of a spy. Expected values come from outside the code under test: the
50-digit mpmath reference (``benchmarks/mp_reference.py``), ``math.fsum`` of the per-element losses,
a division done here, or the documented rules. Tiny values are compared in ulps with their signs,
never against an absolute tolerance that a wrong sign would pass.
"""

from __future__ import annotations

import argparse
import math

import mp_reference as mpr
import mpmath as mp
import numpy as np
import pytest
from paddlefocal.backends import numpy as numpy_kernels

import paddlefocal.nn.functional as F
from paddlefocal import _driver, _validation
from paddlefocal._call import Call
from paddlefocal._derivatives import focal_elementwise_grads
from paddlefocal._reference import focal_elementwise, reference_loss

DTYPES = [np.float32, np.float64]


def mp_loss(x: float, y: float, alpha: float, gamma: float) -> float:
    """The true per-element loss, from the 50-digit reference."""
    return float(mpr.loss(mp.mpf(x), mp.mpf(y), mp.mpf(alpha), mp.mpf(gamma)))


def mp_d_logit(x: float, y: float, alpha: float, gamma: float) -> float:
    return float(mpr.d_logit(mp.mpf(x), mp.mpf(y), mp.mpf(alpha), mp.mpf(gamma)))


def assert_ulps(got, want, dtype, ulps: float, what: str = "") -> None:
    """``got`` within ``ulps`` units in the last place of ``want`` (in ``dtype``), with its sign."""
    got = np.asarray(got, np.float64).ravel()
    with np.errstate(under="ignore"):  # the true value rounded into the dtype (0 below its range)
        want = np.asarray(want, np.float64).ravel().astype(dtype).astype(np.float64)
    assert got.shape == want.shape
    assert np.all(np.sign(got) == np.sign(want)), f"{what}: signs differ: {got} vs {want}"
    unit = np.spacing(np.abs(want).astype(dtype)).astype(np.float64)
    err = np.abs(got - want) / unit
    assert np.all(err <= ulps), f"{what}: {err.max():.3g} ulps (at most {ulps}): {got} vs {want}"


def _data(n: int, dtype, seed: int = 0, soft: bool = False):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 4.0, n).astype(dtype)
    y = (rng.random(n) if soft else (rng.random(n) < 0.3)).astype(dtype)
    return x, y


# --- NumPy's log1p correction (the branch taken where log1p is not vectorized) -------------------

#: Logits whose loss is tiny for its label (a confident right answer: ce = log1p(e^-|x|) ~ e^-|x|), and
#: a few ordinary ones; the block is over 16 elements, so the ufunc kernel (not the scalar loop) runs.
TINY_CE_LOGITS = [20.0, 15.0, 17.5, 25.0, 30.0, 40.0, 60.0, 1e-8, 0.5, 3.0, 8.0, 12.0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("vectorized", [False, True])
def test_block_kernel_tiny_losses_in_ulps_with_and_without_vectorized_log1p(
    dtype, gamma, vectorized, monkeypatch
):
    # Logit 20, label 1: ce = log1p(2.06e-9) = 2.06e-9, a first-order correction of log(1 + e) = 0;
    # with the correction's sign flipped it is -2.06e-9, which atol=1e-6 cannot tell from the truth.
    monkeypatch.setattr(
        numpy_kernels, "FAST_LOG1P", frozenset({np.dtype(dtype)}) if vectorized else frozenset()
    )
    xs = np.array(TINY_CE_LOGITS, dtype)
    x = np.concatenate([xs, -xs]).astype(dtype)
    y = np.concatenate([np.ones_like(xs), np.zeros_like(xs)]).astype(dtype)
    out = np.empty_like(x)
    total = numpy_kernels.block_kernel(x, y, 0.25, gamma, out, None)
    assert total is not None, "the block is of the common case: the kernel must serve it"
    want = [mp_loss(float(a), float(b), 0.25, gamma) for a, b in zip(x, y, strict=True)]
    assert_ulps(out, want, dtype, 8, f"log1p {'vectorized' if vectorized else 'corrected'}")


# --- block sums in float64 ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_block_total_is_the_float64_sum_of_its_losses(dtype):
    x, y = _data(numpy_kernels.block_size(np.dtype(dtype)), dtype, seed=1)
    out = np.empty_like(x)
    total = numpy_kernels.block_kernel(x, y, 0.25, 2.0, out, None)
    assert total is not None
    exact = math.fsum(out.astype(np.float64).tolist())
    assert total == pytest.approx(exact, rel=1e-13, abs=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_reference_fallback_block_total_is_the_float64_sum(dtype):
    # A block the kernels decline (the ignore label): the driver's fallback sums it in float64.
    x, y = _data(5000, dtype, seed=2)
    y[::7] = -100.0
    out = np.empty_like(x)
    assert numpy_kernels.block_kernel(x, y, 0.25, 2.0, out, None) is None
    total = _driver._reference_block(np, x, y, 0.25, 2.0, out, None)
    assert total == pytest.approx(math.fsum(out.astype(np.float64).tolist()), rel=1e-13, abs=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_reference_total_is_summed_in_float64(dtype):
    x, y = _data(20000, dtype, seed=3)
    per_element = focal_elementwise(np, x, y, 0.25, 2.0)
    got = reference_loss(Call(x, y, None, 0.25, 2.0, "sum", np))
    want = np.asarray(math.fsum(per_element.astype(np.float64).tolist()), dtype)
    assert_ulps(got, want, dtype, 0.5, "reference sum")


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_reference_total_that_overflows_float32_is_kept_when_its_quotient_fits(reduction):
    # 400 losses of 1.25e36 add up to 5e38, past float32's 3.4e38; over the normalizer 10 (and for
    # 'mean' over 400 too) the result is finite. The reference path: alpha given as a 0-D array.
    x = np.full(400, -5e36, np.float32)
    y = np.ones_like(x)
    norm = np.asarray(10.0, np.float32)
    per_element = focal_elementwise(np, x, y, 0.25, 2.0)
    assert np.all(per_element == np.float32(1.25e36))
    want = np.asarray(400 * 1.25e36 / 10 / (400 if reduction == "mean" else 1), np.float32)
    got = reference_loss(Call(x, y, norm, 0.25, 2.0, reduction, np))
    assert_ulps(got, want, np.float32, 1, "reference")
    assert_ulps(
        F.sigmoid_focal_loss(x, y, norm, np.asarray(0.25, np.float32), 2.0, reduction),
        want,
        np.float32,
        1,
        "0-D alpha",
    )


# --- the reduction: divided in float64, then rounded once ----------------------------------------


def _rounded_once(losses: np.ndarray, divisor: float, dtype) -> np.ndarray:
    return np.asarray(math.fsum(losses.astype(np.float64).tolist()) / divisor, dtype)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_numpy_total_is_divided_before_its_rounding(reduction):
    # Rounding the total first is at most an ulp off, and not in every case: 24 cases show it.
    dtype = np.float32
    for seed in range(24):
        x, y = _data(300 + seed, dtype, seed=seed)
        norm = np.asarray(3.0 + seed, dtype)
        losses = F.sigmoid_focal_loss(x, y, None, 0.25, 2.0, "none")
        divisor = float(norm) * (x.size if reduction == "mean" else 1)
        got = F.sigmoid_focal_loss(x, y, norm, 0.25, 2.0, reduction)
        assert got == _rounded_once(losses, divisor, dtype), seed


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_torch_total_is_divided_before_its_rounding(reduction):
    torch = pytest.importorskip("torch")
    dtype = np.float32
    for seed in range(24):
        x, y = _data(300 + seed, dtype, seed=seed)
        norm = np.asarray(3.0 + seed, dtype)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        losses = F.sigmoid_focal_loss(xt, yt, None, 0.25, 2.0, "none").numpy()
        divisor = float(norm) * (x.size if reduction == "mean" else 1)
        got = F.sigmoid_focal_loss(xt, yt, torch.from_numpy(norm), 0.25, 2.0, reduction)
        assert got.numpy() == _rounded_once(losses, divisor, dtype), seed


# --- torch's CPU path over more than one block ------------------------------------------------------


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_torch_cpu_path_over_three_blocks_counts_and_reduces(reduction, monkeypatch):
    torch = pytest.importorskip("torch")
    from paddlefocal.backends import torch as torch_path

    served = []
    kernel = torch_path.cpu_kernel

    def counted(x, y, alpha, gamma, loss, dlogit):
        served.append(x.shape[0])
        return kernel(x, y, alpha, gamma, loss, dlogit)

    monkeypatch.setattr(torch_path, "cpu_kernel", counted)
    block = numpy_kernels.block_size(np.dtype(np.float64))
    n = 2 * block + 5
    x, y = _data(n, np.float64, seed=4)
    got = F.sigmoid_focal_loss(torch.from_numpy(x), torch.from_numpy(y), None, 0.25, 2.0, reduction)
    assert served == [block, block, 5]
    losses = focal_elementwise(np, x, y, 0.25, 2.0)
    exact = math.fsum(losses.tolist()) / (n if reduction == "mean" else 1)
    assert float(got) == pytest.approx(exact, rel=1e-14, abs=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_cpu_kernel_sums_in_float64_and_fills_both_outputs(dtype):
    torch = pytest.importorskip("torch")
    from paddlefocal.backends._torch_kernels import cpu_kernel

    x, y = _data(numpy_kernels.block_size(np.dtype(dtype)), dtype, seed=5)  # one whole block
    xt = torch.from_numpy(x).requires_grad_()  # a leaf that requires grad: the kernel detaches it
    out, grad = torch.empty(x.size, dtype=xt.dtype), torch.empty(x.size, dtype=xt.dtype)
    total = cpu_kernel(xt, torch.from_numpy(y), 0.25, 2.0, out, grad)
    assert type(total) is float
    assert total == pytest.approx(math.fsum(out.double().tolist()), rel=1e-13, abs=0)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out.numpy(), focal_elementwise(np, x, y, 0.25, 2.0), rtol=rtol)
    want = focal_elementwise_grads(np, x, y, 0.25, 2.0).logit
    np.testing.assert_allclose(
        grad.numpy(), want, rtol=4 * rtol, atol=4 * rtol * np.abs(want).max()
    )


# --- the NumPy block kernel's gradient (torch's CPU kernel) ----------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("soft", [False, True])
def test_block_kernel_accuracy_in_ulps_for_confident_logits(dtype, soft):
    # ce ~ |x| + e^-|x| for confident wrong answers, and e^-|x| for confident right ones.
    logits = [21.0, 23.0, 25.0, 30.0, 35.0, 39.0, 45.0, 79.0]
    x = np.array(logits + [-v for v in logits], dtype)
    y = np.zeros_like(x)
    y[len(logits) :] = 1.0
    if soft:
        x = np.concatenate([x, [0.3]]).astype(dtype)
        y = np.concatenate([y, [0.5]]).astype(dtype)
    out, grad = np.empty_like(x), np.empty_like(x)
    assert numpy_kernels.block_kernel(x, y, 0.25, 0.0, out, grad) is not None
    args = list(zip(x.tolist(), y.tolist(), strict=True))
    assert_ulps(out, [mp_loss(a, b, 0.25, 0.0) for a, b in args], dtype, 4, "block loss")
    assert_ulps(grad, [mp_d_logit(a, b, 0.25, 0.0) for a, b in args], dtype, 8, "block grad")


def test_block_kernel_with_a_gradient_accepts_the_common_case_up_to_the_limits():
    for dtype, limit in ((np.float32, 80.0), (np.float64, 700.0)):
        x = np.array([-limit, -0.5 * limit, 0.0, 0.5 * limit, limit], dtype)
        hard = np.array([0.0, 1.0, 0.0, 1.0, 1.0], dtype)
        for y in (hard, np.full_like(x, 0.5)):
            out, grad = np.empty_like(x), np.empty_like(x)
            assert numpy_kernels.block_kernel(x, y, 0.25, 2.0, out, grad) is not None
            assert np.isfinite(grad).all()
        out, grad = np.empty_like(x), np.empty_like(x)
        ignored = np.full_like(x, -100.0)
        assert numpy_kernels.block_kernel(x, ignored, 0.25, 2.0, out, grad) is None


@pytest.mark.parametrize("alpha", [-0.5, 1.5])
@pytest.mark.parametrize("dtype", DTYPES)
def test_block_kernel_hard_labels_with_alpha_outside_0_1(alpha, dtype):
    x = np.array([-3.0, -1.0, 0.5, 2.0, 4.0, -2.0], dtype)
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.0], dtype)
    out, grad = np.empty_like(x), np.empty_like(x)
    assert numpy_kernels.block_kernel(x, y, alpha, 2.0, out, grad) is not None
    args = list(zip(x.tolist(), y.tolist(), strict=True))
    assert_ulps(out, [mp_loss(a, b, alpha, 2.0) for a, b in args], dtype, 8, "loss")
    assert_ulps(grad, [mp_d_logit(a, b, alpha, 2.0) for a, b in args], dtype, 16, "grad")


@pytest.mark.parametrize("dtype", DTYPES)
def test_block_kernel_gradient_near_zero_against_a_soft_label(dtype):
    # d ce / dx = sigmoid(x) - 1/2 for the label 1/2: from sigmoid(x), rounded near 1/2, a tiny logit
    # would lose every digit; the block takes 0.5 tanh(x/2) there.
    x = np.array([1e-6, -3e-4, 0.01, 0.2, -0.45, 0.9, 1.5, -3.0], dtype)
    y = np.full_like(x, 0.5)
    for gamma in (0.0, 2.0):
        out, grad = np.empty_like(x), np.empty_like(x)
        assert numpy_kernels.block_kernel(x, y, 0.25, gamma, out, grad) is not None
        want = [mp_d_logit(a, 0.5, 0.25, gamma) for a in x.tolist()]
        assert_ulps(grad, want, dtype, 16, f"block d/dlogit, gamma {gamma}")


def test_branch_free_kernel_float64_gradient_near_zero_against_a_soft_label():
    # d ce / dx = sigmoid(x) - 1/2 for the label 1/2: the series of tanh(x/2)/2 holds 1e-14 only
    # within |x| < 0.125 in float64.
    torch = pytest.importorskip("torch")
    from paddlefocal.backends._torch_kernels import branch_free_kernel

    x = np.array([0.12, 0.2, 0.3, 0.45, -0.3, 1e-6], np.float64)
    y = np.full_like(x, 0.5)
    out, grad = torch.empty(x.size, dtype=torch.float64), torch.empty(x.size, dtype=torch.float64)
    branch_free_kernel(torch.from_numpy(x), torch.from_numpy(y), 0.25, 0.0, out, grad)
    want = [mp_d_logit(a, 0.5, 0.25, 0.0) for a in x.tolist()]
    assert_ulps(grad.numpy(), want, np.float64, 64, "branch-free d/dlogit")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 2.5])
def test_branch_free_kernel_ignore_label_mixed_with_kept_elements(dtype, gamma):
    # The branch-free kernel (torch.compile, GPUs without Triton), called directly: an ignored element
    # adds exactly 0 to the loss, the total and the gradient; the others keep their values.
    torch = pytest.importorskip("torch")
    from paddlefocal.backends._torch_kernels import branch_free_kernel

    x = np.array([-30.0, -2.0, -0.5, 0.0, 0.7, 3.0, 30.0, 100.0], dtype)
    y = np.array([-100.0, 1.0, -100.0, 0.0, -100.0, 0.25, -100.0, 1.0], dtype)
    out, grad = torch.empty(x.size, dtype=torch.from_numpy(x).dtype), torch.empty(x.size)
    grad = grad.to(out.dtype)
    total = branch_free_kernel(torch.from_numpy(x), torch.from_numpy(y), 0.25, gamma, out, grad)
    ignored = y == -100.0
    assert (out.numpy()[ignored] == 0).all() and (grad.numpy()[ignored] == 0).all()
    kept = ~ignored
    want = [
        mp_loss(a, b, 0.25, gamma) for a, b in zip(x[kept].tolist(), y[kept].tolist(), strict=True)
    ]
    assert_ulps(out.numpy()[kept], want, dtype, 16, "kept losses")
    assert float(total) == pytest.approx(math.fsum(out.double().tolist()), rel=1e-14, abs=0)


# --- the NumPy kernels' predicates and paths ------------------------------------------------------


def _spy(monkeypatch, module, name):
    calls = []
    real = getattr(module, name)

    def spy(x, *args):
        result = real(x, *args)
        calls.append((x.shape[0], result is not None))
        return result

    monkeypatch.setattr(module, name, spy)
    return calls


@pytest.mark.parametrize("n", [numpy_kernels.TINY, numpy_kernels.TINY + 1])
def test_numpy_tiny_loop_up_to_16_elements_then_the_ufuncs(n, monkeypatch):
    tiny = _spy(monkeypatch, numpy_kernels, "tiny_kernel")
    block = _spy(monkeypatch, numpy_kernels, "block_kernel")
    x, y = _data(n, np.float64, seed=6)
    got = F.sigmoid_focal_loss(x, y, None, 0.25, 2.0, "sum")
    small = n <= 16
    assert (tiny, block) == (([(n, True)], []) if small else ([], [(n, True)]))
    want = math.fsum(mp_loss(a, b, 0.25, 2.0) for a, b in zip(x.tolist(), y.tolist(), strict=True))
    assert_ulps(got, want, np.float64, 2, "sum")


@pytest.mark.parametrize("gamma", [0.0, 1.0, 0.5, 2.0])
def test_numpy_block_kernel_serves_hard_labels_and_every_gamma(gamma, monkeypatch):
    block = _spy(monkeypatch, numpy_kernels, "block_kernel")
    x, y = _data(100, np.float64, seed=7)
    y[0], y[1] = 1.0, 0.0
    F.sigmoid_focal_loss(x, y, None, 0.25, gamma, "sum")
    assert block == [(100, True)], "a block of hard labels is the kernel's, also for gamma 0"


@pytest.mark.parametrize(
    ("dtype", "logit"), [(np.float32, -88.0), (np.float32, 88.5), (np.float64, -709.0)]
)
def test_numpy_block_kernel_declines_a_subnormal_exp(dtype, logit):
    x, y = _data(64, dtype, seed=8)
    x[3] = logit
    assert numpy_kernels.block_kernel(x, y, 0.25, 2.0, np.empty_like(x), None) is None
    x[3] = 0.9 * logit  # a normal exp(-|x|): served
    assert numpy_kernels.block_kernel(x, y, 0.25, 2.0, np.empty_like(x), None) is not None


# --- the reference --------------------------------------------------------------------------------


@pytest.mark.parametrize("logit", [6.0, 8.0, 10.0, 11.0, -7.0, -9.5])
def test_reference_negative_gamma_confident_side_in_ulps(logit):
    # gamma < 0 on the confident side: log1p(t) / t from its series only where t = e^-|x| < 1e-5.
    y = 1.0 if logit > 0 else 0.0
    x, lab = np.array([logit]), np.array([y])
    for gamma in (-0.5, -1.5):
        got = focal_elementwise(np, x, lab, 0.25, gamma)
        assert_ulps(got, [mp_loss(logit, y, 0.25, gamma)], np.float64, 8, f"gamma {gamma}")


# --- torch's forward mode: the normalizer's tangent -----------------------------------------------


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_torch_jvp_of_the_normalizer_is_minus_the_loss_over_its_square(reduction):
    torch = pytest.importorskip("torch")
    x, y = _data(40, np.float64, seed=9)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    norm = torch.tensor(2.5, dtype=torch.float64)

    def f(n):
        return F.sigmoid_focal_loss(xt, yt, n, 0.25, 2.0, reduction)

    value, tangent = torch.func.jvp(f, (norm,), (torch.ones_like(norm),))
    want = -value.numpy() / 2.5
    assert np.all(tangent.numpy() <= 0)
    np.testing.assert_allclose(tangent.numpy(), want, rtol=1e-12, atol=0)
    # The same through forward AD (the Function's jvp), and backward's d / d normalizer.
    import torch.autograd.forward_ad as fwad

    with fwad.dual_level():
        dual = fwad.make_dual(norm, torch.ones_like(norm))
        t = fwad.unpack_dual(f(dual)).tangent
    np.testing.assert_allclose(t.numpy(), want, rtol=1e-12, atol=0)
    leaf = norm.clone().requires_grad_()
    f(leaf).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), want.sum(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("requires", ["logit", "logit and label"])
def test_torch_logit_gradient_carries_the_reductions_and_normalizers_scale(reduction, requires):
    # Only the logit: the kernel's saved gradient, scaled by the driver; with the label too: the
    # backward's written-out derivatives. Both against the 50-digit derivative, scaled here.
    torch = pytest.importorskip("torch")
    x, y = _data(30, np.float64, seed=12, soft=True)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.tensor(y, requires_grad=requires != "logit")
    norm = torch.tensor(4.0, dtype=torch.float64)
    F.sigmoid_focal_loss(xt, yt, norm, 0.25, 2.0, reduction).backward()
    scale = (1.0 / x.size if reduction == "mean" else 1.0) / 4.0
    want = [
        scale * mp_d_logit(a, b, 0.25, 2.0) for a, b in zip(x.tolist(), y.tolist(), strict=True)
    ]
    assert_ulps(xt.grad.numpy(), want, np.float64, 64, f"d/dlogit ({requires})")


# --- validation: bounds, the normalizer's dtype and device ----------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("argname", ["alpha", "gamma"])
def test_a_0d_array_at_the_bound_passes_like_the_same_float(dtype, argname):
    limit = float(np.finfo(dtype).max) / 2
    x, y = np.zeros(3, dtype), np.zeros(3, dtype)
    # The bound, as documented: half the largest number of logit's dtype.
    for value in (limit, np.asarray(limit, dtype), -limit, np.asarray(-limit, dtype)):
        F.sigmoid_focal_loss(x, y, **{argname: value})
    over = float(np.nextafter(np.asarray(limit, dtype), np.asarray(np.inf, dtype)))
    for value in (over, np.asarray(over, dtype), 0.75 * float(np.finfo(dtype).max)):
        with pytest.raises(ValueError, match=f"'{argname}' must be finite in logit's dtype"):
            F.sigmoid_focal_loss(x, y, **{argname: value})


@pytest.mark.skipif(
    np.finfo(np.longdouble).bits == 64, reason="longdouble is float64 on this platform"
)
def test_a_longdouble_normalizer_is_refused():
    x = np.zeros(3, np.float32)
    for shape in ((), (1,)):
        with pytest.raises(TypeError, match="'normalizer' must have dtype float32 or float64"):
            F.sigmoid_focal_loss(x, x, normalizer=np.ones(shape, np.longdouble))


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("norm_dtype", [np.float16, np.float64])
def test_the_normalizer_is_cast_to_logits_dtype_before_each_element_is_divided(lib, norm_dtype):
    # Documented: the normalizer "is cast to logit's dtype": 'none' divides each element by that.
    x, y = _data(200, np.float32, seed=10)
    value = np.asarray(0.1, norm_dtype)
    cast = np.float32(value)
    if lib == "torch":
        torch = pytest.importorskip("torch")
        x, y, value = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(value)
    want = np.asarray(F.sigmoid_focal_loss(x, y, None, 0.25, 2.0, "none")) / cast
    got = np.asarray(F.sigmoid_focal_loss(x, y, value, 0.25, 2.0, "none"))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)


def test_a_meta_normalizer_is_refused_after_a_first_torch_call():
    torch = pytest.importorskip("torch")
    x = torch.zeros(2, 3)
    F.sigmoid_focal_loss(x, x, torch.tensor(2.0))  # the torch kind is known from here on
    for shape in ((), (1,)):
        with pytest.raises(ValueError, match="'normalizer' is on torch's 'meta' device"):
            F.sigmoid_focal_loss(x, x, torch.ones(shape, device="meta"))


def test_an_integer_normalizer_of_shape_1_is_refused_and_0d_accepted():
    x = np.ones(3, np.float32)
    F.sigmoid_focal_loss(x, x, normalizer=np.asarray(2, np.int64))
    with pytest.raises(TypeError, match="must have a floating dtype"):
        F.sigmoid_focal_loss(x, x, normalizer=np.ones(1, np.int64))


def test_validation_limits_are_half_the_largest_number():
    x = np.zeros(3, np.float32)
    half = float(np.finfo(np.float32).max) / 2  # a float32 number itself
    above = float(np.nextafter(np.float32(half), np.float32(np.inf)))
    for value in (half, -half, np.asarray(half, np.float32)):
        _validation.validate(x, x, None, value, 2.0, "sum")
    for value in (above, -above, np.asarray(above, np.float32)):
        with pytest.raises(ValueError, match="at most"):
            _validation.validate(x, x, None, value, 2.0, "sum")


# --- the command line -----------------------------------------------------------------------------


def test_bench_options_take_the_largest_size(tmp_path):
    from paddlefocal._cli.bench import options
    from paddlefocal._cli.main import MAX_LOG2N

    assert MAX_LOG2N == 30
    args = argparse.Namespace(
        min_log2n=30,
        max_log2n=30,
        step=1,
        budget=1.0,
        out=str(tmp_path / "b"),
        dtype=None,
        no_paddle=True,
        no_compile=True,
    )
    assert options(args, MAX_LOG2N)["log2ns"] == [30]


# --- a zero normalizer, signed -------------------------------------------------------------------


@pytest.mark.parametrize("zero", [0.0, -0.0])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_a_signed_zero_normalizer_gives_paddles_signed_infinity(zero, reduction, paddle):
    from helpers import paddle_loss

    x, y = (a.reshape(4, 5) for a in _data(20, np.float32, seed=11))  # Paddle fails on 1-D input
    norm = np.asarray(zero, np.float32)
    want = paddle_loss(x, y, norm, 0.25, 2.0, reduction)
    assert np.isinf(want) and np.signbit(want) == np.signbit(norm)
    with np.errstate(all="raise"):  # the caller's error state does not matter
        got = F.sigmoid_focal_loss(x, y, norm, 0.25, 2.0, reduction)
    np.testing.assert_array_equal(got, want)
    torch = pytest.importorskip("torch")
    t = F.sigmoid_focal_loss(torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(norm))
    assert float(t) == float(paddle_loss(x, y, norm)) == math.copysign(math.inf, zero)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.0])
@pytest.mark.parametrize("labels", ["hard", "soft"])
def test_block_kernel_gradient_against_mpmath(dtype, gamma, labels):
    # The kernel called directly on a block of one kind; the error allowed is a few ulps of the
    # derivative's terms (their sum cancels near its zero), so a wrong sign or factor shows.
    x = np.array([-6.0, -3.0, -1.0, -0.2, 0.4, 2.0, 5.0, 9.0], dtype)
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0] if labels == "hard" else
                 [0.25, 0.9, 0.5, 0.1, 0.75, 0.3, 0.6, 0.05], dtype)  # fmt: skip
    out, grad = np.empty_like(x), np.empty_like(x)
    assert numpy_kernels.block_kernel(x, y, 0.25, gamma, out, grad) is not None
    eps = float(np.finfo(dtype).eps)
    for a, b, g in zip(x.tolist(), y.tolist(), grad.tolist(), strict=True):
        args = (mp.mpf(a), mp.mpf(b), mp.mpf(0.25), mp.mpf(gamma))
        true = float(mpr.d_logit(*args))
        scale = float(mpr.term_scale(mpr.d_logit_terms, *args))
        assert abs(g - true) <= 32 * eps * scale, (a, b, g, true)


def test_mutation_catalogue_matches_the_code():
    """Each mutant's original line occurs exactly once: a change that moves one shows here, not in a
    mutation run an hour later."""
    import mutants  # benchmarks/mutants.py, importable through pytest's pythonpath

    mutants.check(mutants.CATALOGUE)
    assert len(mutants.CATALOGUE) >= 40
