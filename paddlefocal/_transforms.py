"""What torch and JAX transforms hand the front-end: traced Python numbers and autocast half inputs.

Two small adjustments that validation makes before Paddle's checks, so that a call inside ``jax.jit`` or
``torch.autocast`` behaves as the same call does eagerly or as torch's own losses do there.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = ["autocast_to_float32", "is_traced_python_int"]


def is_traced_python_int(value: Any) -> bool:
    """Whether ``value`` is a Python int as ``jax.jit`` traces it: a weakly typed integer 0-D tracer.

    Eagerly ``alpha=2`` is accepted; passed as an argument of a jitted function it arrives as such a
    tracer, and must be accepted the same way. An integer array the caller made stays refused.
    """
    aval = getattr(value, "aval", None)
    return bool(getattr(aval, "weak_type", False)) and np.issubdtype(
        np.dtype(value.dtype), np.integer
    )


def autocast_to_float32(logit: Any, label: Any, normalizer: Any) -> tuple[Any, Any, Any]:
    """Half-precision torch inputs inside ``torch.autocast``, cast to float32; anything else as given.

    Inside autocast, torch runs its losses in float32 (its ``binary_cross_entropy_with_logits`` is on
    the float32 list), and Paddle's AMP keeps ``sigmoid_cross_entropy_with_logits`` in float32 too, so
    a float16/bfloat16 logit coming out of an autocast layer is computed in float32 and the result is
    float32. Outside autocast, Paddle's dtype rule stands: half inputs are a TypeError.
    """
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(logit, torch.Tensor):
        return logit, label, normalizer
    half_dtypes = (torch.float16, torch.bfloat16)
    halves = [
        isinstance(t, torch.Tensor) and t.dtype in half_dtypes for t in (logit, label, normalizer)
    ]
    if not any(halves) or not torch.is_autocast_enabled(logit.device.type):
        return logit, label, normalizer
    logit, label, normalizer = (
        t.float() if half else t for t, half in zip((logit, label, normalizer), halves, strict=True)
    )
    return logit, label, normalizer
