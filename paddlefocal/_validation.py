"""Argument checks of the front-end, in Paddle's order, with Paddle's messages where Paddle has one.

Each check raises from here (or from ``_arrays``, which recognises arrays), before any computation, so
that a fast path never sees an argument it would have to re-check, and a user never sees an error from
deep inside a backend.

The common calls take an early route (``_early``) that only confirms they are valid; anything else, and
every error, takes the full route here, which says exactly what is wrong.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, cast

import numpy as np

from . import _arrays
from ._arrays import FN, Kind, describe, describe_device, kind_of, type_name
from ._call import Call
from ._early import LIMITS, early_call
from ._transforms import autocast_to_float32, is_traced_python_int
from ._typing import Array, Namespace, Reduction, Scalar

REDUCTIONS = ("sum", "mean", "none")

#: LIMITS for other libraries' dtype objects, keyed by (type, dtype): array-api-strict warns when its
#: dtypes are compared with NumPy's.
_OTHER_LIMITS: dict[tuple[type, Any], float] = {}


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
            f"The value of 'reduction' in {FN} should be 'sum', 'mean' or 'none', but received "
            f"{reduction}, which is not allowed."
        )
    checked = cast(Reduction, reduction)
    call = early_call(logit, label, normalizer, alpha, gamma, checked)
    return call if call is not None else _full(logit, label, normalizer, alpha, gamma, checked)


def _same_library(
    xp: Namespace, value: Any, argname: str, logit: Any, received: Any = None
) -> Kind:
    """The kind of ``value``, an array of ``logit``'s library; ``received`` is what the caller gave."""
    other = kind_of(value, argname)
    if other.namespace is not xp:
        raise TypeError(
            f"{FN}: '{argname}' must be an array of the same library as 'logit' "
            f"({type_name(logit)}), but received {type_name(value if received is None else received)}"
        )
    return other


def _check_float_dtype(xp: Namespace, value: Array, argname: str) -> None:
    if value.dtype not in (xp.float32, xp.float64):
        raise TypeError(
            f"{FN}: '{argname}' must have dtype float32 or float64, but received dtype {value.dtype}"
        )


def _shape(value: Array) -> tuple[Any, ...]:
    return tuple(value.shape)


def _limit(xp: Namespace, dtype: Any) -> float:
    """The largest magnitude of alpha and gamma for ``dtype`` (see ``LIMITS``)."""
    if isinstance(dtype, np.dtype):
        limit = LIMITS.get(dtype)
        return float(xp.finfo(dtype).max) / 2 if limit is None else limit
    key = (type(dtype), dtype)
    try:
        return _OTHER_LIMITS[key]
    except KeyError:
        limit = _OTHER_LIMITS[key] = float(xp.finfo(dtype).max) / 2
    except TypeError:  # an unhashable dtype object: asked each time
        limit = float(xp.finfo(dtype).max) / 2
    return limit


def _check_magnitude(number: float, shown: str, argname: str, limit: float, dtype: Any) -> None:
    if not math.isfinite(number):
        raise ValueError(f"{FN}: '{argname}' must be finite, but received {shown}")
    if abs(number) > limit:
        raise ValueError(
            f"{FN}: '{argname}' must be finite in logit's dtype {dtype} (at most {limit:.4g} in "
            f"magnitude), but received {shown}"
        )


def _scalar(xp: Namespace, value: Any, argname: str, logit: Array) -> Scalar:
    limit = _limit(xp, logit.dtype)
    # bool is an int subclass: alpha=True is almost surely a mistake, not alpha=1.
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{FN}: '{argname}' must be an int or a float, but received {describe(value)}"
        )
    if isinstance(value, numbers.Real):
        try:
            number = float(value)
        except OverflowError:  # 10**400, Fraction(10**400, 3)
            number = math.inf
        _check_magnitude(number, describe(value), argname, limit, logit.dtype)
        return number
    if _arrays.is_array(value):
        kind = _same_library(xp, value, argname, logit)
        if value.ndim != 0:
            raise ValueError(
                f"{FN}: '{argname}' must be a number or a 0-D array, but received an array of "
                f"shape {_shape(value)}"
            )
        if is_traced_python_int(value):
            # jax.jit traces alpha=2 as an integer 0-D tracer; eagerly the same call is accepted.
            return xp.astype(value, logit.dtype)
        _check_float_dtype(xp, value, argname)
        # A 0-D array is held to the rules of a number where its value can be read now; a traced
        # (jax.jit) or lazy (Dask) one cannot be checked without computing it.
        now = None if kind.read is None else kind.read(value)
        if now is not None:
            _check_magnitude(now, repr(value), argname, limit, logit.dtype)
        return value
    raise TypeError(
        f"{FN}: '{argname}' must be an int, a float or a 0-D floating array, but received "
        f"{describe(value)}"
    )


