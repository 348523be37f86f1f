"""Mirrors ``paddle.nn.functional``: a port changes only the import.

``import paddle.nn.functional as F`` becomes ``import paddlefocal.nn.functional as F``.
"""

from .._loss import sigmoid_focal_loss

__all__ = ["sigmoid_focal_loss"]
