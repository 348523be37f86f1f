"""The one table of array libraries: everything the package knows about each library, in one entry.

The registry, validation, the command line, the demo, ``backends.info()`` and the tests read this table;
nothing else keeps a list of libraries. Adding a library is one ``Library`` entry here (with its small
conversion helpers) plus, for a fast path, one module in ``backends/``.

Every field that would import the library is a function or a ``"module:attribute"`` string resolved on
first use, so reading the table imports no optional framework.

Devices are spelled one way everywhere: ``"cpu"`` for the host, ``"cuda:<index>"`` for NVIDIA GPUs.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from ._typing import Array

__all__ = ["LIBRARIES", "Library", "by_name", "load_target"]


def load_target(target: Any) -> Any:
    """``"package.module:attribute"`` imported and looked up; any other object as it is."""
    if not isinstance(target, str):
        return target
    module_name, _, attribute = target.partition(":")
    # sys.modules first: torch.compile traces a first call through here and cannot trace importlib.
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    return getattr(module, attribute)


@dataclass(frozen=True)
class Library:
    """What the package knows about one array library.

    Attributes
    ----------
    name : str
        The name users type (``--backend``, ``PADDLEFOCAL_BACKENDS``, ``backends.use``).
    module : str
        The top-level module; nothing of the library is considered until it is in ``sys.modules``.
    extra : str or None
        The ``pip install "paddlefocal[<extra>]"`` extra that installs it.
    is_array : callable
        Whether a value is an array of this library.
    path : str or None
        The fast path, ``"module:function"`` taking a ``Call``; None: the reference serves its arrays.
    namespace : str or None
        For a library that array-api-compat does not know: its namespace, as ``"module:attribute"``.
    namespace_per_type : bool
        Whether the namespace depends on the array's type alone, so it can be cached per type.
    kind : str or None
        How the front-end finds its arrays' device, reads a 0-D value and refuses arrays it cannot
        serve: ``"module:function"`` making a ``paddlefocal._kinds.Kind`` from the namespace; None:
        the generic one.
    devices : callable
        The devices this process can use, in the one spelling (``"cpu"``, ``"cuda:0"``).
    from_numpy : callable
        ``from_numpy(array, device)``: a NumPy array as an array of this library on that device.
    to_numpy : callable
        An array of this library (computed, on the host) as a NumPy array.
    """

    name: str
    module: str
    extra: str | None
    is_array: Callable[[Any], bool]
    path: str | None
    devices: Callable[[], list[str]]
    from_numpy: Callable[[np.ndarray, str], Array]
    to_numpy: Callable[[Array], np.ndarray]
    namespace: str | None = None
    namespace_per_type: bool = True
    kind: str | None = None

    def version(self) -> str:
        """The installed version (imports the library)."""
        return str(getattr(importlib.import_module(self.module), "__version__", "?"))


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


def _is_paddle_tensor(value: Any) -> bool:
    paddle = sys.modules.get("paddle")
    return paddle is not None and isinstance(value, paddle.Tensor)


def _is_strict_array(value: Any) -> bool:
    # array-api-strict exports no array type; its arrays are instances of this private class.
    module = sys.modules.get("array_api_strict._array_object")
    return module is not None and isinstance(value, module.Array)


def _paddle_devices() -> list[str]:
    import paddle

    return ["cpu"] + [f"cuda:{i}" for i in range(paddle.device.cuda.device_count())]


def _paddle_from(a: np.ndarray, device: str) -> Array:
    import paddle

    place = paddle.CPUPlace() if device == "cpu" else paddle.CUDAPlace(int(device[5:]))
    return paddle.to_tensor(a, place=place)


def _paddle_to(t: Array) -> np.ndarray:
    return np.asarray(t.numpy())


#: The libraries, in the order the demo, ``info()`` and the tests list them.
LIBRARIES: tuple[Library, ...] = (
    Library(
        "numpy", "numpy", None, array_api_compat.is_numpy_array,
        "paddlefocal.backends.numpy:loss", _cpu, _numpy_from, np.asarray,
    ),
    Library(
        "torch", "torch", "torch", array_api_compat.is_torch_array,
        "paddlefocal.backends.torch:loss", _torch_devices, _torch_from, _torch_to,
        kind="paddlefocal._kinds:torch_kind",
    ),
    Library(
        "jax", "jax", "jax", array_api_compat.is_jax_array,
        "paddlefocal.backends.jax:loss", _jax_devices, _jax_from, np.asarray,
        kind="paddlefocal._kinds:jax_kind",
    ),
    Library(
        "cupy", "cupy", "cupy", array_api_compat.is_cupy_array,
        None, _cupy_devices, _cupy_from, _cupy_to,
    ),
    Library(
        "dask", "dask", "dask", array_api_compat.is_dask_array,
        "paddlefocal.backends.dask:loss", _cpu, _dask_from, _dask_to,
        kind="paddlefocal._kinds:dask_kind",
    ),
    Library(
        # Its arrays carry their own API version, so the namespace is asked per array.
        "array-api-strict", "array_api_strict", "array-api-strict", _is_strict_array,
        None, _cpu, _strict_from, np.asarray, namespace_per_type=False,
    ),
    Library(
        "paddle", "paddle", "paddle", _is_paddle_tensor,
        "paddlefocal.backends.paddle:loss", _paddle_devices, _paddle_from, _paddle_to,
        namespace="paddlefocal.backends.paddle:namespace",
    ),
)  # fmt: skip


def by_name(name: str) -> Library:
    """The entry called ``name``; ValueError listing the known names otherwise."""
    for library in LIBRARIES:
        if library.name == name:
            return library
    known = ", ".join(library.name for library in LIBRARIES)
    raise ValueError(f"unknown array library {name!r}; known: {known}")
