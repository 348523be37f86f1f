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
import importlib.util
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import array_api_compat

__all__ = [
    "ENTRY_POINT_GROUP",
    "Backend",
    "Implementation",
    "info",
    "namespace_for",
    "path_name",
    "register",
    "registered",
    "resolve",
    "use",
]

#: Third-party distributions add backends through this entry-point group. Each entry point names a
#: ``Backend`` (or a callable returning one); they are read once, on the first lookup.
ENTRY_POINT_GROUP = "paddlefocal.backends"


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
    namespace : str or object, optional
        For a library that array-api-compat does not know: the namespace (``float32``, ``float64``,
        ``exp``, ``where``, ...) that the front-end and the reference formulas use for its arrays.
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
    #: For a library that array-api-compat does not know (Paddle): the namespace the front-end checks
    #: its arrays with, as ``"package.module:attribute"`` or the object itself.
    namespace: str | Any | None = None

    def load(self) -> Implementation:
        implementation: Implementation = _resolve_target(self.target)
        return implementation

    def load_namespace(self) -> Any:
        return None if self.namespace is None else _resolve_target(self.namespace)


def _resolve_target(target: Any) -> Any:
    if not isinstance(target, str):
        return target
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


from ._reference import reference_loss as _reference


REFERENCE = Backend("reference", "", lambda _: True, _reference)


def _is_paddle_tensor(value: Any) -> bool:
    paddle = sys.modules.get("paddle")
    return paddle is not None and isinstance(value, paddle.Tensor)


_registry: list[Backend] = [
    Backend("numpy", "numpy", array_api_compat.is_numpy_array, "paddlefocal.backends.numpy:loss"),
    Backend("torch", "torch", array_api_compat.is_torch_array, "paddlefocal.backends.torch:loss"),
    Backend("jax", "jax", array_api_compat.is_jax_array, "paddlefocal.backends.jax:loss"),
    Backend("dask", "dask", array_api_compat.is_dask_array, "paddlefocal.backends.dask:loss"),
    Backend(
        "paddle",
        "paddle",
        _is_paddle_tensor,
        "paddlefocal.backends.paddle:loss",
        namespace="paddlefocal.backends.paddle:namespace",
    ),
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
    namespace: str | Any | None = None,
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
    namespace : object or str, optional
        For a library that array-api-compat does not know: its namespace (see ``Backend``).
    """
    if not callable(is_array):
        raise TypeError(f"register: 'is_array' must be callable, but received {is_array!r}")
    if not (callable(implementation) or isinstance(implementation, str)):
        raise TypeError(
            "register: 'implementation' must be callable or a 'module:function' string, but received "
            f"{implementation!r}"
        )
    with _lock:
        _registry.insert(0, Backend(name, module, is_array, implementation, namespace))
        _cache.clear()


_plugins_loaded = False


def _load_plugins() -> None:
    """Read the entry-point group once; a broken plug-in is skipped with a warning."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    with _lock:
        if _plugins_loaded:
            return
        _plugins_loaded = True
        # Imported here, not at the top: importlib.metadata costs ~40 ms, paid by the first call only.
        import importlib.metadata

        try:
            entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        except Exception as exc:  # a broken installation must not break unrelated calls
            warnings.warn(
                f"paddlefocal: cannot read plug-ins: {exc!r}", RuntimeWarning, stacklevel=4
            )
            return
        for entry_point in entry_points:
            try:
                backend = entry_point.load()
                if not isinstance(backend, Backend) and callable(backend):
                    backend = backend()
                if not isinstance(backend, Backend):
                    raise TypeError(f"expected a paddlefocal.backends.Backend, got {backend!r}")
            except Exception as exc:
                warnings.warn(
                    f"paddlefocal: backend plug-in {entry_point.name!r} ({entry_point.value}) failed "
                    f"to load and is skipped: {exc!r}",
                    RuntimeWarning,
                    stacklevel=4,
                )
                continue
            _registry.insert(0, backend)
        _cache.clear()


def namespace_for(array: Any) -> Any | None:
    """The namespace a registered backend provides for ``array``'s library, if any (see ``Backend``)."""
    _load_plugins()
    for backend in _registry:
        if (
            backend.namespace is not None
            and backend.module in sys.modules
            and backend.is_array(array)
        ):
            return backend.load_namespace()
    return None


def info() -> list[dict[str, Any]]:
    """Installed array libraries: version, devices, and the path that serves their arrays.

    Unlike a call to the loss, this imports each installed library to ask for its devices.
    """
    _load_plugins()
    rows = []
    for name, probe in _INFO_PROBES.items():
        if importlib.util.find_spec(name) is None:
            continue
        try:
            version, devices, sample = probe()
            path = path_name(sample)
        except Exception as exc:  # installed but broken: say so rather than fail
            version, devices, path = "?", [], f"unusable: {exc!r}"
        rows.append({"library": name, "version": version, "devices": devices, "path": path})
    return rows


def _probe_numpy() -> tuple[str, list[str], Any]:
    import numpy as np

    return np.__version__, ["cpu"], np.zeros(1, np.float32)


def _probe_torch() -> tuple[str, list[str], Any]:
    import torch

    devices = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return torch.__version__, devices, torch.zeros(1)


def _probe_jax() -> tuple[str, list[str], Any]:
    import jax
    import jax.numpy as jnp

    return jax.__version__, [str(d) for d in jax.devices()], jnp.zeros(1)


def _probe_cupy() -> tuple[str, list[str], Any]:
    import cupy

    count = cupy.cuda.runtime.getDeviceCount()
    return cupy.__version__, [f"cuda:{i}" for i in range(count)], cupy.zeros(1)


def _probe_dask() -> tuple[str, list[str], Any]:
    import dask
    import dask.array as da

    return dask.__version__, ["cpu (lazy; any scheduler)"], da.zeros(1)


def _probe_strict() -> tuple[str, list[str], Any]:
    import array_api_strict

    return array_api_strict.__version__, ["CPU_DEVICE"], array_api_strict.zeros(1)


def _probe_paddle() -> tuple[str, list[str], Any]:
    import paddle

    devices = ["cpu"] + [f"gpu:{i}" for i in range(paddle.device.cuda.device_count())]
    return paddle.__version__, devices, paddle.zeros([1])


_INFO_PROBES: dict[str, Callable[[], tuple[str, list[str], Any]]] = {
    "numpy": _probe_numpy,
    "torch": _probe_torch,
    "jax": _probe_jax,
    "cupy": _probe_cupy,
    "dask": _probe_dask,
    "array_api_strict": _probe_strict,
    "paddle": _probe_paddle,
}


def registered() -> list[Backend]:
    """The registered fast paths, highest precedence first (the reference serves everything else)."""
    return list(_registry)


def _select(array: Any) -> tuple[Backend, Implementation]:
    _load_plugins()
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
        _load_plugins()  # takes the lock itself: never while holding it
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
