"""Argument checks of the front-end, in Paddle's order, with Paddle's messages where Paddle has one.

Each check raises from here, before any computation, so that a fast path never sees an argument it would
have to re-check, and a user never sees an error from deep inside a backend.
"""

from __future__ import annotations

import math
import numbers
import sys
from typing import Any

import array_api_compat
import numpy as np

from . import _libraries
from ._call import Call
from ._registry import namespace_for
from ._transforms import autocast_to_float32, is_traced_python_int
from ._typing import Array, Namespace, Reduction, Scalar

REDUCTIONS = ("sum", "mean", "none")
_FN = "sigmoid_focal_loss"


def _describe(value: Any) -> str:
    """A short description of a value for an error message: its type, and its repr when short."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


#: Array types whose namespace depends on the type alone (not on the array): looked up once each.
#: Array API objects of other libraries may carry a per-array API version, so they are asked each time.
_TYPE_NAMESPACES: dict[type, Namespace] = {}


def _namespace_per_type(value: Any) -> bool:
    """Whether ``value``'s library (in the table) has one namespace for all arrays of a type."""
    return any(
        lib.namespace_per_type
        and lib.namespace is None
        and lib.module in sys.modules
        and lib.is_array(value)
        for lib in _libraries.LIBRARIES
    )


def _is_array(value: Any) -> bool:
    if type(value) in _TYPE_NAMESPACES:
        return True
    # NumPy scalars (np.float32(1.0)) pass array_api_compat's check but are not arrays: Paddle takes only
    # Tensors, and a 0-D result of a scalar would come back as a scalar.
    if isinstance(value, np.generic):
        return False
    try:
        if array_api_compat.is_array_api_obj(value):
            return True
    except Exception:
        return False
    # A library that array-api-compat does not know, served by a registered backend (Paddle).
    return namespace_for(value) is not None


#: NumPy 2.1+ implements the Array API standard in its main namespace; array_api_compat's wrapper
#: module would add ~150 ms to the first call (it imports numpy.f2py among others).
_NUMPY_IS_STANDARD = tuple(int(part) for part in np.__version__.split(".")[:2]) >= (2, 1)
if _NUMPY_IS_STANDARD:
    _TYPE_NAMESPACES[np.ndarray] = np


def _namespace_of(value: Any, argname: str) -> Namespace:
    cached = _TYPE_NAMESPACES.get(type(value))
    if cached is not None:
        return cached
    if not _is_array(value):
        raise TypeError(
            f"{_FN}: '{argname}' must be an array of a supported library (NumPy, CuPy, torch, JAX, "
            f"Dask or any Array API library), but received {_describe(value)}"
        )
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(
            f"{_FN}: '{argname}' must not be a NumPy masked array (its mask would be ignored); "
            "pass a plain array and drop the masked elements, or give them label -100"
        )
    provided = namespace_for(value)
    if provided is not None:
        return provided
    try:
        namespace = array_api_compat.array_namespace(value)
    except Exception as exc:  # an object that pretends to be an array
        raise TypeError(
            f"{_FN}: '{argname}' claims to be an array but its namespace cannot be used: {exc}"
        ) from exc
    # Exact library types only: a subclass (np.matrix, a third party's ndarray) is asked each time.
    if _namespace_per_type(value) and not _is_subclass_of_base(value):
        _TYPE_NAMESPACES[type(value)] = namespace
    return namespace


def _is_subclass_of_base(value: Any) -> bool:
    """Whether ``value`` is an instance of a strict subclass of NumPy's ndarray."""
    return isinstance(value, np.ndarray) and type(value) is not np.ndarray


def _library(value: Any) -> str:
    return type(value).__module__.split(".")[0]


def _same_namespace(xp: Namespace, value: Any, argname: str, logit: Any) -> None:
    other = _namespace_of(value, argname)
    if other is not xp:
        raise TypeError(
            f"{_FN}: '{argname}' must be an array of the same library as 'logit' "
            f"({_library(logit)}.{type(logit).__name__}), but received "
            f"{_library(value)}.{type(value).__name__}"
        )


def _check_float_dtype(xp: Namespace, value: Array, argname: str) -> None:
    if value.dtype not in (xp.float32, xp.float64):
        raise TypeError(
            f"{_FN}: '{argname}' must have dtype float32 or float64, but received dtype {value.dtype}"
        )


def _shape(value: Array) -> tuple[Any, ...]:
    return tuple(value.shape)


def _device(value: Array) -> Any:
    try:
        return array_api_compat.device(value)
    except Exception:
        # Libraries outside the Array API (Paddle) name their device otherwise.
        place = getattr(value, "place", None)
        return None if place is None else str(place)


def _scalar(xp: Namespace, value: Any, argname: str, logit: Array) -> Scalar:
    # bool is an int subclass: alpha=True is almost surely a mistake, not alpha=1.
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{_FN}: '{argname}' must be an int or a float, but received {_describe(value)}"
        )
    if isinstance(value, numbers.Real):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{_FN}: '{argname}' must be finite, but received {value!r}")
        return number
    if _is_array(value):
        _same_namespace(xp, value, argname, logit)
        if value.ndim != 0:
            raise ValueError(
                f"{_FN}: '{argname}' must be a number or a 0-D array, but received an array of "
                f"shape {_shape(value)}"
            )
        if is_traced_python_int(value):
            return xp.astype(value, logit.dtype)
        _check_float_dtype(xp, value, argname)
        return value
    raise TypeError(
        f"{_FN}: '{argname}' must be an int, a float or a 0-D floating array, but received "
        f"{_describe(value)}"
    )


