"""The interface a backend implements, and the reading of installed plug-ins.

A backend names a library (its module, how to tell its arrays) and a path ``path(call) -> array``
(``PATH_API`` 1); distributions publish one in the entry-point group ``paddlefocal.backends``.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ._call import PATH_API, Call
from ._libraries import load_target
from ._typing import Array, Namespace

__all__ = ["ENTRY_POINT_GROUP", "Backend", "Path", "loading", "read_plugins"]

ENTRY_POINT_GROUP = "paddlefocal.backends"  # the group distributions add backends through


class Path(Protocol):
    """A path: the validated call in, the loss (of the call's library, device and dtype) out."""

    def __call__(self, call: Call, /) -> Array: ...


def _check_target(value: Any, what: str) -> None:
    if isinstance(value, str):
        module, colon, attribute = value.partition(":")
        if not (colon and module and attribute.isidentifier()):
            expected = "a callable or a 'package.module:attribute' string"
            raise ValueError(f"Backend: {what!r} must be {expected}, but received {value!r}")
    elif not callable(value) and what == "target":
        raise TypeError(f"Backend: 'target' must be callable or a string, but received {value!r}")


@dataclass(frozen=True)
class Backend:
    """A path for the arrays of one library.

    Attributes
    ----------
    name : str
        The path's name, as ``use`` and ``path_name`` spell it.
    module : str
        The library's top-level module; the backend is considered only once it is imported.
    is_array : callable
        Whether an array belongs to this backend.
    target : str or callable
        The path, ``path(call) -> array``, or ``"package.module:function"`` to import on first use.
    namespace : str or object, optional
        For a library array-api-compat does not know: its namespace (front-end and reference).
    api : int
        The version of the path interface the backend was written for (``PATH_API``).
    """

    name: str
    module: str
    is_array: Callable[[Any], bool]
    target: str | Path
    namespace: str | Any | None = None
    api: int = PATH_API

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"Backend: 'name' must be a non-empty str, but received {self.name!r}")
        if not isinstance(self.module, str):
            raise TypeError(f"Backend: 'module' must be a str, but received {self.module!r}")
        if not callable(self.is_array):
            raise TypeError(f"Backend: 'is_array' must be callable, but received {self.is_array!r}")
        _check_target(self.target, "target")
        _check_target(self.namespace, "namespace")
        if self.api != PATH_API:
            have = f"but this paddlefocal provides version {PATH_API}"
            raise ValueError(
                f"Backend {self.name!r}: written for path interface {self.api}, {have}"
            )

    def load(self) -> Path:
        """The path, imported if named by a string (waiting for another thread importing it)."""
        return _load(self.target)

    def load_namespace(self) -> Namespace | None:
        """The namespace, imported if named by a string; None if the backend brings none."""
        return None if self.namespace is None else _load(self.namespace)


def loading(target: Any) -> bool:
    """Whether ``target``'s module is being imported (by this thread, once ``load`` returned)."""
    name = target.partition(":")[0] if isinstance(target, str) else ""
    return bool(getattr(getattr(sys.modules.get(name), "__spec__", None), "_initializing", False))


def _load(target: Any) -> Any:
    if loading(target):  # half-initialized in sys.modules: importlib waits for its importer
        importlib.import_module(target.partition(":")[0])
    return load_target(target)


def read_plugins(reserved: set[str]) -> tuple[Backend, ...]:
    """Installed plug-ins, latest-listed first; broken or ``reserved``-named ones warn, skipped."""
    import importlib.metadata  # here: it costs ~40 ms, paid by the first lookup only

    try:
        entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    except Exception as exc:  # a broken installation must not break unrelated calls
        warnings.warn(f"paddlefocal: cannot read plug-ins: {exc!r}", RuntimeWarning, stacklevel=5)
        return ()
    found: list[Backend] = []
    for entry_point in entry_points:
        try:
            backend = entry_point.load()
            if not isinstance(backend, Backend) and callable(backend):
                backend = backend()
            if not isinstance(backend, Backend):
                raise TypeError(f"expected a paddlefocal.backends.Backend, got {backend!r}")
            if backend.name in reserved:
                raise ValueError(f"the name {backend.name!r} is reserved")
        except Exception as exc:
            what = f"backend plug-in {entry_point.name!r} ({entry_point.value})"
            warnings.warn(
                f"paddlefocal: {what} failed to load and is skipped: {exc!r}", RuntimeWarning, 5
            )
            continue
        found.insert(0, backend)
    return tuple(found)
