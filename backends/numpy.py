"""NumPy path: the reference formulas, without NumPy's floating-point warnings."""

from __future__ import annotations

from typing import Any

import numpy as np

from paddlefocal._reference import sigmoid_focal_loss


def loss(
    logit: Any, label: Any, normalizer: Any, alpha: Any, gamma: Any, reduction: str, *, xp: Any
) -> Any:
    """Sigmoid focal loss of NumPy arrays."""
    # Paddle returns inf for a zero normalizer and nan for the mean of nothing without a word; the
    # discarded branches of the stable formulas (0 * inf at infinite logits) must not warn either.
    with np.errstate(all="ignore"):
        return sigmoid_focal_loss(logit, label, normalizer, alpha, gamma, reduction, xp=xp)
