"""paddlefocal: Paddle's ``sigmoid_focal_loss`` for NumPy, CuPy, torch, JAX and Dask arrays.

>>> import paddlefocal
>>> paddlefocal.sigmoid_focal_loss is paddlefocal.nn.functional.sigmoid_focal_loss
True
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import warnings
from typing import Any

from . import nn
from ._errors import InvalidArgumentError
from ._loss import sigmoid_focal_loss
from ._threads import get_num_threads, set_num_threads

__all__ = [
    "InvalidArgumentError",
    "__version__",
    "get_num_threads",
    "nn",
    "set_num_threads",
    "sigmoid_focal_loss",
]

__version__ = "0.1.0"


def _load_torch_path() -> None:
    try:
        from .backends import torch as _torch_path  # noqa: F401
    except Exception as exc:  # never break the caller's import of torch: the first call retries
        warnings.warn(f"paddlefocal: its torch path did not load ({exc!r})", RuntimeWarning, 2)


class _AfterTorchImport(importlib.abc.MetaPathFinder):
    """Loads the torch path right after torch itself is imported, if that comes after paddlefocal:
    torch.compile cannot trace an import, and the first loss of the process may be a compiled one."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "torch":
            return None
        sys.meta_path.remove(self)  # once, and the other finders find torch
        spec = importlib.util.find_spec(name)
        loader = getattr(spec, "loader", None)
        if loader is not None and hasattr(loader, "exec_module"):
            exec_module = loader.exec_module

            def exec_then_load(module: Any) -> None:
                exec_module(module)
                _load_torch_path()

            loader.exec_module = exec_then_load
        return spec


if "torch" in sys.modules:
    # torch.compile cannot trace an import: where torch is already loaded, its path is loaded now.
    # Nothing optional is ever imported here.
    _load_torch_path()
else:
    sys.meta_path.insert(0, _AfterTorchImport())
