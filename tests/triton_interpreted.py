"""The Triton kernel run by the Triton interpreter on CPU tensors, against mpmath and the reference.

Run by ``test_triton.py`` in a fresh interpreter with ``TRITON_INTERPRET=1`` set before triton is imported
(the variable is read when ``@triton.jit`` decorates a kernel, so it cannot be set later in a process
that imported triton already). Not collected by name: ``pytest tests/triton_interpreted.py``.
"""

from __future__ import annotations

import itertools
import os

import mp_reference as mpr
import mpmath as mp
import numpy as np
import pytest
import torch

from paddlefocal._derivatives import focal_elementwise_grads
from paddlefocal._reference import focal_elementwise

if (
    os.environ.get("TRITON_INTERPRET") != "1"
):  # pragma: no cover - a direct run without the variable
    pytest.skip("needs TRITON_INTERPRET=1 before triton is imported", allow_module_level=True)

from paddlefocal.backends._triton_kernel import BLOCK, triton_kernel

ALPHA = 0.25
TINY = 1e-30
LOGITS = {
    np.float32: [0.0, TINY, 1e-8, 0.3, 1.0, 5.0, 20.0, 40.0, 89.0, 100.0],
    np.float64: [0.0, TINY, 1e-8, 0.3, 1.0, 5.0, 20.0, 40.0, 89.0, 700.0, 710.0, 740.0],
}
LABELS = [0.0, 1.0, 0.3, -100.0, 1.5, -0.2]
GAMMAS = [0.0, 0.5, 1.0, 2.0, 3.7]
#: Relative error allowed where the true value is normal, in ulps of the dtype (eps = 1 ulp at 1): the
#: power exp(g log q) amplifies the rounding of g log q by |g log q| (measured: 5 in float32, 32 in
#: float64, where log q reaches -740).
ULPS = {np.float32: 8, np.float64: 64}
#: Where the true value is subnormal, the error allowed in units of the smallest subnormal.
SUBNORMAL_UNITS = 4


def _logits(dtype):
    pos = LOGITS[dtype]
    return [*pos, *(-v for v in pos if v), np.inf, -np.inf]


def _mp_truth(x: float, y: float, gamma: float, dtype):
    """(loss, d loss / d logit) to 50 digits; None where the value is not real (q < 0, fractional
    gamma) or x is infinite with a label outside [0, 1] (the reference decides those)."""
    if y == -100.0:
        return 0.0, 0.0
    a, g = mp.mpf(ALPHA), mp.mpf(gamma)
    if np.isinf(x):
        if not 0.0 <= y <= 1.0:
            return None
        loss = mpr._loss_limit_at_infinity(x, y, ALPHA, gamma)
        return loss, mpr._limit_at_infinity(mpr.d_logit, x, mp.mpf(y), a, g)
    mx, my = mp.mpf(x), mp.mpf(y)
    _, _, _, q = mpr._pieces(mx, my)
    if q < 0 and gamma != int(gamma):
        return None
    return float(mpr.loss(mx, my, a, g)), float(mpr.d_logit(mx, my, a, g))


def _run(x: np.ndarray, y: np.ndarray, gamma: float, write_loss=True, write_grad=True):
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    loss = torch.full_like(xt, 7.0) if write_loss else None
    grad = torch.full_like(xt, 7.0) if write_grad else None
    total = triton_kernel(xt, yt, ALPHA, gamma, loss, grad)
    out = (None if loss is None else loss.numpy(), None if grad is None else grad.numpy())
    return total, *out


