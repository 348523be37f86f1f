"""A new kernel is the formula alone: the driver gives it Paddle's semantics.

The toy kernel below (nine lines of NumPy, float64 throughout) is registered for a NumPy subclass
through ``kernel_path``; the blocking, the per-block fallback where it declines, the normalizer, the
reductions and the zero-normalizer rule are the driver's, and the results equal the reference.
"""

from __future__ import annotations

import numpy as np
import pytest
from paddlefocal.backends import use

import paddlefocal.nn.functional as F
from paddlefocal._driver import kernel_path


class Toy(np.ndarray):
    """Arrays that the toy backend claims."""


SEEN: list[int] = []


def toy_kernel(x, y, alpha, gamma, loss, dlogit):
    """Hard labels only (anything else: 'not my block'), in float64."""
    if dlogit is not None or not np.isin(y, (0.0, 1.0)).all() or not np.isfinite(x).all():
        return None
    SEEN.append(x.shape[0])
    z = np.asarray(x, np.float64) * (1.0 - 2.0 * np.asarray(y, np.float64))  # 1 - p_t = sigmoid(z)
    q = 0.5 * (1.0 + np.tanh(0.5 * z))
    values = np.where(y == 1, alpha, 1.0 - alpha) * q**gamma * np.logaddexp(0.0, z)
    if loss is not None:
        loss[...] = values
    return float(np.sum(values))


def _toy(a):
    return np.asarray(a).view(Toy)


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
@pytest.mark.parametrize("normalizer", [None, 4.0, 0.0])
def test_a_toy_kernel_inherits_paddle_semantics_from_the_driver(registry, reduction, normalizer):
    registry.register(
        "toy", "numpy", lambda a: isinstance(a, Toy), kernel_path(toy_kernel, lambda x: 1000)
    )
    rng = np.random.default_rng(0)
    x = rng.normal(0, 4, 2500).astype(np.float32)
    y = (rng.random(2500) < 0.3).astype(np.float32)
    y[1500], x[2200] = 0.5, np.inf  # two blocks the kernel declines: the reference serves them
    norm = None if normalizer is None else np.asarray(normalizer, np.float32)
    SEEN.clear()
    with use("toy"):
        ours = F.sigmoid_focal_loss(_toy(x), _toy(y), norm, 0.25, 2.0, reduction)
    assert SEEN == [1000]  # blocks of 1000, 1000 and 500: two declined
    with use("reference"):
        want = F.sigmoid_focal_loss(x, y, norm, 0.25, 2.0, reduction)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(np.asarray(ours), np.asarray(want), rtol=2e-6, equal_nan=True)
    assert np.asarray(ours).dtype == np.float32 and np.shape(ours) == np.shape(want)
