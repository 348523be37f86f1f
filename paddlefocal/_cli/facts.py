"""What the command line, the demo, ``backends.info()`` and the tests know about each array library,
beside the run-time table (``paddlefocal._libraries``): devices, conversions and how to install it.

Devices are spelled one way everywhere: ``"cpu"`` for the host, ``"cuda:<index>"`` for NVIDIA GPUs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
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
    devices : callable
        The devices this process can use, in the one spelling (``"cpu"``, ``"cuda:0"``).
    from_numpy : callable
        ``from_numpy(array, device)``: a NumPy array as an array of this library on that device.
    to_numpy : callable
        An array of this library (computed, on the host) as a NumPy array.
    install : str or None
        How to install it, where the extra alone would not do on a CPU machine.
    """

    extra: str | None
    devices: Callable[[], list[str]]
    from_numpy: Callable[[np.ndarray, str], Array]
    to_numpy: Callable[[Array], np.ndarray]
    install: str | None = None


def _cpu() -> list[str]:
    return ["cpu"]


def _numpy_from(a: np.ndarray, device: str) -> np.ndarray:
    return a


def _torch_devices() -> list[str]:
    import torch

    return ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def _torch_from(a: np.ndarray, device: str) -> Array:
    import torch

    return torch.from_numpy(a).to(device)


def _torch_to(t: Array) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy())


def _jax_spelling(device: Any) -> str:
    return "cpu" if device.platform == "cpu" else f"cuda:{device.id}"


def _jax_devices() -> list[str]:
    import jax

    return list(dict.fromkeys(_jax_spelling(d) for d in jax.devices()))


def _jax_from(a: np.ndarray, device: str) -> Array:
    import jax

    # Without x64, jnp.asarray would turn float64 into float32 without a word.
    if a.dtype == np.float64:
        jax.config.update("jax_enable_x64", True)
    target = next(d for d in jax.devices() if _jax_spelling(d) == device)
    return jax.device_put(a, target)


def _dask_from(a: np.ndarray, device: str) -> Array:
    import dask.array as da

    return da.from_array(a)


def _dask_to(a: Array) -> np.ndarray:
    return np.asarray(a.compute())


def _cupy_devices() -> list[str]:
    import cupy

    try:
        return [f"cuda:{i}" for i in range(cupy.cuda.runtime.getDeviceCount())]
    except Exception:  # installed without a usable GPU
        return []


def _cupy_from(a: np.ndarray, device: str) -> Array:
    import cupy

    with cupy.cuda.Device(int(device.partition(":")[2] or 0)):
        return cupy.asarray(a)


def _cupy_to(a: Array) -> np.ndarray:
    return np.asarray(a.get())


def _strict_from(a: np.ndarray, device: str) -> Array:
    import array_api_strict

    return array_api_strict.asarray(a)


def _paddle_devices() -> list[str]:
    import paddle

    return ["cpu"] + [f"cuda:{i}" for i in range(paddle.device.cuda.device_count())]


def _paddle_from(a: np.ndarray, device: str) -> Array:
    import paddle

    place = paddle.CPUPlace() if device == "cpu" else paddle.CUDAPlace(int(device[5:]))
    return paddle.to_tensor(a, place=place)


def _paddle_to(t: Array) -> np.ndarray:
    return np.asarray(t.numpy())


#: PyPI's torch wheel for Linux is the CUDA build (gigabytes); the CPU one comes from PyTorch's index.
_TORCH_CPU = (
    "pip install torch --index-url https://download.pytorch.org/whl/cpu"
    ' && pip install "paddlefocal[torch]"'
)

FACTS: dict[str, Facts] = {
    "numpy": Facts(None, _cpu, _numpy_from, np.asarray),
    "torch": Facts("torch", _torch_devices, _torch_from, _torch_to, _TORCH_CPU),
    "jax": Facts("jax", _jax_devices, _jax_from, np.asarray),
    "cupy": Facts("cupy", _cupy_devices, _cupy_from, _cupy_to),
    "dask": Facts("dask", _cpu, _dask_from, _dask_to),
    "array-api-strict": Facts("array-api-strict", _cpu, _strict_from, np.asarray),
    "paddle": Facts("paddle", _paddle_devices, _paddle_from, _paddle_to),
}


def facts(library: Library) -> Facts:
    """The facts of ``library``; for a library with none (a new table entry): the CPU, its module's
    ``asarray`` in and ``numpy.asarray`` out."""
    known = FACTS.get(library.name)
    if known is not None:
        return known

    def from_numpy(a: np.ndarray, device: str) -> Array:
        return importlib.import_module(library.module).asarray(a)

    return Facts(None, _cpu, from_numpy, np.asarray)


def version(library: Library) -> str:
    """The installed version (imports the library)."""
    return str(getattr(importlib.import_module(library.module), "__version__", "?"))
