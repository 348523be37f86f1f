"""``backends.info()``: the installed array libraries, their devices and the path serving them.

Used by ``paddlefocal backends`` and the demo. Unlike a loss call, this imports every installed library
of the table to ask for its version and devices.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any

import numpy as np

from . import _libraries
from ._libraries import Library

__all__ = ["info", "installed"]


def installed(library: Library) -> bool:
    """Whether the library can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(library.module) is not None
    except (ImportError, ValueError):
        return False


def _row(library: Library) -> dict[str, Any]:
    from ._registry import path_name

    row: dict[str, Any] = {"library": library.name, "extra": library.extra, "installed": True}
    try:
        # Third-party import-time chatter (Paddle's) is not ours to print.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            row["version"] = library.version()
            row["devices"] = library.devices()
            devices = row["devices"]
            sample = library.from_numpy(np.zeros(1, np.float32), devices[0]) if devices else None
        row["path"] = "reference" if sample is None else path_name(sample)
    except Exception as exc:  # installed but broken: say so rather than fail
        row.update(version=row.get("version", "?"), devices=[], path=f"unusable: {exc!r}")
    return row


def info() -> list[dict[str, Any]]:
    """One row per library of the table: name, the extra that installs it, whether it is installed,
    and for installed ones the version, devices and the path serving their arrays.

    Returns
    -------
    list of dict
        Keys ``library``, ``extra``, ``installed``; for installed libraries also ``version``,
        ``devices`` (``"cpu"``, ``"cuda:0"``, ...) and ``path``.
    """
    return [
        _row(library)
        if installed(library)
        else {"library": library.name, "extra": library.extra, "installed": False}
        for library in _libraries.LIBRARIES
    ]
