"""Dispatch: which path serves an array type. Public as ``paddlefocal.backends``.

The code lives in the core, beside the front-end that calls it on every call; the core finds the fast
paths in ``backends/`` only by name (``"module:function"`` strings in the library table). A backend is
considered only when its library is in ``sys.modules``, so nothing optional is imported before the
caller's arrays ask for it. The choice is cached per array type; arrays no backend claims take the
reference. Precedence, highest first: ``register()`` calls (the latest first), installed plug-ins
(entry-point group ``paddlefocal.backends``, read once, on first need), the built-in paths. No lock is
held while importing a path or reading entry points, so every function works as the first call of a
process, from many threads at once, and from a plug-in that calls the registry while being loaded.

>>> import numpy as np
>>> from paddlefocal import backends
>>> with backends.use("reference"):
...     backends.path_name(np.zeros(3, np.float32))
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

import array_api_compat

from . import _libraries
from ._plugin import Backend, Path, loading, read_plugins
from ._reference import reference_loss
from ._typing import Array, Namespace

__all__ = ["REFERENCE", "namespace_for", "path_name", "register", "registered", "resolve", "use"]

#: The pure Array API path that serves every array no backend claims.
REFERENCE = Backend("reference", "", lambda _: True, reference_loss)


def _builtin() -> tuple[Backend, ...]:
    """The fast paths of the library table (read live: the table is the only list), then the paths
    that only ``use()`` selects."""
    table = _libraries.LIBRARIES
    main = (Backend(t.name, t.module, t.is_array, t.path, t.namespace) for t in table if t.path)
    forced = (Backend(n, t.module, t.is_array, p, t.namespace) for t in table for n, p in t.forced)
    return (*main, *forced)


_registered: list[Backend] = []  # register() calls, newest first
_plugins: tuple[Backend, ...] | None = None  # None until read
_reader: int | None = None  # the thread reading the plug-ins
_plugins_read = threading.Event()
_claim = threading.Lock()  # held for one assignment, never while importing
_cache: dict[type, tuple[Backend, Path]] = {}
_warned: set[str] = set()  # backends whose failure has been reported once
_broken: set[str] = set()  # backends whose path failed to load (not while it was still loading)
_forced: contextvars.ContextVar[str | None] = contextvars.ContextVar("use", default=None)


class _Open(threading.local):
    """The use() blocks open in this thread, which a torch.compile trace reads instead of _forced:
    Dynamo cannot trace ContextVar.get, and guards this per calling thread (no recompiles)."""

    names: tuple[str, ...] = ()  # a class default: a missing attribute costs 1 us a lookup


_here = _Open()
PLUGIN_WAIT = 2.0  # seconds another thread waits for the plug-in read (the reader may wait for it)
_NOT_ARRAYS = (type(None), bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset)


def _plugin_backends() -> tuple[Backend, ...] | None:
    """The plug-ins, read once; None while a read is under way (choose without, cache nothing)."""
    global _plugins, _reader
    if _plugins is not None:
        return _plugins
    with _claim:
        first, _reader = _reader is None, _reader or threading.get_ident()
    if not first:  # None if this thread is the reader, or the reader may be waiting for it
        waited = _reader != threading.get_ident() and _plugins_read.wait(PLUGIN_WAIT)
        return _plugins if waited else None
    try:
        _plugins = read_plugins(reserved={"reference", *(b.name for b in _builtin())})
    finally:
        _plugins = _plugins or ()
        _plugins_read.set()
    return _plugins


def registered() -> list[Backend]:
    """Every backend in order of precedence, highest first (the reference serves everything else)."""
    return [*_registered, *(_plugin_backends() or ()), *_builtin()]


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
        The path's name, as ``use`` and ``path_name`` spell it: not ``'reference'`` nor a built-in
        path's name. A second registration under one name replaces the first.
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
        If an argument is malformed or the name is reserved; nothing is registered then.
    """
    global _cache
    backend = Backend(name, module, is_array, implementation, namespace)
    reserved = ["reference", *(b.name for b in _builtin())]
    if name in reserved:
        raise ValueError(f"register: the name {name!r} is reserved; reserved names: {reserved}")
    _registered[:] = [backend, *(b for b in _registered if b.name != name)]
    _cache = {}
    _broken.discard(name)


def _candidates() -> tuple[list[Backend], bool]:
    """The backends to choose among, and whether to cache the choice (a trace skips the plug-in scan)."""
    plugins = _plugins if _tracing() else _plugin_backends()
    return [*_registered, *(plugins or ()), *_builtin()], plugins is not None and not _tracing()