def _error_units(ours: np.ndarray, true: np.ndarray, dtype) -> np.ndarray:
    """The error in ulps (relative, eps units) where the true value is normal, in units of the
    smallest subnormal below; inf for a wrong sign, a nan, or a wrong infinity."""
    info = np.finfo(dtype)
    ours = ours.astype(np.float64)
    rounded = true.astype(dtype).astype(np.float64)  # a value below the dtype's range is 0 in it
    with np.errstate(all="ignore"):
        rel = np.abs(ours - true) / np.abs(true) / float(info.eps)
        sub = np.abs(ours - true) / float(info.smallest_subnormal)
    normal = np.abs(true) >= float(info.tiny)
    units = np.where(normal, rel, sub)
    units = np.where((true == ours) | (rounded == ours), 0.0, units)  # equal zeros and infinities
    wrong = (
        np.isnan(ours) | (np.sign(ours) != np.sign(rounded)) | (np.isinf(rounded) != np.isinf(ours))
    )
    return np.where(wrong, np.inf, units), normal


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_and_gradients_equal_mpmath_to_a_few_ulps(dtype):
    worst = {"loss": 0.0, "d/dlogit": 0.0, "subnormal": 0.0}
    for gamma in GAMMAS:
        points = list(itertools.product(_logits(dtype), LABELS))
        x = np.array([p[0] for p in points], dtype)
        y = np.array([p[1] for p in points], dtype)
        _, loss, grad = _run(x, y, gamma)
        with np.errstate(all="ignore"):
            ref_loss = focal_elementwise(np, x, y, ALPHA, gamma)
            ref_grad = focal_elementwise_grads(np, x, y, ALPHA, gamma).logit
        for i, (xi, yi) in enumerate(points):
            truth = _mp_truth(float(x[i]), float(y[i]), gamma, dtype)
            if truth is None:
                # Not a real number (or a limit of undecided sign): the reference's value, nan included.
                np.testing.assert_array_equal(loss[i], ref_loss[i], err_msg=f"{xi} {yi} {gamma}")
                np.testing.assert_array_equal(
                    np.isnan(grad[i]), np.isnan(ref_grad[i]), err_msg=f"{xi} {yi} {gamma}"
                )
                continue
            for name, ours, true in (("loss", loss[i], truth[0]), ("d/dlogit", grad[i], truth[1])):
                units, normal = _error_units(np.array([ours]), np.array([true]), dtype)
                key = name if normal[0] else "subnormal"
                bound = ULPS[dtype] if normal[0] else SUBNORMAL_UNITS
                assert units[0] <= bound, (
                    f"{name} at logit {xi!r} label {yi!r} gamma {gamma}: ours {ours!r}, true {true!r}"
                    f" ({units[0]:.3g} {'ulps' if normal[0] else 'subnormal units'})"
                )
                worst[key] = max(worst[key], float(units[0]))
    print(f"\nFIGURE max error vs mpmath {np.dtype(dtype).name}: {worst}")


@pytest.mark.parametrize(
    "dtype, logit, expected",
    [
        (np.float32, -89.0, 1.67e-39),
        (np.float64, -710.0, 3.36e-309),
    ],
)
def test_subnormal_loss_is_kept_not_flushed(dtype, logit, expected):
    _, loss, _ = _run(np.array([logit], dtype), np.array([0.0], dtype), 0.0)
    true = float(0.75 * mp.log1p(mp.exp(mp.mpf(logit))))
    assert loss[0] > 0 and abs(float(loss[0]) - true) <= 2 * float(
        np.finfo(dtype).smallest_subnormal
    )
    assert abs(true - expected) < 0.01 * expected


def test_tiny_normal_loss_of_a_confident_right_answer_is_kept():
    _, loss, _ = _run(np.array([20.0], np.float32), np.array([1.0], np.float32), 2.0)
    true = float(mpr.loss(mp.mpf(20), mp.mpf(1), mp.mpf(ALPHA), mp.mpf(2)))
    assert 1e-27 < true < 3e-27
    assert abs(float(loss[0]) - true) <= 8 * float(np.finfo(np.float32).eps) * true


@pytest.mark.parametrize("gamma", [0.5, 1.5, 2.5])
def test_ignore_label_gives_zero_loss_and_gradient_for_fractional_gamma(gamma):
    x = np.array([-1000.0, -20.0, -1.0, 0.0, 1.0, 20.0, np.inf, -np.inf], np.float32)
    total, loss, grad = _run(x, np.full_like(x, -100.0), gamma)
    assert (loss == 0).all() and (grad == 0).all() and float(total) == 0.0


RAGGED = 3 * 65536 + 12345


