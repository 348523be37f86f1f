"""Every kernel of the driver's contract against the 50-digit mpmath reference, element by element.

Each kernel is called directly, one element per block, so that a block it declines is the only one it
declines and every element it accepts is checked: the loss, its float64 total and (where the kernel
forms it) ``d loss / d logit``, in float32 and float64, on the numerics grid, on a band of subnormal
losses, and at the ignore label -100. A kernel added later is one entry of ``KERNELS``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import mpmath as mp
import numpy as np
import pytest
from test_numerics import BOUND, GRAD_FACTOR, _check, grid


def _numpy_kernels() -> dict[str, Callable[..., Any]]:
    from paddlefocal.backends import numpy as k

    return {"numpy-block": k.block_kernel, "numpy-tiny": k.tiny_kernel}


def _torch_kernels() -> dict[str, Callable[..., Any]]:
    pytest.importorskip("torch")
    from paddlefocal.backends import _torch_kernels as k

    return {"torch-cpu": k.cpu_kernel, "torch-branch-free": k.branch_free_kernel}


#: name -> (library, where it must accept every element of the common case, forms d/dlogit)
KERNELS = {
    "numpy-block": ("numpy", "common", True),
    "numpy-tiny": ("numpy", "common", True),
    "torch-cpu": ("torch", "common", True),
    "torch-branch-free": ("torch", "all", True),
}

LIMIT = {np.float32: 80.0, np.float64: 700.0}


def _kernel(name: str) -> Callable[..., Any]:
    table = _numpy_kernels() if KERNELS[name][0] == "numpy" else _torch_kernels()
    return table[name]


def _convert(library: str) -> tuple[Callable[[np.ndarray], Any], Callable[[Any], np.ndarray]]:
    if library == "numpy":
        return (lambda a: a.copy()), (lambda a: np.asarray(a))
    import torch

    return torch.from_numpy, (lambda a: a.numpy())


def run_elementwise(name: str, x: np.ndarray, y: np.ndarray, alpha, gamma):
    """Per-element loss, total and d/dlogit from the kernel alone (nan where it declined)."""
    library, _, grads = KERNELS[name]
    kernel = _kernel(name)
    to_lib, to_np = _convert(library)
    alphas, gammas = np.broadcast_to(alpha, x.shape), np.broadcast_to(gamma, x.shape)
    loss, total, d_logit = (np.full(x.shape, np.nan) for _ in range(3))
    accepted = np.zeros(x.shape, bool)
    for i in range(x.size):
        xb, yb = to_lib(x[i : i + 1]), to_lib(y[i : i + 1])
        lb, gb = to_lib(np.empty(1, x.dtype)), to_lib(np.empty(1, x.dtype)) if grads else None
        with np.errstate(all="ignore"):
            t = kernel(xb, yb, float(alphas[i]), float(gammas[i]), lb, gb)
        if t is None:
            continue
        accepted[i] = True
        loss[i], total[i] = to_np(lb)[0], float(t)
        if grads:
            d_logit[i] = to_np(gb)[0]
    return accepted, loss, total, d_logit


def _must_accept(name: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    where = KERNELS[name][1]
    if where == "all":
        return np.ones(x.shape, bool)
    limit = LIMIT[x.dtype.type]
    return (np.abs(x) <= limit) & (y >= 0) & (y <= 1)


@functools.cache
def _grid_run(name, dtype):
    g = grid(dtype)
    return g, run_elementwise(name, g.logit, g.label, g.alpha, g.gamma)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(KERNELS))
def test_kernel_equals_mpmath_on_the_grid(name, dtype):
    g, (accepted, loss, total, d_logit) = _grid_run(name, dtype)
    must = _must_accept(name, g.logit, g.label)
    # The kernel ran: it served every element of its common case (a blocked kernel declines the rest).
    assert accepted[must].all(), f"{name} declined {np.count_nonzero(must & ~accepted)} elements"
    sel = accepted
    bound = BOUND[dtype]
    _check(f"{name} loss", loss[sel], g.loss[sel], g.loss_normal[sel], dtype, bound)
    # The total is the block's sum in float64 (here the element's loss, perhaps before its rounding
    # into the dtype).
    np.testing.assert_array_equal(total[sel].astype(dtype), loss[sel].astype(dtype))
    if KERNELS[name][2]:
        _check(
            f"{name} d/d logit",
            d_logit[sel],
            g.d_logit[sel],
            g.d_logit_normal[sel],
            dtype,
            GRAD_FACTOR * bound,
            g.d_logit_scale[sel],
        )


#: Logits whose loss (label 0, gamma 0: (1 - alpha) log(1 + e^x)) is subnormal in the dtype.
SUBNORMAL_LOGITS = {
    np.float32: [-88.0, -89.0, -92.5, -96.0, -100.0, -103.0],
    np.float64: [-709.0, -710.0, -720.0, -730.0, -740.0, -744.0],
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(KERNELS))
def test_kernel_keeps_subnormal_losses(name, dtype):
    """A subnormal loss is kept to within one unit of the smallest subnormal, never flushed to 0
    (a kernel may decline such a block: then the reference serves it, checked in test_numerics)."""
    x = np.array(SUBNORMAL_LOGITS[dtype], dtype)
    y = np.zeros_like(x)
    accepted, loss, total, _ = run_elementwise(name, x, y, 0.25, 0.0)
    with mp.workdps(50):
        true = np.array([float(0.75 * mp.log1p(mp.exp(mp.mpf(float(v))))) for v in x])
    true = true.astype(dtype).astype(np.float64)  # correctly rounded into the dtype's subnormals
    spacing = float(np.finfo(dtype).smallest_subnormal)
    if KERNELS[name][1] == "all":
        assert accepted.all()
    ok = np.abs(loss[accepted] - true[accepted]) <= spacing
    assert ok.all(), f"{name}: ours {loss[accepted][~ok]}, true {true[accepted][~ok]}"
    # Not flushed: a loss of two or more units of the smallest subnormal stays positive.
    assert (loss[accepted][true[accepted] >= 2 * spacing] > 0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(KERNELS))
def test_kernel_gives_zero_at_the_ignore_label(name, dtype):
    """Label -100 contributes 0 and a 0 gradient for every logit and gamma, fractional ones included
    (a kernel may decline: the reference then serves it)."""
    x = np.array([-1000.0, -20.0, -1.0, 0.0, 1.0, 20.0, 1000.0, np.inf, -np.inf], dtype)
    y = np.full_like(x, -100.0)
    for gamma in (0.0, 0.5, 1.5, 2.0, 2.5):
        accepted, loss, total, d_logit = run_elementwise(name, x, y, 0.25, gamma)
        if KERNELS[name][1] == "all":
            assert accepted.all()
        assert (loss[accepted] == 0).all() and (total[accepted] == 0).all(), (name, gamma)
        if KERNELS[name][2]:
            assert (d_logit[accepted] == 0).all()
