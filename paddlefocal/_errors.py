"""How the front-end words and classes its refusals: the function's name, a short description of a
value, the exception that is both a TypeError and a ValueError, and the refusal of unknown shapes."""

from __future__ import annotations

import math
from typing import Any

import array_api_compat

__all__ = [
    "FN",
    "InvalidArgumentError",
    "check_known_shape",
    "describe",
    "describe_device",
    "type_name",
]

FN = "sigmoid_focal_loss"


class InvalidArgumentError(TypeError, ValueError):
    """A wrong type or dtype of an array argument: a TypeError, and a ValueError as in Paddle.

    Paddle raises ValueError ``(InvalidArgument)`` for a logit that is not a Tensor, a logit dtype
    without a kernel and a label dtype other than logit's; Python code expects a TypeError there.
    Like NumPy's ``AxisError`` (a ValueError and an IndexError), this is both, so that ``except
    ValueError`` of ported Paddle code and ``except TypeError`` both catch it.
    """


def describe(value: Any) -> str:
    """A short description of a value for an error message: its type, and its repr when short."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def type_name(value: Any) -> str:
    """``library.Type`` of a value, as messages name it (``numpy.ndarray``, ``torch.Tensor``)."""
    return f"{type(value).__module__.split('.')[0]}.{type(value).__name__}"


def describe_device(device: Any) -> str:
    """A device for a message; a set of devices (a sharded JAX array) in a stable order."""
    if isinstance(device, frozenset):
        return "{" + ", ".join(sorted(str(d) for d in device)) + "}"
    return str(device)


def check_known_shape(value: Any, argname: str) -> None:
    """ValueError if a dimension is unknown (None, or nan in Dask after boolean indexing)."""
    shape = tuple(value.shape)
    if any(size is None or (isinstance(size, float) and math.isnan(size)) for size in shape):
        sizes = ", ".join(str(size) for size in shape)
        hint = (
            f"call {argname}.compute_chunk_sizes() first (Dask cannot know the chunk sizes that "
            "boolean indexing makes)"
            if array_api_compat.is_dask_array(value)
            else "compute its size first"
        )
        raise ValueError(
            f"{FN}: '{argname}' must have a known shape, but received shape [{sizes}] with "
            f"unknown sizes; {hint}"
        )
