"""``backends.info()``: the array libraries of the table, installed or not, with their devices and path.

Used by ``paddlefocal backends`` and the demo. Unlike a loss call, this imports every installed library
of the table to ask for its version and devices.
"""

from __future__ import annotations

import contextlib
import importlib.util
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import _libraries
from .._libraries import Library
from .facts import facts, version

__all__ = ["info", "install_hint", "installed", "quiet_imports"]


def installed(library: Library) -> bool:
    """Whether the library can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(library.module) is not None
    except (ImportError, ValueError):
        return False


def install_hint(library: Library) -> str:
    """How to install ``library`` (on a CPU machine): the paddlefocal extra when there is one."""
    known = facts(library)
    if known.install:
        return known.install
    if known.extra:
        return f'pip install "paddlefocal[{known.extra}]"'
    return f"install the distribution that provides the {library.module!r} module"


@contextlib.contextmanager
def quiet_imports() -> Iterator[None]:
    """Silence warnings raised while a third-party library imports (Paddle's ccache and setuptools
    UserWarnings): they are not the user's to act on. Wrap only code that imports such a library."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _row(library: Library) -> dict[str, Any]:
    from .._registry import path_name

    known = facts(library)
    row: dict[str, Any] = {"library": library.name, "extra": known.extra, "installed": True}
    try:
        with quiet_imports():
            row["version"] = version(library)
            row["devices"] = known.devices()
            devices = row["devices"]
            sample = known.from_numpy(np.zeros(1, np.float32), devices[0]) if devices else None
        row["path"] = "reference" if sample is None else path_name(sample)
    except Exception as exc:  # installed but broken: say so rather than fail
        row.update(version=row.get("version", "?"), devices=[], path=f"unusable: {exc!r}")
    return row


def info() -> list[dict[str, Any]]:
    """One row per library of the table, installed or not.

    Returns
    -------
    list of dict
        Keys ``library``, ``extra``, ``installed``; for installed libraries also ``version``,
        ``devices`` (``"cpu"``, ``"cuda:0"``, ...) and ``path``.
    """
    return [
        _row(library)
        if installed(library)
        else {"library": library.name, "extra": facts(library).extra, "installed": False}
        for library in _libraries.LIBRARIES
    ]
