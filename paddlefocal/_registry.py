"""Dispatch: which path serves an array type. Public as ``paddlefocal.backends``.

The code lives in the core, beside the front-end that calls it on every call; ``backends/`` holds the fast
paths, which import the core, and the core finds them only by name (``"module:function"`` strings in the
library table). So dependencies run one way, and ``backends/__init__.py`` is the public face.

A backend is considered only when its library is already in ``sys.modules`` (a caller cannot hold a
torch tensor without having imported torch), so nothing optional is imported before the caller's arrays
ask for it. The choice is cached per array type. Arrays no backend claims take the reference.

Precedence, highest first: ``register()`` calls (the latest first), then installed plug-ins (entry-point
group ``paddlefocal.backends``, read once, on first need), then the built-in paths. No lock is held while
importing a path or reading entry points, so every function works as the first call of a process, from
many threads at once, and from a plug-in that calls the registry while it is being loaded.

Examples
--------
>>> import numpy as np
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
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from . import _libraries
from ._plugin import Backend, Path, read_plugins
from ._reference import reference_loss
from ._typing import Array, Namespace

__all__ = [
    "REFERENCE",
    "namespace_for",
    "path_name",
    "register",
    "registered",
    "resolve",
    "restored",
    "use",
]

#: The pure Array API path that serves every array no backend claims.
REFERENCE = Backend("reference", "", lambda _: True, reference_loss)


def _builtin() -> tuple[Backend, ...]:
    """The fast paths of the library table (read live: the table is the only list)."""
    return tuple(
        Backend(lib.name, lib.module, lib.is_array, lib.path, lib.namespace)
        for lib in _libraries.LIBRARIES
        if lib.path is not None
    )


_registered: list[Backend] = []  # register() calls, newest first
_plugins: tuple[Backend, ...] | None = None  # None until read
_reader: int | None = None  # the thread reading the plug-ins
_plugins_read = threading.Event()
_claim = threading.Lock()  # held for two assignments only, never while importing
_cache: dict[type, tuple[Backend, Path]] = {}
_forced: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "paddlefocal_use", default=None
)
#: How many use() blocks are open in any thread: the lookup reads the context variable only when one
#: is, because torch.compile cannot trace ContextVar.get (fullgraph=True would fail on every call).
_open_uses = [0]


def _plugin_backends() -> tuple[Backend, ...]:
    """The installed plug-ins, read exactly once; other threads wait for the one that reads them."""
    global _plugins, _reader, _cache
    if _plugins is not None:
        return _plugins
    me = threading.get_ident()
    with _claim:
        first = _reader is None
        if first:
            _reader = me
    if not first:
        if _reader == me:  # a plug-in calls the registry while it is being loaded
            return ()
        _plugins_read.wait()
        return _plugins or ()
    try:
        _plugins = read_plugins()
    finally:
        if _plugins is None:
            _plugins = ()
        _cache = {}
        _plugins_read.set()
    return _plugins


def registered() -> list[Backend]:
    """Every backend in order of precedence, highest first (the reference serves everything else)."""
    return [*_registered, *_plugin_backends(), *_builtin()]


def register(
    name: str,
    module: str,
    is_array: Callable[[Any], bool],
    implementation: str | Path,
    namespace: str | Any | None = None,
) -> None:
    """Register a path for the arrays of one library, ahead of plug-ins, built-ins and earlier calls.

    Parameters
    ----------
    name : str
        The path's name, as ``use`` and ``path_name`` spell it.
    module : str
        The library's top-level module (``"torch"``): the path is considered once it is imported.
    is_array : callable
        ``is_array(x)`` tells whether ``x`` belongs to the library.
    implementation : callable or str
        ``path(call: Call) -> array``, or ``"package.module:function"`` imported on first use.
    namespace : object or str, optional
        For a library that array-api-compat does not know: its namespace (see ``Backend``).

    Raises
    ------
    TypeError, ValueError
        If an argument is malformed; nothing is registered then.
    """
    global _cache
    backend = Backend(name, module, is_array, implementation, namespace)
    _registered.insert(0, backend)
    _cache = {}


def _candidates() -> list[Backend]:
    """``registered()``, except inside a torch.compile trace: Dynamo cannot trace the locks and file
    reads of the plug-in scan, so a first call made there chooses among what is known without it."""
    if _tracing():
        return [*_registered, *(_plugins or ()), *_builtin()]
    return registered()


def _tracing() -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and bool(torch.compiler.is_compiling())


def _select(array: Any, candidates: list[Backend]) -> tuple[Backend, Path]:
    for backend in candidates:
        if backend.module in sys.modules and backend.is_array(array):
            try:
                return backend, backend.load()
            except Exception as exc:  # a broken path must not break the others
                warnings.warn(
                    f"paddlefocal: path {backend.name!r} failed to load and is skipped: {exc!r}",
                    RuntimeWarning,
                    stacklevel=4,
                )
    return REFERENCE, reference_loss


def _lookup(array: Any) -> tuple[Backend, Path]:
    forced = _forced.get() if _open_uses[0] else None
    if forced == "reference":
        return REFERENCE, reference_loss
    cache = _cache
    found = cache.get(type(array))
    if found is None:
        found = _select(array, _candidates())
        if not _tracing():
            cache[type(array)] = found
    if forced is not None and found[0].name != forced:
        kind = type(array)
        raise ValueError(
            f"use({forced!r}) is in force, but arrays of type {kind.__module__}.{kind.__name__} "
            f"are served by {found[0].name!r}"
        )
    return found


def resolve(array: Array) -> Path:
    """The path that serves ``array``'s type: a function taking a ``Call``."""
    return _lookup(array)[1]


def path_name(array: Array) -> str:
    """The name of the path that serves ``array``: a backend's name, or ``'reference'``."""
    return _lookup(array)[0].name


def namespace_for(array: Array) -> Namespace | None:
    """The namespace a backend provides for ``array``'s library, if any (see ``Backend``)."""
    for backend in _candidates():
        if backend.namespace is not None and backend.module in sys.modules:
            if backend.is_array(array):
                return backend.load_namespace()
    return None


@contextlib.contextmanager
def restored() -> Iterator[None]:
    """Inside the block, a registry that has chosen no path yet; afterwards, the ``register()`` calls
    made inside undone (test fixtures use it)."""
    global _cache
    saved = list(_registered)
    _cache = {}
    try:
        yield
    finally:
        _registered[:] = saved
        _cache = {}


@contextlib.contextmanager
def use(name: str) -> Iterator[None]:
    """Force a path within a ``with`` block (thread- and task-local), e.g. ``use("reference")``.

    Raises ``ValueError`` for an unknown name, and inside the block if an array's type is served by
    another path.
    """
    if not isinstance(name, str):
        raise TypeError(f"use: the path name must be a str, but received {name!r}")
    names = {"reference", *(backend.name for backend in registered())}
    if name not in names:
        raise ValueError(f"use: unknown path {name!r}; known paths: {sorted(names)}")
    token = _forced.set(name)
    with _claim:
        _open_uses[0] += 1
    try:
        yield
    finally:
        _forced.reset(token)
        with _claim:
            _open_uses[0] -= 1
