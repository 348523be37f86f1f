"""paddlefocal: Paddle's ``sigmoid_focal_loss`` for NumPy, CuPy, torch, JAX and Dask arrays.

>>> import paddlefocal
>>> paddlefocal.sigmoid_focal_loss is paddlefocal.nn.functional.sigmoid_focal_loss
True
"""

from __future__ import annotations

from . import nn
from ._loss import sigmoid_focal_loss

__all__ = ["__version__", "nn", "sigmoid_focal_loss"]

__version__ = "0.1.0"
