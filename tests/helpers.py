"""Shared test helpers: backends as namespaces, conversions, the Paddle oracle and tolerances."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from paddlefocal._cli.facts import facts
from paddlefocal._cli.info import install_hint
from paddlefocal._libraries import LIBRARIES, Library, by_name
from paddlefocal._registry import namespace_for

#: Tolerances of the oracle comparisons: float32 and float64.
TOL = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-10, "atol": 1e-12}}


def tol(dtype: Any) -> dict[str, float]:
    return TOL[np.dtype(dtype).type]


@dataclass(frozen=True)
class Lib:
    """An array library on one device, as the tests see it."""

    name: str
    device: str
    xp: Any
    from_numpy: Callable[[np.ndarray], Any]
    to_numpy: Callable[[Any], np.ndarray]
    is_array: Callable[[Any], bool]
    autograd: bool = False

    def __repr__(self) -> str:
        return self.name if self.device == "cpu" else f"{self.name}-{self.device}"


#: Libraries whose gradients the tests check through the library's own autodiff.
AUTOGRAD = {"torch", "jax"}
#: In the matrix only when PADDLEFOCAL_BACKENDS names them: the Paddle-tensor backend is tested on its
#: own (test_plugins.py), beside Paddle's own loss.
OPT_IN = {"paddle"}
ALL_LIBS = tuple(library.name for library in LIBRARIES)


def _canonical(name: str) -> str:
    return name.strip().replace("_", "-")


def _installed(library: Library) -> bool:
    return importlib.util.find_spec(library.module) is not None


def _skip_reason(name: str, device: str, chosen: set[str] | None) -> str | None:
    library = by_name(name)
    if chosen is not None and name not in chosen:
        return f"{name}: not selected by PADDLEFOCAL_BACKENDS"
    if chosen is None and name in OPT_IN:
        return f"{name}: opt-in (PADDLEFOCAL_BACKENDS={name})"
    if not _installed(library):
        return f"{name} is not installed ({install_hint(library)})"
    if device != "cpu" and device not in facts(library).devices():
        return f"{name}: no {device} device here"
    return None


def _chosen() -> set[str] | None:
    text = os.environ.get("PADDLEFOCAL_BACKENDS")
    return {_canonical(n) for n in text.split(",")} if text else None


def matrix() -> list[Any]:
    """The backend matrix for ``lib_``: every library of the table on the CPU, GPU libraries on
    ``cuda:0``; each entry that cannot run here is a skip that says why."""
    import pytest

    entries = [(library.name, "cpu") for library in LIBRARIES if library.name != "cupy"]
    entries += [("torch", "cuda:0"), ("cupy", "cuda:0"), ("jax", "cuda:0")]
    chosen = _chosen()
    params = []
    for name, device in entries:
        ident = name if device == "cpu" else f"{name}-{device}"
        reason = _skip_reason(name, device, chosen)
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        params.append(pytest.param((name, device), id=ident, marks=marks))
    return params


def selected_libs() -> list[str]:
    """Names of the CPU libraries that ``lib_`` runs here."""
    chosen = _chosen()
    return [
        library.name
        for library in LIBRARIES
        if library.name != "cupy" and _skip_reason(library.name, "cpu", chosen) is None
    ]


def lib(name: str, device: str = "cpu") -> Lib:
    """The library ``name`` (the table's spelling; ``array_api_strict`` also works) on ``device``."""
    library = by_name(_canonical(name))
    if library.name == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
    convert = facts(library)
    sample = convert.from_numpy(np.zeros(1), device)
    xp = namespace_for(sample) or array_api_compat.array_namespace(sample)
    return Lib(
        library.name,
        device,
        xp,
        lambda a: convert.from_numpy(np.asarray(a), device),
        convert.to_numpy,
        library.is_array,
        library.name in AUTOGRAD,
    )


def assert_close(
    actual: Any, expected: Any, lib_: Lib, *, rtol: float | None = None, atol: float | None = None
) -> None:
    """``actual`` is an array of ``lib_`` with ``expected``'s dtype and shape (0-D stays 0-D) and
    values within the dtype's tolerance (or ``rtol``/``atol``)."""
    expected = np.asarray(expected)
    assert lib_.is_array(actual), f"expected an array of {lib_.name}, got {type(actual)}"
    got = lib_.to_numpy(actual)
    assert got.dtype == expected.dtype, f"dtype {got.dtype}, expected {expected.dtype}"
    assert got.shape == expected.shape, f"shape {got.shape}, expected {expected.shape}"
    limits = tol(expected.dtype)
    np.testing.assert_allclose(
        got,
        expected,
        rtol=limits["rtol"] if rtol is None else rtol,
        atol=limits["atol"] if atol is None else atol,
    )


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


# --- plug-ins ----------------------------------------------------------------------------------

#: A plug-in module: a NumPy subclass that its backend claims, and a path that returns -1.
PLUGIN = '''
import numpy as np
from paddlefocal.backends import Backend


class Tagged(np.ndarray):
    """A NumPy subclass that the plug-in claims."""


def loss(call):
    return np.asarray(-1.0)


BACKEND = Backend("tagged", "numpy", lambda a: isinstance(a, Tagged), loss)
'''


def plugin_env(tmp_path: Any, entry_points: str, modules: dict[str, str]) -> dict[str, str]:
    """An environment whose PYTHONPATH holds an installed plug-in distribution (a temporary site
    folder with its dist-info and ``entry_points.txt``) and the given modules."""
    site = tmp_path / "site"
    dist = site / "paddlefocal_plugin_demo-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: paddlefocal-plugin-demo\nVersion: 0.1\n"
    )
    (dist / "entry_points.txt").write_text(entry_points)
    for name, source in modules.items():
        (site / f"{name}.py").write_text(source)
    return {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


# --- the command line ---------------------------------------------------------------------------


def one_line_exit_2(code: int, capsys: Any) -> str:
    """The CLI's error line, after checking that it is the only output (no traceback), on stderr,
    prefixed like argparse's, and that the status is 2."""
    captured = capsys.readouterr()
    assert code == 2, captured
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert lines[0].startswith("paddlefocal: error: ")
    return lines[0]
