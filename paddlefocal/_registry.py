"""The backend registry: which implementation serves an array type.

Public as ``paddlefocal.backends`` (the package that also holds the fast paths). A backend is considered only when its library is already in
``sys.modules`` (the caller cannot hold a torch tensor without having imported torch), so importing
paddlefocal, or calling it on NumPy arrays, imports no optional framework. The choice is cached per array
type. Every array type without a registered fast path is served by the pure Array API reference.

Examples
--------
>>> import numpy as np
>>> import paddlefocal
>>> from paddlefocal import backends
>>> x = np.zeros(3, np.float32)
>>> backends.path_name(x)
'numpy'
>>> with backends.use("reference"):
...     backends.path_name(x)
'reference'
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import array_api_compat

__all__ = ["Backend", "Implementation", "path_name", "register", "registered", "resolve", "use"]


class Implementation(Protocol):
    """The signature every path shares; arguments arrive validated (see ``paddlefocal._validation``)."""

    def __call__(
        self,
        logit: Any,
        label: Any,
        normalizer: Any,
        alpha: Any,
        gamma: Any,
        reduction: str,
        *,
        xp: Any,
    ) -> Any: ...


@dataclass(frozen=True)
class Backend:
    """A registered fast path.

    Attributes
    ----------
    name : str
        The path's name, as ``use`` and ``path_name`` spell it.
    module : str
        The array library's top-level module; the backend is considered only once it is imported.
    is_array : callable
        Whether an array belongs to this backend.
    target : str or callable
        The implementation, or ``"package.module:function"`` to import on first use.
    """

    name: str
    module: str
    is_array: Callable[[Any], bool]
    target: str | Implementation

    def load(self) -> Implementation:
        if not isinstance(self.target, str):
            return self.target
        module_name, _, attribute = self.target.partition(":")
        implementation: Implementation = getattr(importlib.import_module(module_name), attribute)
        return implementation


def _reference(
    logit: Any, label: Any, normalizer: Any, alpha: Any, gamma: Any, reduction: str, *, xp: Any
) -> Any:
    """The pure Array API reference path."""
    from paddlefocal._reference import sigmoid_focal_loss

    return sigmoid_focal_loss(logit, label, normalizer, alpha, gamma, reduction, xp=xp)


REFERENCE = Backend("reference", "", lambda _: True, _reference)

_registry: list[Backend] = [
    Backend("numpy", "numpy", array_api_compat.is_numpy_array, "paddlefocal.backends.numpy:loss"),
    Backend("torch", "torch", array_api_compat.is_torch_array, "paddlefocal.backends.torch:loss"),
    Backend("jax", "jax", array_api_compat.is_jax_array, "paddlefocal.backends.jax:loss"),
]
_cache: dict[type, tuple[Backend, Implementation]] = {}
_lock = threading.Lock()
_forced: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "paddlefocal_forced", default=None
)


def register(
    name: str,
    module: str,
    is_array: Callable[[Any], bool],
    implementation: str | Implementation,
) -> None:
    """Register a fast path for the arrays of one library; a later registration takes precedence.

    Parameters
    ----------
    name : str
        The path's name.
    module : str
        The library's top-level module name (``"torch"``); nothing is imported until it is in
        ``sys.modules``.
    is_array : callable
        ``is_array(x)`` tells whether ``x`` belongs to the library.
    implementation : callable or str
        A function with the signature of ``Implementation``, or ``"module:function"`` to import lazily.
    """
    if not callable(is_array):
        raise TypeError(f"register: 'is_array' must be callable, but received {is_array!r}")
    if not (callable(implementation) or isinstance(implementation, str)):
        raise TypeError(
            "register: 'implementation' must be callable or a 'module:function' string, but received "
            f"{implementation!r}"
        )
    with _lock:
        _registry.insert(0, Backend(name, module, is_array, implementation))
        _cache.clear()


def registered() -> list[Backend]:
    """The registered fast paths, highest precedence first (the reference serves everything else)."""
    return list(_registry)


def _select(array: Any) -> tuple[Backend, Implementation]:
    for backend in _registry:
        if backend.module in sys.modules and backend.is_array(array):
            return backend, backend.load()
    return REFERENCE, _reference


def _lookup(array: Any) -> tuple[Backend, Implementation]:
    forced = _forced.get()
    if forced == "reference":
        return REFERENCE, _reference
    key = type(array)
    found = _cache.get(key)
    if found is None:
        with _lock:
            found = _cache.get(key)
            if found is None:
                found = _cache[key] = _select(array)
    if forced is not None and found[0].name != forced:
        raise ValueError(
            f"use({forced!r}) is in force, but arrays of type {key.__module__}.{key.__name__} are "
            f"served by {found[0].name!r}"
        )
    return found


def resolve(array: Any) -> Implementation:
    """The implementation that serves ``array``'s type."""
    return _lookup(array)[1]


def path_name(array: Any) -> str:
    """The name of the path that serves ``array``: a fast path's name, or ``'reference'``."""
    return _lookup(array)[0].name


@contextlib.contextmanager
def use(name: str) -> Iterator[None]:
    """Force a path within a ``with`` block (thread- and task-local), e.g. ``use("reference")``.

    Raises ``ValueError`` inside the block if an array's type is served by another path.
    """
    names = {"reference"} | {backend.name for backend in _registry}
    if name not in names:
        raise ValueError(f"use: unknown path {name!r}; known paths: {sorted(names)}")
    token = _forced.set(name)
    try:
        yield
    finally:
        _forced.reset(token)