def _tracing() -> bool:
    return "torch" in sys.modules and bool(sys.modules["torch"].compiler.is_compiling())


def _warn_once(backend: Backend, what: str, exc: Exception) -> bool:
    if backend.name not in _warned:
        _warned.add(backend.name)
        message = f"paddlefocal: path {backend.name!r} {what} and is skipped: {exc!r}"
        warnings.warn(message, RuntimeWarning, 5)
    return False


def _claims(backend: Backend, array: Any) -> bool:
    if backend.module not in sys.modules or backend.name in _broken:
        return False
    try:
        return bool(backend.is_array(array))
    except Exception as exc:  # a plug-in's check that fails on foreign arrays must not break them
        return _warn_once(backend, "failed to recognise an array", exc)


def _select(array: Any, forced: str | None, who: str) -> tuple[tuple[Backend, Path], bool]:
    """The path for ``array`` (the backend called ``forced``, if given), and whether to cache it."""
    candidates, cacheable = _candidates()
    for backend in candidates:
        if (forced is None or backend.name == forced) and _claims(backend, array):
            try:
                return (backend, backend.load()), cacheable
            except Exception as exc:  # a broken path must not break the others
                cacheable = False  # never cache a fallback for an array a backend claims
                if not loading(backend.target):  # this thread imports it already: ask again later
                    _broken.add(backend.name)
                    _warn_once(backend, "failed to load", exc)
    if isinstance(array, _NOT_ARRAYS) or not array_api_compat.is_array_api_obj(array):
        raise TypeError(
            f"{who}: expected an array of a supported library (NumPy, CuPy, torch, JAX, Dask or "
            f"any Array API library), but received {type(array).__name__} {repr(array)[:60]}"
        )
    return (REFERENCE, reference_loss), cacheable


def _lookup(array: Any, who: str) -> tuple[Backend, Path]:
    names = _here.names
    forced = (names[-1] if _tracing() else _forced.get()) if names else None
    if forced == "reference":
        return REFERENCE, reference_loss
    cache = _cache
    found = cache.get(type(array)) if forced is None else None
    if found is None:
        found, cacheable = _select(array, forced, who)
        if forced is None and cacheable:
            cache[type(array)] = found
        elif forced is not None and found[0] is REFERENCE:
            kind, usual = type(array), _select(array, None, who)[0][0].name
            where = f"arrays of type {kind.__module__}.{kind.__name__} are served by {usual!r}"
            raise ValueError(f"use({forced!r}) is in force, but {where}")
    return found


def resolve(array: Array) -> Path:
    """The path serving ``array``'s type (a function of a ``Call``); TypeError for a non-array."""
    return _lookup(array, "resolve")[1]


def path_name(array: Array) -> str:
    """The name of the path serving ``array`` (or ``'reference'``); TypeError for a non-array."""
    return _lookup(array, "path_name")[0].name


def namespace_for(array: Array) -> Namespace | None:
    """The namespace a backend brings for ``array``'s library; None if none does (for any value)."""
    found = (b for b in _candidates()[0] if b.namespace is not None and _claims(b, array))
    return next(found, REFERENCE).load_namespace()


@contextlib.contextmanager
def restored() -> Iterator[None]:
    """A registry that has chosen no path yet, and afterwards register() calls made inside undone."""
    global _cache
    saved = list(_registered)
    _cache = {}
    try:
        yield
    finally:
        _registered[:] = saved
        _cache = {}
        _warned.clear()
        _broken.clear()


@contextlib.contextmanager
def use(name: str) -> Iterator[None]:
    """Force a path within a ``with`` block (thread- and task-local), e.g. ``use("reference")``.

    Of the backends claiming an array, the one called ``name`` serves it (so one of two paths for a
    library can be forced); ``ValueError`` for an unknown name, and inside if none of that name claims
    an array. Inside a torch.compile trace the block is per thread.
    """
    if not isinstance(name, str):
        raise TypeError(f"use: the path name must be a str, but received {name!r}")
    known = {"reference", *(backend.name for backend in registered())}
    if name not in known:
        raise ValueError(f"use: unknown path {name!r}; known paths: {sorted(known)}")
    token = _forced.set(name)
    _here.names = (*_here.names, name)
    try:
        yield
    finally:
        _forced.reset(token)
        cut = len(_here.names) - 1 - _here.names[::-1].index(name)  # asyncio: out of order
        _here.names = _here.names[:cut] + _here.names[cut + 1 :]