def _check_torch_meta(value: Any, argname: str) -> None:
    if array_api_compat.is_torch_array(value) and value.is_meta:
        raise ValueError(
            f"{_FN}: '{argname}' is on torch's 'meta' device, which holds no data; "
            "pass a tensor on 'cpu' or 'cuda'"
        )


def validate(
    logit: Any,
    label: Any,
    normalizer: Any,
    alpha: Any,
    gamma: Any,
    reduction: Any,
) -> Call:
    """Check every argument in Paddle's order and return them in the form the implementations take."""
    # 1. Paddle checks reduction before anything else, with this message.
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(
            f"The value of 'reduction' in {_FN} should be 'sum', 'mean' or 'none', but received "
            f"{reduction}, which is not allowed."
        )
    checked: Reduction = reduction  # type: ignore[assignment]  # narrowed by the check above
    logit, label, normalizer = autocast_to_float32(logit, label, normalizer)
    # 2. logit and label: arrays of one supported library.
    xp = _namespace_of(logit, "logit")
    _same_namespace(xp, label, "label", logit)
    # 3. dtypes: Paddle registers its kernels for float32 and float64 only.
    _check_float_dtype(xp, logit, "logit")
    _check_float_dtype(xp, label, "label")
    if label.dtype != logit.dtype:
        raise TypeError(
            f"{_FN}: 'label' must have the same dtype as 'logit' ({logit.dtype}), but received "
            f"dtype {label.dtype}"
        )
    # 4. shapes: equal, no broadcasting.
    if _shape(label) != _shape(logit):
        raise ValueError(
            f"{_FN}: 'label' must have the same shape as 'logit' (no broadcasting), but received "
            f"label shape {list(_shape(label))} and logit shape {list(_shape(logit))}"
        )
    # 5. normalizer: None, or a 0-D / [1] floating array of the same library.
    if normalizer is not None:
        if not _is_array(normalizer):
            raise TypeError(
                f"{_FN}: 'normalizer' must be None or an array of shape [] or [1] of the same library "
                f"as 'logit', but received {_describe(normalizer)}"
            )
        _same_namespace(xp, normalizer, "normalizer", logit)
        if normalizer.ndim > 1:
            raise ValueError(
                f"Expected zero or one dimension of normalizer in {_FN} but got {normalizer.ndim}."
            )
        if _shape(normalizer) not in ((), (1,)):
            raise ValueError(
                f"{_FN}: 'normalizer' must have shape [] or [1], but received shape "
                f"{list(_shape(normalizer))}"
            )
        _check_float_dtype(xp, normalizer, "normalizer")
    # 6. alpha and gamma.
    alpha = _scalar(xp, alpha, "alpha", logit)
    gamma = _scalar(xp, gamma, "gamma", logit)
    # 7. one device for all arrays.
    arrays = {
        "logit": logit,
        "label": label,
        "normalizer": normalizer,
        "alpha": alpha,
        "gamma": gamma,
    }
    # By now alpha and gamma are floats or arrays and normalizer is None or an array: only arrays are
    # asked, since asking a float scans the registry (under torch.compile, ~3000 guards per call).
    present = {
        name: value
        for name, value in arrays.items()
        if value is not None and not isinstance(value, float) and _is_array(value)
    }
    if type(logit) is np.ndarray:
        # NumPy arrays are all on the CPU; the comparisons below cost more than the whole small call.
        return _finish(xp, logit, label, normalizer, alpha, gamma, checked)
    for name, value in present.items():
        _check_torch_meta(value, name)
    reference_device = _device(logit)
    for name, value in present.items():
        device = _device(value)
        if device is not None and reference_device is not None and device != reference_device:
            raise ValueError(
                f"{_FN}: all arrays must be on one device, but 'logit' is on {reference_device} and "
                f"'{name}' is on {device}"
            )

    return _finish(xp, logit, label, normalizer, alpha, gamma, checked)


def _finish(
    xp: Namespace,
    logit: Array,
    label: Array,
    normalizer: Array | None,
    alpha: Scalar,
    gamma: Scalar,
    reduction: Reduction,
) -> Call:
    """The arguments in the form implementations take."""
    # Implementations receive a 0-D normalizer and 0-D alpha/gamma of logit's dtype: the result keeps
    # logit's dtype (Paddle promotes float32 to float64 with a float64 normalizer) and logit's shape
    # (Paddle broadcasts a 0-D logit to [1] with a [1] normalizer).
    if normalizer is not None:
        normalizer = xp.astype(xp.reshape(normalizer, ()), logit.dtype, copy=False)
    if not isinstance(alpha, float):
        alpha = xp.astype(alpha, logit.dtype, copy=False)
    if not isinstance(gamma, float):
        gamma = xp.astype(gamma, logit.dtype, copy=False)
    return Call(logit, label, normalizer, alpha, gamma, reduction, xp)
