"""The one table of array libraries: what the package needs at run time to know each library.

The registry and validation read this table; nothing else keeps a list of libraries. Adding a library
is one ``Library`` entry here plus, for a fast path, one module in ``backends/``. What only the command
line, the demo and the tests need (devices, conversions, install hints) is in ``paddlefocal._cli.facts``.

Every field that would import the library is a function or a ``"module:attribute"`` string resolved on
first use, so reading the table imports no optional framework.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import array_api_compat

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
    is_array : callable
        Whether a value is an array of this library.
    path : str or None
        The fast path, ``"module:function"`` taking a ``Call``; None: the reference serves its arrays.
    namespace : str or None
        For a library that array-api-compat does not know: its namespace, as ``"module:attribute"``.
    namespace_per_type : bool
        Whether the namespace depends on the array's type alone, so it can be cached per type.
    forced : tuple of (name, path)
        Further paths for the same arrays that only ``backends.use(name)`` selects.
    kind : str or None
        How the front-end finds its arrays' device, reads a 0-D value and refuses arrays it cannot
        serve: ``"module:function"`` making a ``paddlefocal._kinds.Kind`` from an array; None: the
        generic one.
    """

    name: str
    module: str
    is_array: Callable[[Any], bool]
    path: str | None
    namespace: str | None = None
    namespace_per_type: bool = True
    kind: str | None = None
    forced: tuple[tuple[str, str], ...] = ()


# numpy and torch by isinstance: array-api-compat's is_*_array go through lru_cache'd helpers, which
# torch.compile warns about when it traces a first call.
def _is_numpy_array(value: Any) -> bool:
    numpy = sys.modules["numpy"]
    return isinstance(value, (numpy.ndarray, numpy.generic))


def _is_torch_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _is_paddle_tensor(value: Any) -> bool:
    paddle = sys.modules.get("paddle")
    return paddle is not None and isinstance(value, paddle.Tensor)


def _is_strict_array(value: Any) -> bool:
    # array-api-strict exports no array type; its arrays are instances of this private class.
    module = sys.modules.get("array_api_strict._array_object")
    return module is not None and isinstance(value, module.Array)


#: The libraries, in the order the demo, ``info()`` and the tests list them.
LIBRARIES: tuple[Library, ...] = (
    Library("numpy", "numpy", _is_numpy_array, "paddlefocal.backends.numpy:loss"),
    Library(
        "torch", "torch", _is_torch_tensor, "paddlefocal.backends.torch:loss",
        kind="paddlefocal._kinds:torch_kind",
        # The Triton kernel on any device (the CPU with TRITON_INTERPRET=1); on a Triton device the
        # torch path takes it by itself.
        forced=(("triton", "paddlefocal.backends.torch:triton_loss"),),
    ),
    Library(
        "jax", "jax", array_api_compat.is_jax_array, "paddlefocal.backends.jax:loss",
        kind="paddlefocal._kinds:jax_kind",
    ),
    Library(
        "cupy", "cupy", array_api_compat.is_cupy_array, "paddlefocal.backends.cupy:loss",
        kind="paddlefocal._kinds:cupy_kind",
    ),
    Library(
        "dask", "dask", array_api_compat.is_dask_array, "paddlefocal.backends.dask:loss",
        kind="paddlefocal._kinds:dask_kind",
    ),
    # Its arrays carry their own API version, so the namespace is asked per array.
    Library(
        "array-api-strict", "array_api_strict", _is_strict_array, None, namespace_per_type=False
    ),
    Library(
        "paddle", "paddle", _is_paddle_tensor, "paddlefocal.backends.paddle:loss",
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