def _normalizer(xp: Namespace, given: Any, logit: Array) -> Array:
    normalizer = given
    if isinstance(given, np.generic):
        # np.sum(fg_num) + 1.0 is a NumPy scalar: a 0-D array of NumPy. (Python numbers stay refused.)
        normalizer = np.asarray(given)
    elif not _arrays.is_array(given):
        raise TypeError(
            f"{FN}: 'normalizer' must be None or an array of shape [] or [1] of the same library "
            f"as 'logit', but received {describe(given)}"
        )
    _same_library(xp, normalizer, "normalizer", logit, given)
    if normalizer.ndim > 1:
        raise ValueError(
            f"Expected zero or one dimension of normalizer in {FN} but got {normalizer.ndim}."
        )
    if _shape(normalizer) not in ((), (1,)):
        raise ValueError(
            f"{FN}: 'normalizer' must have shape [] or [1], but received shape "
            f"{list(_shape(normalizer))}"
        )
    _check_float_dtype(xp, normalizer, "normalizer")
    return normalizer


def _check_devices(kind: Kind, logit: Array, named: tuple[tuple[str, Any], ...]) -> None:
    for name, value in named:
        if getattr(value, "is_meta", False) is True:
            raise ValueError(
                f"{FN}: '{name}' is on torch's 'meta' device, which holds no data; "
                "pass a tensor on 'cpu' or 'cuda'"
            )
    reference = kind.device(logit)
    if reference is None:
        return
    for name, value in named[1:]:
        device = kind.device(value)
        if device is not None and device != reference:
            raise ValueError(
                f"{FN}: all arrays must be on one device, but 'logit' is on "
                f"{describe_device(reference)} and '{name}' is on {describe_device(device)}"
            )


def _full(
    logit: Any, label: Any, normalizer: Any, alpha: Any, gamma: Any, reduction: Reduction
) -> Call:
    # Half inputs under torch.autocast are computed in float32 (the early route never takes them).
    logit, label, normalizer = autocast_to_float32(logit, label, normalizer)
    # 2. logit and label: arrays of one supported library.
    kind = kind_of(logit, "logit")
    xp = kind.namespace
    _same_library(xp, label, "label", logit)
    # 3. dtypes: Paddle registers its kernels for float32 and float64 only.
    _check_float_dtype(xp, logit, "logit")
    _check_float_dtype(xp, label, "label")
    if label.dtype != logit.dtype:
        raise TypeError(
            f"{FN}: 'label' must have the same dtype as 'logit' ({logit.dtype}), but received "
            f"dtype {label.dtype}"
        )
    # 4. shapes: known, equal, no broadcasting.
    _arrays.check_known_shape(logit, "logit")
    _arrays.check_known_shape(label, "label")
    if _shape(label) != _shape(logit):
        raise ValueError(
            f"{FN}: 'label' must have the same shape as 'logit' (no broadcasting), but received "
            f"label shape {list(_shape(label))} and logit shape {list(_shape(logit))}"
        )
    # 5. normalizer: None, or a 0-D / [1] floating array of the same library.
    if normalizer is not None:
        normalizer = _normalizer(xp, normalizer, logit)
    # 6. alpha and gamma.
    alpha = _scalar(xp, alpha, "alpha", logit)
    gamma = _scalar(xp, gamma, "gamma", logit)
    # 7. one device for all arrays.
    named = (
        ("logit", logit),
        ("label", label),
        ("normalizer", normalizer),
        ("alpha", alpha),
        ("gamma", gamma),
    )
    arrays = tuple((n, v) for n, v in named if v is not None and not isinstance(v, float))
    _check_devices(kind, logit, arrays)
    return _finish(xp, logit, label, normalizer, alpha, gamma, reduction)


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
