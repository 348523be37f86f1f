"""Shared test helpers: backends as namespaces, conversions, the Paddle oracle and tolerances."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Tolerances of the oracle comparisons (the foundation issue): float32 and float64.
TOL = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-10, "atol": 1e-12}}


def tol(dtype: Any) -> dict[str, float]:
    return TOL[np.dtype(dtype).type]


@dataclass(frozen=True)
class Lib:
    """An array library as the tests see it."""

    name: str
    xp: Any
    from_numpy: Callable[[np.ndarray], Any]
    to_numpy: Callable[[Any], np.ndarray]
    autograd: bool = False

    def __repr__(self) -> str:
        return self.name


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _make(name: str) -> Lib:
    if name == "numpy":
        import array_api_compat.numpy as xp

        return Lib(name, xp, lambda a: a, np.asarray)
    if name == "torch":
        import array_api_compat.torch as xp
        import torch

        return Lib(name, xp, torch.from_numpy, lambda t: t.detach().cpu().numpy(), True)
    if name == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        return Lib(name, jnp, jnp.asarray, np.asarray, True)
    if name == "dask":
        import array_api_compat.dask.array as xp
        import dask.array as da

        return Lib(
            name, xp, lambda a: da.from_array(a, chunks=-1), lambda a: np.asarray(a.compute())
        )
    if name == "array_api_strict":
        import array_api_strict as xp

        return Lib(name, xp, xp.asarray, np.asarray)
    raise ValueError(name)


ALL_LIBS = ("numpy", "torch", "jax", "dask", "array_api_strict")


def selected_libs() -> list[str]:
    """Libraries to test: PADDLEFOCAL_BACKENDS=numpy,torch selects; default every installed one."""
    chosen = os.environ.get("PADDLEFOCAL_BACKENDS")
    names = [n.strip() for n in chosen.split(",")] if chosen else list(ALL_LIBS)
    return [n for n in names if _installed(n)]


def lib(name: str) -> Lib:
    return _make(name)


# --- the Paddle oracle -------------------------------------------------------------------------


def paddle_loss(
    logit: np.ndarray,
    label: np.ndarray,
    normalizer: np.ndarray | None = None,
    alpha: float = 0.25,
    gamma: float = 2.0,
    reduction: str = "sum",
    grads: bool = False,
) -> Any:
    """Paddle 3.3.1's result (and, with grads, its gradients to logit, label, normalizer) as NumPy."""
    import paddle
    import paddle.nn.functional as F

    x = paddle.to_tensor(logit, stop_gradient=not grads)
    y = paddle.to_tensor(label, stop_gradient=not grads)
    n = None if normalizer is None else paddle.to_tensor(normalizer, stop_gradient=not grads)
    out = F.sigmoid_focal_loss(x, y, n, alpha=alpha, gamma=gamma, reduction=reduction)
    if not grads:
        return out.numpy()
    out.sum().backward()
    gn = None if n is None else n.grad.numpy()
    return out.numpy(), x.grad.numpy(), y.grad.numpy(), gn
