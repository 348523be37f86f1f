"""paddlefocal: Paddle's ``sigmoid_focal_loss`` for NumPy, CuPy, torch, JAX and Dask arrays.

>>> import paddlefocal
>>> paddlefocal.sigmoid_focal_loss is paddlefocal.nn.functional.sigmoid_focal_loss
True
"""

from __future__ import annotations

from . import nn
from ._after_import import after_import
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
    from .backends import torch as _torch_path  # noqa: F401


# torch.compile cannot trace an import, and the first loss of a process may be a compiled one: the
# torch path is loaded as soon as torch is (now, where torch is loaded already). Nothing optional is
# ever imported here.
after_import("torch", _load_torch_path)
