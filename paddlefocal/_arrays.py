"""Recognising arrays: which library an argument belongs to, its namespace, its device, its 0-D value.

What depends on an array's type alone (its library and namespace, how to find its device, whether its
values can be read now) is worked out once per type and kept in a ``Kind``. What depends on the array
itself (a torch tensor's layout, a Dask array's chunk type or unknown chunk sizes) is checked per call
by the kind's ``inspect``. Every refusal raises here with the argument's name, so that no backend ever
sees an array it cannot serve.
"""

from __future__ import annotations

import importlib
import math
import sys
from typing import Any

import array_api_compat
import numpy as np

from ._kinds import FN, Kind, any_device, cpu, read_float
from ._libraries import LIBRARIES, Library, load_target
from ._registry import namespace_for
from ._typing import Array, Namespace

#: NumPy 2.1+ implements the Array API standard in its main namespace; array_api_compat's wrapper
#: module would add ~150 ms to the first call (it imports numpy.f2py among others).
NUMPY_IS_STANDARD = tuple(int(part) for part in np.__version__.split(".")[:2]) >= (2, 1)


def describe(value: Any) -> str:
    """A short description of a value for an error message: its type, and its repr when short."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def type_name(value: Any) -> str:
    """``library.Type`` of a value, as messages name it (``numpy.ndarray``, ``torch.Tensor``)."""
    return f"{type(value).__module__.split('.')[0]}.{type(value).__name__}"


NUMPY_KIND = Kind(
    np if NUMPY_IS_STANDARD else importlib.import_module("array_api_compat.numpy"),
    cpu,
    read_float,
)

#: Kinds by array type, filled on first sight of each type whose library (in the table) has one
#: namespace per type; other Array API objects are asked each call.
_KINDS: dict[type, Kind] = {np.ndarray: NUMPY_KIND}

#: torch.Tensor, once torch has been seen, and what the early route compares tensors with:
#: (torch.Tensor, torch.strided, {float32: limit, float64: limit}, the namespace).
torch_tensor: type | None = None
torch_facts: tuple[Any, Any, dict[Any, float], Namespace] | None = None


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


def _new_kind(value: Any, argname: str) -> Kind:
    """The kind of an array type not seen before; raises TypeError for what is not an array."""
    global torch_tensor, torch_facts
    if isinstance(value, np.ndarray):
        # Subclasses (np.memmap, np.recarray, a third party's) are NumPy arrays: one library.
        _refuse_numpy_subclass(value, argname)
        _KINDS[type(value)] = NUMPY_KIND
        return NUMPY_KIND
    # NumPy scalars (np.float32(1.0)) pass array_api_compat's check but are not arrays: Paddle takes
    # only Tensors, and a 0-D result of a scalar would come back as a scalar. (A normalizer may be
    # one: the front-end makes it a 0-D array before asking.)
    if isinstance(value, np.generic) or not _is_array_like(value):
        raise TypeError(
            f"{FN}: '{argname}' must be an array of a supported library (NumPy, CuPy, torch, JAX, "
            f"Dask or any Array API library), but received {describe(value)}"
        )
    provided = namespace_for(value)
    if provided is not None:
        return Kind(provided, any_device, read_float)
    try:
        namespace = array_api_compat.array_namespace(value)
    except Exception as exc:  # an object that pretends to be an array
        raise TypeError(
            f"{FN}: '{argname}' claims to be an array but its namespace cannot be used: {exc}"
        ) from exc
    missing = [name for name in ("dtype", "shape", "ndim") if not hasattr(value, name)]
    if missing or not hasattr(namespace, "float32"):
        lacks = (
            f"no {', '.join(missing)}" if missing else f"a namespace without dtypes ({namespace!r})"
        )
        raise TypeError(
            f"{FN}: '{argname}' claims to be an array (it has __array_namespace__) but has {lacks}; "
            f"received {describe(value)}"
        )
    library = _library(value)
    make = None if library is None or library.kind is None else load_target(library.kind)
    kind: Kind = make(namespace) if make is not None else Kind(namespace, any_device, read_float)
    if kind.early is not None:
        torch_tensor, torch_facts = kind.early[0], kind.early
    if library is not None and library.namespace_per_type:
        _KINDS[type(value)] = kind
    return kind


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
    return namespace_for(value) is not None


def kind_of(value: Any, argname: str) -> Kind:
    """The kind of ``value``'s type, after its per-array checks; TypeError if it is no array."""
    kind = _KINDS.get(type(value))
    if kind is None:
        kind = _new_kind(value, argname)
    if kind.inspect is not None:
        kind.inspect(value, argname)
    return kind


def is_array(value: Any) -> bool:
    """Whether ``value`` is an array of a supported library (not a Python or NumPy scalar)."""
    if type(value) in _KINDS:
        return True
    if isinstance(value, np.ndarray):
        return True
    return not isinstance(value, np.generic) and _is_array_like(value)


def check_known_shape(value: Array, argname: str) -> None:
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


def describe_device(device: Any) -> str:
    """A device for a message; a set of devices (a sharded JAX array) in a stable order."""
    if isinstance(device, frozenset):
        return "{" + ", ".join(sorted(str(d) for d in device)) + "}"
    return str(device)
