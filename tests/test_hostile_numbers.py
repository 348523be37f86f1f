"""Wrong numbers under odd but real conditions: subnormal losses, totals that overflow before their
division, calls re-entered from a signal handler, the ignore label under a fractional gamma, and
arithmetic under the caller's ``np.errstate``. Expected values come from mpmath, Paddle or the docs."""

from __future__ import annotations

import signal
import threading

import mpmath as mp
import numpy as np
import pytest
from helpers import lib, paddle_loss

import paddlefocal.nn.functional as F


def _subnormal_loss(x: float, dtype) -> float:
    """(1 - alpha) log(1 + e^x) for label 0, gamma 0, alpha 0.25, rounded into ``dtype``."""
    with mp.workdps(50):
        return float(dtype(float(0.75 * mp.log1p(mp.exp(mp.mpf(x))))))


@pytest.mark.parametrize("name", ["numpy", "torch", "dask"])
@pytest.mark.parametrize(("dtype", "x"), [(np.float32, -89.0), (np.float64, -710.0)])
@pytest.mark.parametrize("n", [16, 17, 40_000])
def test_subnormal_losses_are_kept_at_every_size(name, dtype, x, n):
    pytest.importorskip(name)
    lib_ = lib(name)
    logit, label = np.full(n, x, dtype), np.zeros(n, dtype)
    each = _subnormal_loss(x, dtype)
    assert 0 < each < np.finfo(dtype).smallest_normal  # the premise: a subnormal loss
    none = lib_.to_numpy(
        F.sigmoid_focal_loss(
            lib_.from_numpy(logit), lib_.from_numpy(label), None, 0.25, 0.0, "none"
        )
    )
    # Within two units of the smallest subnormal (e^x is one rounding, the product another).
    assert (np.abs(none.astype(np.float64) - each) <= 2 * np.finfo(dtype).smallest_subnormal).all()
    assert (none > 0).all()
    total = lib_.to_numpy(
        F.sigmoid_focal_loss(lib_.from_numpy(logit), lib_.from_numpy(label), None, 0.25, 0.0, "sum")
    )
    with mp.workdps(50):
        true = float(n * 0.75 * mp.log1p(mp.exp(mp.mpf(x))))
    # float32: 40,000 of them add to 6.68e-35, a normal number, within a few ulps.
    assert abs(float(total) - true) <= max(4 * np.finfo(dtype).eps * true, n * 2.0**-149)
    assert float(total) > 0


@pytest.mark.parametrize("name", ["numpy", "torch", "jax"])
def test_total_is_divided_before_it_is_rounded(name):
    """200 losses of 2.5e36 add to 5e38 (beyond float32), over 10: 5e37, as in Paddle and the README's
    order (Out / normalizer, then sum)."""
    pytest.importorskip(name)
    if name == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)  # float64 accumulation needs it in JAX
    lib_ = lib(name)
    logit, label = np.full((1, 200), -1e37, np.float32), np.ones((1, 200), np.float32)
    norm = np.asarray(10.0, np.float32)
    want = paddle_loss(logit, label, norm, 0.25, 2.0, "sum")
    assert np.isclose(want, 5e37, rtol=1e-6)
    for reduction, expected in (("sum", 5e37), ("mean", 2.5e35)):
        got = F.sigmoid_focal_loss(
            lib_.from_numpy(logit),
            lib_.from_numpy(label),
            lib_.from_numpy(norm),
            0.25,
            2.0,
            reduction,
        )
        assert np.isclose(float(lib_.to_numpy(got)), expected, rtol=1e-6), (reduction, got)


