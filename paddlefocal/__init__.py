"""paddlefocal: Paddle's ``sigmoid_focal_loss`` for NumPy, CuPy, torch, JAX and Dask arrays.

>>> import paddlefocal
>>> paddlefocal.sigmoid_focal_loss is paddlefocal.nn.functional.sigmoid_focal_loss
True
"""

from __future__ import annotations

import sys

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

if "torch" in sys.modules:
    # torch.compile cannot trace an import: where torch is already loaded, its path is loaded now, so
    # that the first loss of the process may be inside a compiled step. (Imported later, torch gets its
    # path on the first eager call; nothing optional is ever imported here.)
    from .backends import torch as _torch_path  # noqa: F401