def _ragged(dtype):
    rng = np.random.default_rng(18)
    x = (rng.standard_normal(RAGGED) * 6).astype(dtype)
    y = (rng.uniform(size=RAGGED) < 0.1).astype(dtype)
    y[::5] = rng.uniform(size=y[::5].shape)
    y[::97] = -100.0
    return x, y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ragged_array_total_equals_the_float64_sum_of_the_reference(dtype):
    x, y = _ragged(dtype)
    total, loss, _ = _run(x, y, 2.0, write_grad=False)
    assert total.dtype == torch.float64 and total.shape == ()
    ref = focal_elementwise(np, x, y, ALPHA, 2.0)
    expected = float(np.sum(ref.astype(np.float64)))
    # The partial sums add the losses as the kernel rounded them into the dtype (the stored ones).
    assert abs(float(total) - float(np.sum(loss.astype(np.float64)))) <= 1e-12 * expected
    rel = abs(float(total) - expected) / expected
    bound = 1e-6 if dtype == np.float32 else 1e-13
    assert rel <= bound, rel
    # The last, partial program is summed too: its elements alone change the total.
    tail = RAGGED - (RAGGED // BLOCK) * BLOCK
    assert tail and float(np.sum(ref[-tail:].astype(np.float64))) > 0
    print(f"\nFIGURE ragged {np.dtype(dtype).name} n={RAGGED} relative total error {rel:.3g}")


def test_two_runs_are_bit_identical():
    x, y = _ragged(np.float32)
    first = _run(x, y, 0.5)
    second = _run(x, y, 0.5)
    assert first[0].numpy().tobytes() == second[0].numpy().tobytes()
    assert first[1].tobytes() == second[1].tobytes() and first[2].tobytes() == second[2].tobytes()


@pytest.mark.parametrize(
    "write_loss, write_grad", [(True, True), (True, False), (False, True), (False, False)]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_each_write_flag_writes_only_its_output_and_the_same_values(dtype, write_loss, write_grad):
    x = np.array([-3.0, -0.2, 0.0, 0.7, 4.0, 30.0, np.inf], dtype)
    y = np.array([0.0, 1.0, 0.3, -100.0, 1.0, 0.0, 1.0], dtype)
    total_all, loss_all, grad_all = _run(x, y, 1.5)
    total, loss, grad = _run(x, y, 1.5, write_loss, write_grad)
    assert float(total) == float(total_all)
    if write_loss:
        np.testing.assert_array_equal(loss, loss_all)
    if write_grad:
        np.testing.assert_array_equal(grad, grad_all)
    assert (loss is None) != write_loss and (grad is None) != write_grad


def test_an_empty_array_totals_zero():
    total, loss, grad = _run(np.empty(0, np.float32), np.empty(0, np.float32), 2.0)
    assert float(total) == 0.0 and loss.size == 0 and grad.size == 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_public_call_under_use_triton_equals_the_cpu_path(dtype, reduction):
    """``with backends.use("triton")`` on CPU tensors: the public call runs the Triton kernel (counted)
    and gives the CPU path's values and gradients, with a normalizer, soft and ignored labels, +-inf
    logits, every gamma (a negative one takes the reference formulas, also in the triton path)."""
    from paddlefocal.backends import _triton_kernel
    from paddlefocal.backends import torch as torch_path

    import paddlefocal.nn.functional as F
    from paddlefocal import backends

    ran = []
    real = _triton_kernel.triton_kernel
    torch_path._triton_kernel = lambda: lambda *a: ran.append(1) or real(*a)  # count the launches
    g = torch.Generator().manual_seed(1)
    x = (torch.randn(2000, generator=g) * 8).to(dtype)
    y = torch.rand(2000, generator=g).to(dtype)
    y[::3], y[1::7], y[2::11] = 1.0, 0.0, -100.0
    x[:4] = torch.tensor([float("inf"), float("-inf"), 30.0, -95.0])
    n = torch.tensor(3.5, dtype=dtype)
    rtol = 2e-5 if dtype == torch.float32 else 1e-12
    for gamma in (0.0, 0.5, 2.0, 3.7, -0.5):
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        want = F.sigmoid_focal_loss(xa, y, n, 0.25, gamma, reduction)
        before = len(ran)
        with backends.use("triton"):
            assert backends.path_name(x) == "triton"
            got = F.sigmoid_focal_loss(xb, y, n, 0.25, gamma, reduction)
        assert len(ran) == before + (gamma >= 0)
        torch.testing.assert_close(got, want, rtol=rtol, atol=0)
        (want.sum()).backward()
        (got.sum()).backward()
        # Where the derivative's terms cancel (near its zero) both paths keep only the terms' ulps:
        # an absolute slack of a few ulps of the largest gradient.
        slack = 4 * rtol * float(xa.grad.abs().max())
        torch.testing.assert_close(xb.grad, xa.grad, rtol=rtol * 4, atol=slack)
