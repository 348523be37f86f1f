"""Run a callback once a module has been imported: now if it has been, else right after its import."""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["after_import"]


def after_import(name: str, callback: Callable[[], None]) -> None:
    """Call ``callback`` once module ``name`` is imported, without importing it here.

    A failing callback warns and never breaks the caller's import.
    """
    if name in sys.modules:
        _guarded(callback)
    else:
        sys.meta_path.insert(0, _After(name, callback))


def _guarded(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception as exc:
        warnings.warn(f"paddlefocal: {callback.__qualname__} failed ({exc!r})", RuntimeWarning, 3)


class _After(importlib.abc.MetaPathFinder):
    """Finds nothing itself: lets the other finders find the module and wraps its execution."""

    def __init__(self, name: str, callback: Callable[[], None]) -> None:
        self.name, self.callback = name, callback

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != self.name:
            return None
        sys.meta_path.remove(self)  # once, and the other finders find the module
        spec = importlib.util.find_spec(name)
        loader = getattr(spec, "loader", None)
        if loader is not None and hasattr(loader, "exec_module"):
            exec_module, callback = loader.exec_module, self.callback

            def exec_then_call(module: Any) -> None:
                exec_module(module)
                _guarded(callback)

            loader.exec_module = exec_then_call
        return spec
