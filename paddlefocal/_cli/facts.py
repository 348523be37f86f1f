"""What the command line, the demo, ``backends.info()`` and the tests know about each array library,
beside the run-time table (``paddlefocal._libraries``): devices, conversions and how to install it.

Devices are spelled one way everywhere: ``"cpu"`` for the host, ``"cuda:<index>"`` for NVIDIA GPUs.
Every library is imported only when one of its facts is called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module as _module
from typing import Any

import numpy as np

from .._libraries import Library
from .._typing import Array

__all__ = ["FACTS", "Facts", "facts", "version"]


@dataclass(frozen=True)
class Facts:
    """The tooling's facts about one library of the table.

    Attributes
    ----------
    extra : str or None
        The ``pip install "paddlefocal[<extra>]"`` extra that installs it.
    from_numpy : callable
        ``from_numpy(array, device)``: a NumPy array as an array of this library on that device.
    devices : callable
        The devices this process can use, in the one spelling (``"cpu"``, ``"cuda:0"``).
    to_numpy : callable
        An array of this library (computed, on the host) as a NumPy array.
    install : str or None
        How to install it, where the extra alone would not do on a CPU machine.
    """

    extra: str | None
    from_numpy: Callable[[np.ndarray, str], Array]
    devices: Callable[[], list[str]] = lambda: ["cpu"]
    to_numpy: Callable[[Array], np.ndarray] = np.asarray
    install: str | None = None


def _cpu_and_cuda(count: int) -> list[str]:
    return ["cpu"] + [f"cuda:{i}" for i in range(count)]


def _jax_spelling(device: Any) -> str:
    return "cpu" if device.platform == "cpu" else f"cuda:{device.id}"


def _jax_from(a: np.ndarray, device: str) -> Array:
    jax = _module("jax")
    # Without x64, jnp.asarray would turn float64 into float32 without a word.
    if a.dtype == np.float64:
        jax.config.update("jax_enable_x64", True)
    return jax.device_put(a, next(d for d in jax.devices() if _jax_spelling(d) == device))


def _cupy_devices() -> list[str]:
    try:
        return [f"cuda:{i}" for i in range(_module("cupy").cuda.runtime.getDeviceCount())]
    except Exception:  # installed without a usable GPU
        return []


def _cupy_from(a: np.ndarray, device: str) -> Array:
    cupy = _module("cupy")
    with cupy.cuda.Device(int(device.partition(":")[2] or 0)):
        return cupy.asarray(a)


def _paddle_from(a: np.ndarray, device: str) -> Array:
    paddle = _module("paddle")
    place = paddle.CPUPlace() if device == "cpu" else paddle.CUDAPlace(int(device[5:]))
    return paddle.to_tensor(a, place=place)


#: PyPI's torch wheel for Linux is the CUDA build (gigabytes); the CPU one comes from PyTorch's index.
_TORCH_CPU = (
    "pip install torch --index-url https://download.pytorch.org/whl/cpu"
    ' && pip install "paddlefocal[torch]"'
)

FACTS: dict[str, Facts] = {
    "numpy": Facts(None, lambda a, device: a),
    "torch": Facts(
        "torch",
        lambda a, device: _module("torch").from_numpy(a).to(device),
        lambda: _cpu_and_cuda(_module("torch").cuda.device_count()),
        lambda t: np.asarray(t.detach().cpu().numpy()),
        _TORCH_CPU,
    ),
    "jax": Facts(
        "jax",
        _jax_from,
        lambda: list(dict.fromkeys(_jax_spelling(d) for d in _module("jax").devices())),
    ),
    "cupy": Facts("cupy", _cupy_from, _cupy_devices, lambda a: np.asarray(a.get())),
    "dask": Facts("dask", lambda a, device: _module("dask.array").from_array(a)),
    "array-api-strict": Facts(
        "array-api-strict", lambda a, d: _module("array_api_strict").asarray(a)
    ),
    "paddle": Facts(
        "paddle", _paddle_from, lambda: _cpu_and_cuda(_module("paddle").device.cuda.device_count())
    ),
}


def facts(library: Library) -> Facts:
    """The facts of ``library``; for a library with none (a new table entry): the CPU, its module's
    ``asarray`` in and ``numpy.asarray`` out."""
    known = FACTS.get(library.name)
    if known is not None:
        return known
    return Facts(None, lambda a, device: _module(library.module).asarray(a))


def version(library: Library) -> str:
    """The installed version (imports the library)."""
    return str(getattr(_module(library.module), "__version__", "?"))
