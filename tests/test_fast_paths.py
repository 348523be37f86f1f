"""The fused NumPy and torch paths against the reference, across blocks, layouts and edge elements."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from helpers import tol

import paddlefocal.nn.functional as F
from paddlefocal import backends
from paddlefocal._derivatives import focal_elementwise_grads
from paddlefocal._reference import focal_elementwise

NP_BLOCK = 1 << 14
EDGES = [np.inf, -np.inf, 200.0, -200.0, 95.0, -95.0, 0.0, 1e-8]


def _data(n, dtype, seed=0, edges=True):
    """Random logits and labels over several blocks; one block holds the edge cases."""
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=6, size=n)
    y = rng.uniform(size=n)
    y[::3] = 1.0
    y[1::3] = 0.0
    if edges:
        k = len(EDGES)
        x[5 : 5 + k] = EDGES
        x[5 + k : 5 + 2 * k] = EDGES
        y[5 + k : 5 + 2 * k] = 1.0 - y[5 : 5 + k].round()
        y[40] = -100.0
        y[41] = 1.5
    return x.astype(dtype), y.astype(dtype)


def _digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 3.7])
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_numpy_fused_equals_reference_across_blocks(dtype, gamma, reduction):
    x, y = _data(3 * NP_BLOCK + 17, dtype)
    n = np.asarray([2.5], dtype)
    before = _digest(x, y, n)
    fast = F.sigmoid_focal_loss(x, y, n, 0.3, gamma, reduction)
    with backends.use("reference"), np.errstate(all="ignore"):
        reference = F.sigmoid_focal_loss(x, y, n, 0.3, gamma, reduction)
    assert _digest(x, y, n) == before
    assert fast.dtype == dtype and fast.shape == reference.shape
    # Sums: per-block float64 accumulation against one pairwise float sum.
    t = tol(dtype) if reduction == "none" else {"rtol": 10 * tol(dtype)["rtol"], "atol": 0}
    np.testing.assert_allclose(fast, reference, equal_nan=True, **t)


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a.T,
        lambda a: np.asfortranarray(a),
        lambda a: a[::-1, ::2],
        lambda a: a[:, 1:5],
    ],
    ids=["transposed", "fortran", "negative-stride", "sliced"],
)
def test_numpy_layouts_agree_with_contiguous(make):
    x, y = _data(64 * 9, np.float64, edges=False)
    x, y = x.reshape(64, 9), y.reshape(64, 9)
    xv, yv = make(x), make(y)
    for reduction in ("sum", "none"):
        got = F.sigmoid_focal_loss(xv, yv, reduction=reduction)
        want = F.sigmoid_focal_loss(
            np.ascontiguousarray(xv), np.ascontiguousarray(yv), reduction=reduction
        )
        np.testing.assert_array_equal(got, want)


def test_numpy_mixed_layouts():
    x, y = _data(64 * 9, np.float64, edges=False)
    x, y = x.reshape(64, 9), y.reshape(64, 9)
    got = F.sigmoid_focal_loss(x, np.asfortranarray(y), reduction="none")
    np.testing.assert_array_equal(got, F.sigmoid_focal_loss(x, y, reduction="none"))


def test_numpy_read_only_inputs():
    x, y = _data(1000, np.float32)
    x.flags.writeable = False
    y.flags.writeable = False
    np.testing.assert_array_equal(
        F.sigmoid_focal_loss(x, y), F.sigmoid_focal_loss(x.copy(), y.copy())
    )


def _torch_fast_grads(torch, x, y, n, alpha, gamma, reduction):
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.tensor(y, requires_grad=True)
    nt = torch.tensor(n, requires_grad=True)
    out = F.sigmoid_focal_loss(xt, yt, nt, alpha, gamma, reduction)
    (out.sum() if reduction == "none" else out).backward()
    return out.detach().numpy(), xt.grad.numpy(), yt.grad.numpy(), nt.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.7])
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_torch_fused_equals_reference_values_and_gradients(dtype, gamma, reduction):
    torch = pytest.importorskip("torch")
    from paddlefocal.backends.numpy import block_size

    x, y = _data(2 * block_size(np.dtype(dtype)) + 9, dtype)
    n = np.asarray(2.5, dtype)
    before = _digest(x, y, n)
    out, gx, gy, gn = _torch_fast_grads(torch, x, y, n, 0.3, gamma, reduction)
    assert _digest(x, y, n) == before
    # The reference, in float64 numpy on the same (rounded) inputs, is the oracle.
    with np.errstate(all="ignore"):
        x64, y64 = x.astype(np.float64), y.astype(np.float64)
        loss = focal_elementwise(np, x64, y64, 0.3, gamma)
        grads = focal_elementwise_grads(np, x64, y64, 0.3, gamma)
    scale = {"sum": 1.0, "mean": 1.0 / x.size, "none": 1.0}[reduction] / 2.5
    expected = {"sum": loss.sum(), "mean": loss.mean(), "none": loss}[reduction] / 2.5
    t = tol(dtype)
    np.testing.assert_allclose(out, expected, rtol=10 * t["rtol"], atol=t["atol"], equal_nan=True)
    eps = np.finfo(dtype).eps
    # Gradients: a sum of terms computed in the input's precision; allow a few ulps of the largest term.
    for ours, true in ((gx, grads.logit), (gy, grads.label)):
        true = true * scale
        finite = np.isfinite(true)
        assert np.array_equal(np.isfinite(ours), finite)
        slack = 64 * eps * np.maximum(np.abs(true), (np.abs(x64) + 1) * abs(scale))
        assert np.all(np.abs(ours[finite] - true[finite]) <= slack[finite])
    total = loss.sum() if reduction != "mean" else loss.mean()
    np.testing.assert_allclose(gn, -total / 2.5**2, rtol=10 * t["rtol"])


def test_torch_noncontiguous_no_grad_and_views():
    torch = pytest.importorskip("torch")
    x, y = _data(40 * 50, np.float64)
    xt = torch.tensor(x.reshape(40, 50)).t()[::2]
    yt = torch.tensor(y.reshape(40, 50)).t()[::2]
    with torch.no_grad():
        got = F.sigmoid_focal_loss(xt, yt, reduction="none")
    want = F.sigmoid_focal_loss(
        np.ascontiguousarray(xt.numpy()), np.ascontiguousarray(yt.numpy()), reduction="none"
    )
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-13, equal_nan=True)


@pytest.mark.parametrize("reduction", ["sum", "none"])
def test_torch_holds_at_most_one_logit_sized_tensor_beyond_its_inputs(reduction):
    torch = pytest.importorskip("torch")
    x = torch.randn(3000, requires_grad=True)
    y = (torch.rand(3000) < 0.3).float()
    out = F.sigmoid_focal_loss(x, y, reduction=reduction)
    inputs = {x.untyped_storage().data_ptr(), y.untyped_storage().data_ptr()}
    held = {
        t.untyped_storage().data_ptr(): t.untyped_storage().nbytes()
        for t in out.grad_fn.saved_tensors
        if t is not None and t.untyped_storage().data_ptr() not in inputs
    }
    assert sum(held.values()) <= x.numel() * x.element_size()


def test_torch_eager_call_binds_no_arguments_and_only_forward_ad_takes_the_twin(monkeypatch):
    """torch binds a ``setup_context`` Function's arguments to its signature on every call (torch 2.14:
    10-20 us, as much as a 4096-element loss): the eager call's Function has nothing to bind; only
    the twin, which torch.func and forward AD need, binds."""
    torch = pytest.importorskip("torch")
    import inspect

    from paddlefocal.backends import torch as torch_path
    from torch.autograd import forward_ad

    ours = {torch_path.FocalLoss.forward, torch_path.FocalLossJvp.forward}
    bound = []
    signature = inspect.signature

    def spy(func, *args, **kwargs):
        if func in ours:
            bound.append(func)
        return signature(func, *args, **kwargs)

    monkeypatch.setattr(inspect, "signature", spy)
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    y = (torch.rand(3, 4) < 0.3).double()
    F.sigmoid_focal_loss(x, y).backward()
    F.sigmoid_focal_loss(x, y.requires_grad_()).backward()  # the written-out derivatives
    assert bound == []
    with forward_ad.dual_level():
        dual = forward_ad.make_dual(x.detach(), torch.ones_like(x))
        tangent = forward_ad.unpack_dual(F.sigmoid_focal_loss(dual, y.detach())).tangent
    assert bound == [torch_path.FocalLossJvp.forward]
    # x.grad holds the two backward calls, d/dx twice: the tangent along ones is half its sum.
    torch.testing.assert_close(tangent, x.grad.sum() / 2, rtol=1e-12, atol=0)


def test_torch_compile_wrapped_model():
    torch = pytest.importorskip("torch")

    class Head(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(4, 3, dtype=torch.float64)

        def forward(self, features, label):
            return F.sigmoid_focal_loss(self.linear(features), label, reduction="mean")

    torch.manual_seed(0)
    model = Head()
    features = torch.randn(8, 4, dtype=torch.float64)
    label = (torch.rand(8, 3) > 0.7).double()
    eager = model(features, label)
    eager.backward()
    eager_grad = model.linear.weight.grad.clone()
    model.zero_grad()
    compiled = torch.compile(model, backend="aot_eager")
    got = compiled(features, label)
    got.backward()
    torch.testing.assert_close(got, eager)
    torch.testing.assert_close(model.linear.weight.grad, eager_grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.7])
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_torch_one_pass_kernel_equals_reference_across_blocks(dtype, gamma, reduction, monkeypatch):
    """Only the logit requires grad: the CPU kernel forms loss and d/dlogit over three blocks
    (counted), the Function saves that gradient, and both equal the reference's."""
    torch = pytest.importorskip("torch")
    from paddlefocal.backends import numpy as numpy_kernels
    from paddlefocal.backends import torch as torch_path

    served = []
    kernel = torch_path.cpu_kernel

    def counted(x, y, alpha, gamma, loss, dlogit):
        total = kernel(x, y, alpha, gamma, loss, dlogit)
        served.append((x.shape[0], total is not None, dlogit is not None))
        return total

    monkeypatch.setattr(torch_path, "cpu_kernel", counted)
    block = numpy_kernels.block_size(np.dtype(dtype))
    x, y = _data(2 * block + 9, dtype)
    n = np.asarray(2.5, dtype)
    xt = torch.tensor(x, requires_grad=True)
    out = F.sigmoid_focal_loss(xt, torch.tensor(y), torch.tensor(n), 0.3, gamma, reduction)
    (out.sum() if reduction == "none" else out).backward()
    # Three blocks; the one holding the edge logits is the reference's, the others the kernel's.
    assert [(m, g) for m, _, g in served] == [(block, True), (block, True), (9, True)]
    assert [ok for _, ok, _ in served] == [False, True, True]
    with np.errstate(all="ignore"):
        x64, y64 = x.astype(np.float64), y.astype(np.float64)
        loss = focal_elementwise(np, x64, y64, 0.3, gamma)
        d_logit = focal_elementwise_grads(np, x64, y64, 0.3, gamma).logit
    scale = {"sum": 1.0, "mean": 1.0 / x.size, "none": 1.0}[reduction] / 2.5
    expected = {"sum": loss.sum(), "mean": loss.mean(), "none": loss}[reduction] / 2.5
    rtol = {np.float32: 2e-6, np.float64: 1e-12}[dtype]
    sub = 4 * float(np.finfo(dtype).smallest_subnormal)  # subnormal losses: a few of their units
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=rtol, atol=sub, equal_nan=True)
    eps = np.finfo(dtype).eps
    true = d_logit * scale
    ours = xt.grad.numpy()
    assert np.array_equal(np.isfinite(ours), np.isfinite(true))
    fin = np.isfinite(true)
    # Relative to each element (signs included), with a few ulps of the terms' size.
    slack = 64 * eps * np.maximum(np.abs(true), (np.abs(x64) + 1) * abs(scale) * 1e-3)
    assert np.all(np.abs(ours[fin] - true[fin]) <= slack[fin])
    big = fin & (np.abs(true) > slack)
    assert np.all(np.sign(ours[big]) == np.sign(true[big]))
