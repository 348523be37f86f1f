"""No host read on a GPU path: the public call on fake CUDA tensors (no GPU needed).

Under ``FakeTensorMode`` a tensor has a device, a dtype and a shape but no values, so any read of a
value back to the host (``.item()``, ``.tolist()``, ``bool(tensor)``) raises
``DataDependentOutputException``: on a real GPU each would be a stream synchronization. A CPU build
of torch cannot record autograd nodes for fake CUDA tensors, so the forward that forms
``d loss / d logit`` (what a call whose logit requires grad runs) is called through the Function's
forward directly.
"""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")
fake_tensor = pytest.importorskip("torch._subclasses.fake_tensor")

from paddlefocal.backends import torch as torch_path  # noqa: E402

import paddlefocal.nn.functional as F  # noqa: E402

CASES = list(
    itertools.product(
        (torch.float32, torch.float64),
        ("sum", "mean", "none"),
        (None, "[]", "[1]"),
        (0.0, 0.5, 2.0),
    )
)


def _inputs(dtype, norm):
    x = torch.empty(4, 5, dtype=dtype, device="cuda")
    y = torch.empty(4, 5, dtype=dtype, device="cuda")
    shape = None if norm is None else (() if norm == "[]" else (1,))
    n = None if shape is None else torch.empty(shape, dtype=dtype, device="cuda")
    return x, y, n


@pytest.mark.parametrize("kernel", ["branch-free", "triton"])
def test_public_call_reads_nothing_back_on_fake_cuda_tensors(kernel, monkeypatch):
    if kernel == "triton":
        pytest.importorskip("triton")
        pytest.importorskip("paddlefocal.backends._triton_kernel")
    monkeypatch.setattr(torch_path, "_TRITON", kernel == "triton")
    calls = []
    chosen = torch_path._kernel
    monkeypatch.setattr(
        torch_path, "_kernel", lambda x, forced: calls.append(chosen(x, forced)) or calls[-1]
    )
    failures = []
    with fake_tensor.FakeTensorMode():
        for dtype, reduction, norm, gamma in CASES:
            x, y, n = _inputs(dtype, norm)
            try:
                out = F.sigmoid_focal_loss(x, y, n, 0.25, gamma, reduction)
                assert out.device.type == "cuda" and out.dtype == dtype
                assert out.shape == (() if reduction != "none" else (4, 5))
                # What a call with a logit that requires grad runs: the loss and d/dlogit together.
                result, grad = torch_path.FocalLossJvp.forward(
                    x, y, n, 0.25, gamma, reduction, True, False
                )
                assert grad.shape == x.shape and result.dtype == dtype
            except Exception as exc:  # collect them all: one line each
                failures.append(f"{dtype} {reduction} {norm} {gamma}: {type(exc).__name__} {exc}")
    assert not failures, "\n".join(failures)
    # The kernel named ran (not the reference): every call chose it.
    names = {getattr(c, "__name__", "?") for c in calls if c is not None}
    assert names == {"branch_free_kernel" if kernel == "branch-free" else "triton_kernel"}
    assert len(calls) == 2 * len(CASES)


def test_tensor_alpha_gamma_on_fake_cuda_are_not_read_back():
    """A 0-D tensor ``alpha``/``gamma`` on a GPU is not range-checked: reading it would wait for the
    device. On the CPU the same tensors are read and checked (a nan one is refused)."""
    with fake_tensor.FakeTensorMode():
        x, y, n = _inputs(torch.float32, "[]")
        alpha = torch.empty((), dtype=torch.float32, device="cuda")
        gamma = torch.empty((), dtype=torch.float64, device="cuda")
        for reduction in ("sum", "mean", "none"):
            out = F.sigmoid_focal_loss(x, y, n, alpha, gamma, reduction)
            assert out.device.type == "cuda" and out.dtype == torch.float32
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="'alpha' must be finite"):
        F.sigmoid_focal_loss(x, x, alpha=torch.tensor(float("nan")))