def test_numpy_call_from_a_signal_handler_mid_block_is_right():
    """A call re-entered from a signal handler while another call is inside its blocks gets scratch
    buffers of its own: both results are exact."""
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        pytest.skip("needs setitimer on the main thread")
    rng = np.random.default_rng(3)
    outer_x = rng.normal(0, 3, 200_000).astype(np.float32)
    outer_y = (rng.random(200_000) < 0.2).astype(np.float32)
    inner_x = rng.normal(0, 3, 70_000).astype(np.float32)
    inner_y = (rng.random(70_000) < 0.5).astype(np.float32)
    import paddlefocal

    previous = paddlefocal.get_num_threads()
    paddlefocal.set_num_threads(1)
    try:
        want_outer = F.sigmoid_focal_loss(outer_x, outer_y, reduction="none")
        want_inner = F.sigmoid_focal_loss(inner_x, inner_y, reduction="none")
        inner_results = []
        stopped = []

        def handler(signum, frame):
            inner_results.append(F.sigmoid_focal_loss(inner_x, inner_y, reduction="none"))
            # Python runs a handler between bytecodes, perhaps after the timer is disarmed below:
            # re-armed then, the next alarm would meet the default action and end the process.
            if not stopped:
                signal.setitimer(signal.ITIMER_REAL, 0.0007)  # the next one, once this is done

        old = signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, 0.0007)
        try:
            outer_results = [
                F.sigmoid_focal_loss(outer_x, outer_y, reduction="none") for _ in range(30)
            ]
        finally:
            stopped.append(True)
            signal.setitimer(signal.ITIMER_REAL, 0, 0)
            signal.signal(signal.SIGALRM, old)
    finally:
        paddlefocal.set_num_threads(previous)
    assert inner_results, "the handler never ran"
    for got in outer_results:
        np.testing.assert_array_equal(got, want_outer)
    for got in inner_results:
        np.testing.assert_array_equal(got, want_inner)


def test_numpy_arithmetic_under_the_callers_errstate_raise():
    """An infinite result is the answer: no FloatingPointError and no warning from our steps."""
    import warnings

    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        for n in (3, 100, 100_000):
            x, y = np.full(n, 3e38, np.float32), np.zeros(n, np.float32)
            assert np.isinf(F.sigmoid_focal_loss(x, y, reduction="sum"))
            x = np.full(n, -89.0, np.float32)
            zero = np.asarray(0.0, np.float32)
            assert np.isinf(F.sigmoid_focal_loss(x, y, zero, 0.25, 0.0, "sum"))
            assert np.isinf(F.sigmoid_focal_loss(x, y, zero, 0.25, 0.0, "none")).all()
            ignored = np.full(n, -100.0, np.float32)
            assert np.isnan(F.sigmoid_focal_loss(x, ignored, zero, 0.25, 0.5, "sum"))


def test_paddle_0d_alpha_and_gamma_get_their_gradients():
    """The README promises gradients to array alpha/gamma; for Paddle tensors as for torch."""
    paddle = pytest.importorskip("paddle")
    torch = pytest.importorskip("torch")
    x, y = np.array([0.5, -1.0, 2.0], np.float32), np.array([1.0, 0.0, 1.0], np.float32)
    pa = paddle.to_tensor(np.float32(0.25), stop_gradient=False)
    pg = paddle.to_tensor(np.float32(2.0), stop_gradient=False)
    F.sigmoid_focal_loss(paddle.to_tensor(x), paddle.to_tensor(y), alpha=pa, gamma=pg).backward()
    ta = torch.tensor(0.25, requires_grad=True)
    tg = torch.tensor(2.0, requires_grad=True)
    F.sigmoid_focal_loss(torch.tensor(x), torch.tensor(y), alpha=ta, gamma=tg).backward()
    assert pa.grad is not None and pg.grad is not None
    np.testing.assert_allclose(float(pa.grad), float(ta.grad), rtol=1e-5)
    np.testing.assert_allclose(float(pg.grad), float(tg.grad), rtol=1e-5)


def test_paddle_to_static_works_in_a_process_that_never_imported_torch():
    """``paddle.jit.to_static`` around the loss, torch never imported: the value of the eager call."""
    import subprocess
    import sys

    code = """
import sys
import numpy as np
import paddle
import paddlefocal.nn.functional as F
f = paddle.jit.to_static(lambda x, y: F.sigmoid_focal_loss(x, y))
x = paddle.to_tensor(np.array([[0.5, -1.0, 3.0]], np.float32))
y = paddle.to_tensor(np.array([[1.0, 0.0, 0.0]], np.float32))
assert "torch" not in sys.modules
print(float(f(x, y)), float(F.sigmoid_focal_loss(x, y)))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    static, eager = map(float, done.stdout.split()[-2:])
    assert static == pytest.approx(eager, rel=1e-6) and eager > 0
