"""Recognising arrays: which library an argument belongs to, its namespace, device and 0-D value.

What depends on an array's type alone (its library and namespace, its float dtypes and their limits,
how to find its device, whether its values can be read now) is worked out once per type and kept in a
``Kind``; the cache of kinds is the only state here. What depends on the array itself (a torch
tensor's layout, a Dask array's chunk type) is checked per call by the kind's ``inspect``. Every
refusal raises with the argument's name, so that no backend ever sees an array it cannot serve.
The library table names the ``*_kind`` functions here by string.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from ._errors import FN, InvalidArgumentError, describe
from ._libraries import LIBRARIES, Library, load_target
from ._typing import Namespace

#: NumPy 2.1+ implements the Array API standard in its main namespace; array_api_compat's wrapper
#: module would add ~150 ms to the first call (it imports numpy.f2py among others).
NUMPY_IS_STANDARD = tuple(int(part) for part in np.__version__.split(".")[:2]) >= (2, 1)


def half_limits(namespace: Namespace) -> dict[Any, float] | None:
    """``{float32: limit, float64: limit}`` (NumPy's dtypes under both spellings): half the largest
    number, so that the class weights (1 - alpha, 2 alpha - 1) and gamma +- 1 stay finite."""
    try:
        limits = {}
        for dtype in (namespace.float32, namespace.float64):
            limits[dtype] = float(namespace.finfo(dtype).max) / 2
            if isinstance(dtype, type) and issubclass(dtype, np.generic):
                limits[np.dtype(dtype)] = limits[dtype]
        return limits
    except Exception:  # no float64, or dtype objects that cannot be dict keys: asked per call
        return None


@dataclass(frozen=True, slots=True)
class Kind:
    """What the front-end knows about one array type (its library's arrays share the namespace)."""

    namespace: Namespace
    #: A value equal for arrays on one device (or one set of devices); None where unknown (traced).
    device: Callable[[Any], Any]
    #: A 0-D array's value as a float, or None where it cannot be read now (traced, lazy).
    read: Callable[[Any], float | None] | None = None
    #: ``inspect(array, argname)`` raises for an array that cannot be served (sparse, masked chunks).
    inspect: Callable[[Any, str], None] | None = None
    #: ``autocast(logit, label)``: half inputs inside the library's autocast, in float32 (torch).
    autocast: Callable[[Any, Any], tuple[Any, Any]] | None = None
    #: Whether every dimension is always known (not so for Dask).
    shapes_known: bool = False
    #: The float32 and float64 dtype objects and their limits (``half_limits``).
    limits: dict[Any, float] | None = None
    #: The layout object of arrays that ``inspect`` passes unless nested (torch.strided).
    layout: Any = None


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


def _torch_inspect(strided: Any) -> Callable[[Any, str], None]:
    def inspect(value: Any, argname: str) -> None:
        if value.is_nested:
            raise TypeError(
                f"{FN}: '{argname}' must be a regular (strided) torch tensor, but received a "
                f"nested tensor (layout {value.layout}); pad it first, e.g. "
                "torch.nested.to_padded_tensor"
            )
        if value.layout is not strided:
            raise TypeError(
                f"{FN}: '{argname}' must be a dense (strided) torch tensor, but received a tensor "
                f"of layout {value.layout}; convert it with .to_dense()"
            )

    return inspect


def _torch_read(value: Any) -> float | None:
    import torch

    # Under torch.compile or a torch.func transform the value is symbolic: reading it would break
    # the graph (an error under fullgraph=True) or fail inside vmap. On a GPU it would wait for the
    # device: a synchronization per call, which the GPU path never makes.
    if torch.compiler.is_compiling() or value.device.type != "cpu":
        return None
    wrapped = torch._C._functorch.is_functorch_wrapped_tensor(value)
    return None if wrapped else float(value.detach().item())


def _torch_device(value: Any) -> Any:
    return value.device


def _torch_autocast(logit: Any, label: Any) -> tuple[Any, Any]:
    """Half logit or label inside ``torch.autocast``, cast to float32 (as torch's own
    ``binary_cross_entropy_with_logits`` and Paddle's AMP compute this loss); otherwise as given,
    and Paddle's dtype rule refuses half inputs."""
    import torch

    halves = (torch.float16, torch.bfloat16)
    if logit.dtype not in halves and getattr(label, "dtype", None) not in halves:
        return logit, label
    if not torch.is_autocast_enabled(logit.device.type):
        return logit, label
    cast = [t.float() if getattr(t, "dtype", None) in halves else t for t in (logit, label)]
    return cast[0], cast[1]


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


def torch_kind(_: Any) -> Kind:
    """torch tensors: their own device, values read unless traced, sparse and nested refused."""
    # array-api-compat's torch namespace by name: its array_namespace() goes through lru_cache'd
    # helpers, which torch.compile warns about when a compiled call is the first to see a tensor.
    import array_api_compat.torch as namespace
    import torch

    inspect = _torch_inspect(torch.strided)
    limits = half_limits(namespace)
    return Kind(
        namespace, _torch_device, _torch_read, inspect, _torch_autocast, True, limits, torch.strided
    )


def _jax_read(value: Any) -> float | None:
    # On a GPU or TPU the value is read only by waiting for the device; a traced one has no devices.
    devices = _jax_device(value)
    return read_float(value) if devices and all(d.platform == "cpu" for d in devices) else None


def jax_kind(value: Any) -> Kind:
    """JAX arrays: the set of devices they live on."""
    namespace = array_api_compat.array_namespace(value)
    return Kind(namespace, _jax_device, _jax_read, shapes_known=True, limits=half_limits(namespace))


def cupy_kind(value: Any) -> Kind:
    """CuPy arrays: on a GPU, so never read (that would wait for the device)."""
    namespace = array_api_compat.array_namespace(value)
    return Kind(namespace, any_device, None, shapes_known=True, limits=half_limits(namespace))


def dask_kind(value: Any) -> Kind:
    """Dask arrays: lazy (never read), masked chunks refused."""
    namespace = array_api_compat.array_namespace(value)
    return Kind(namespace, any_device, None, _dask_inspect, limits=half_limits(namespace))


_NUMPY = np if NUMPY_IS_STANDARD else importlib.import_module("array_api_compat.numpy")
NUMPY_KIND = Kind(_NUMPY, cpu, read_float, shapes_known=True, limits=half_limits(np))

#: Kinds by array type, filled on first sight of each type whose library (in the table) has one
#: namespace per type; other Array API objects are asked each call.
KINDS: dict[type, Kind] = {np.ndarray: NUMPY_KIND}


def _refuse_numpy_subclass(value: Any, argname: str) -> None:
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(
            f"{FN}: '{argname}' must not be a NumPy masked array (its mask would be ignored); "
            "pass a plain array and drop the masked elements, or give them label -100"
        )
    if isinstance(value, np.matrix):
        raise TypeError(
            f"{FN}: '{argname}' must not be a NumPy matrix (always 2-D, its reductions keep two "
            "dimensions); pass np.asarray(" + argname + ")"
        )


def _provided_namespace(value: Any) -> Namespace | None:
    """The namespace a registered backend provides for ``value``'s library (Paddle), if any."""
    from ._registry import namespace_for  # the registry imports the paths: not at import time

    return namespace_for(value)


def _new_kind(value: Any, argname: str) -> Kind:
    """The kind of an array type not seen before; raises for what is not an array."""
    if isinstance(value, np.ndarray):
        # Subclasses (np.memmap, np.recarray, a third party's) are NumPy arrays: one library.
        _refuse_numpy_subclass(value, argname)
        KINDS[type(value)] = NUMPY_KIND
        return NUMPY_KIND
    library = _library(value)
    if library is not None and library.kind is not None and library.namespace is None:
        # A library of the table (torch, JAX, Dask): its kind, without asking who else claims it.
        kind = load_target(library.kind)(value)
    else:
        kind = _generic_kind(value, argname)
    if library is not None and library.namespace_per_type:
        KINDS[type(value)] = kind
    return kind


def _generic_kind(value: Any, argname: str) -> Kind:
    # NumPy scalars (np.float32(1.0)) pass array_api_compat's check but are not arrays: Paddle takes
    # only Tensors, and a 0-D result of a scalar would come back as a scalar. (A normalizer may be
    # one: the front-end makes it a 0-D array before asking.)
    if isinstance(value, np.generic) or not _is_array_like(value):
        raise InvalidArgumentError(
            f"{FN}: '{argname}' must be an array of a supported library (NumPy, CuPy, torch, JAX, "
            f"Dask or any Array API library), but received {describe(value)}"
        )
    provided = _provided_namespace(value)
    if provided is not None:
        return Kind(provided, any_device, read_float)
    try:
        namespace = array_api_compat.array_namespace(value)
    except Exception as exc:  # an object that pretends to be an array
        raise InvalidArgumentError(
            f"{FN}: '{argname}' claims to be an array but its namespace cannot be used: {exc}"
        ) from exc
    missing = [name for name in ("dtype", "shape", "ndim") if not hasattr(value, name)]
    if missing or not hasattr(namespace, "float32"):
        lacks = (
            f"no {', '.join(missing)}" if missing else f"a namespace without dtypes ({namespace!r})"
        )
        raise InvalidArgumentError(
            f"{FN}: '{argname}' claims to be an array (it has __array_namespace__) but has {lacks}; "
            f"received {describe(value)}"
        )
    return Kind(namespace, any_device, read_float, limits=half_limits(namespace))


def _library(value: Any) -> Library | None:
    """The table's entry for ``value``'s library, if the table knows it."""
    for library in LIBRARIES:
        if library.module in sys.modules and library.is_array(value):
            return library
    return None


def _is_array_like(value: Any) -> bool:
    try:
        if array_api_compat.is_array_api_obj(value):
            return True
    except Exception:
        return False
    # A library that array-api-compat does not know, served by a registered backend (Paddle).
    return _provided_namespace(value) is not None


def kind_of(value: Any, argname: str) -> Kind:
    """The kind of ``value``'s type, after its per-array checks; raises if it is no array."""
    kind = KINDS.get(type(value))
    if kind is None:
        kind = _new_kind(value, argname)
    if kind.inspect is not None:
        kind.inspect(value, argname)
    return kind


def is_array(value: Any) -> bool:
    """Whether ``value`` is an array of a supported library (not a Python or NumPy scalar)."""
    if type(value) in KINDS or isinstance(value, np.ndarray):
        return True
    return not isinstance(value, np.generic) and _is_array_like(value)
