"""How the front-end treats each library's arrays: device, readable 0-D values, per-array refusals.

A ``Kind`` is worked out once per array type. The libraries that need more than the generic one
(``any_device``, ``read_float``) name a function here in their ``kind`` field of the library table,
which makes their ``Kind`` from the namespace on the first array of theirs the front-end sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from ._typing import Namespace

__all__ = ["Kind", "any_device", "cpu", "dask_kind", "jax_kind", "read_float", "torch_kind"]

FN = "sigmoid_focal_loss"


@dataclass(frozen=True, slots=True)
class Kind:
    """What the front-end knows about one array type.

    Attributes
    ----------
    namespace : namespace
        The Array API namespace; arrays of one library share it (NumPy subclasses included).
    device : callable
        ``device(array)``: a value equal for arrays on one device (or one set of devices), or None
        where it cannot be known (a traced array).
    read : callable or None
        ``read(array)``: a 0-D array's value as a float, or None where it cannot be read now (traced,
        lazy). None: never readable.
    inspect : callable or None
        ``inspect(array, argname)`` raises for an array of this type that cannot be served (a sparse
        tensor, masked chunks).
    """

    namespace: Namespace
    device: Callable[[Any], Any]
    read: Callable[[Any], float | None] | None = None
    inspect: Callable[[Any, str], None] | None = None
    #: For the front-end's early route (torch): (array type, strided layout, {dtype: limit}, namespace).
    early: tuple[Any, Any, dict[Any, float], Namespace] | None = None


def any_device(value: Any) -> Any:
    try:
        return array_api_compat.device(value)
    except Exception:
        # Libraries outside the Array API (Paddle) name their device otherwise.
        place = getattr(value, "place", None)
        return None if place is None else str(place)


def read_float(value: Any) -> float | None:
    try:
        return float(value)
    except Exception:  # traced or lazy: not readable now
        return None


def cpu(_: Any) -> str:
    return "cpu"


def _torch_inspect(value: Any, argname: str) -> None:
    import torch

    if value.is_nested:
        raise TypeError(
            f"{FN}: '{argname}' must be a regular (strided) torch tensor, but received a nested "
            f"tensor (layout {value.layout}); pad it first, e.g. torch.nested.to_padded_tensor"
        )
    if value.layout is not torch.strided:
        raise TypeError(
            f"{FN}: '{argname}' must be a dense (strided) torch tensor, but received a tensor of "
            f"layout {value.layout}; convert it with .to_dense()"
        )


def _torch_read(value: Any) -> float | None:
    import torch

    # Under torch.compile or a torch.func transform the value is symbolic: reading it would break
    # the graph (an error under fullgraph=True) or fail inside vmap.
    if torch.compiler.is_compiling() or torch._C._functorch.is_functorch_wrapped_tensor(value):
        return None
    return float(value.detach().item())


def _torch_device(value: Any) -> Any:
    return value.device


def _jax_device(value: Any) -> Any:
    # A sharded array lives on a set of devices; arrays over the same set are on "one device" for
    # the loss (XLA moves shards within it). A traced array has no devices to compare.
    try:
        return frozenset(value.devices())
    except Exception:
        return None


def _dask_inspect(value: Any, argname: str) -> None:
    if isinstance(getattr(value, "_meta", None), np.ma.MaskedArray):
        raise TypeError(
            f"{FN}: '{argname}' must not be a Dask array of NumPy masked arrays (da.ma): its mask "
            "would be ignored; pass plain chunks and drop the masked elements, or give them "
            "label -100"
        )


def torch_kind(namespace: Namespace) -> Kind:
    """torch tensors: their own device, values read unless traced, sparse and nested refused."""
    import torch

    half_max = {t: float(torch.finfo(t).max) / 2 for t in (torch.float32, torch.float64)}
    early = (torch.Tensor, torch.strided, half_max, namespace)
    return Kind(namespace, _torch_device, _torch_read, _torch_inspect, early)


def jax_kind(namespace: Namespace) -> Kind:
    """JAX arrays: the set of devices they live on."""
    return Kind(namespace, _jax_device, read_float)


def dask_kind(namespace: Namespace) -> Kind:
    """Dask arrays: lazy (never read), masked chunks refused."""
    return Kind(namespace, any_device, None, _dask_inspect)
