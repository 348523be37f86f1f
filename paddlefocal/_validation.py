"""Argument checks of the front-end, in Paddle's order, with Paddle's messages where Paddle has one.

One route: each check first confirms the common valid case by identity (an exact type, a dtype
singleton, equal shapes) and only otherwise calls the function that accepts the uncommon valid case or
raises with the message that says what is wrong. Messages are built only when raising, so a valid
call never formats (or, under ``torch.compile``, traces) a ``repr``. Every error is raised here or in
``_kinds`` before any computation: fast paths never re-check, users never see a backend's error.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NoReturn

import numpy as np

from . import _errors as errors
from ._call import Call
from ._errors import FN, InvalidArgumentError, describe, type_name
from ._kinds import KINDS, Kind, cpu, is_array, kind_of
from ._typing import REDUCTIONS, Array, Namespace, Reduction, Scalar

_NAMES = ("logit", "label", "normalizer", "alpha", "gamma")


def validate(
    logit: Any,
    label: Any,
    normalizer: Any,
    alpha: Any,
    gamma: Any,
    reduction: Any,
) -> Call:
    """Check every argument in Paddle's order and return them in the form the implementations take."""
    # 1. Paddle checks reduction before anything else.
    if type(reduction) is not str or reduction not in REDUCTIONS:
        reduction = _reduction(reduction)
    # 2. logit and label: arrays of one supported library.
    kind = KINDS.get(type(logit))
    if kind is None or type(label) is not type(logit):
        kind = kind_of(logit, "logit")
        _member(kind, label, "label", logit)
    elif kind.inspect is not None and not _plain(kind.layout, logit, label):
        kind.inspect(logit, "logit")
        kind.inspect(label, "label")
    xp = kind.namespace
    # 3. dtypes: Paddle registers its kernels for float32 and float64 only.
    dtype = logit.dtype
    limits = kind.limits
    limit = None if limits is None else limits.get(dtype)
    if limit is None or label.dtype is not dtype:
        logit, label, limit = _dtypes(kind, logit, label)
        dtype = logit.dtype
    assert limit is not None
    # 4. shapes: known, equal, no broadcasting.
    if not kind.shapes_known or label.shape != logit.shape:
        _shapes(logit, label)
    # 5. normalizer: None, or a 0-D / [1] array of the same library, cast to logit's dtype.
    if normalizer is not None:
        if type(normalizer) is not type(logit) or normalizer.dtype is not dtype or normalizer.ndim:
            normalizer = _normalizer(kind, normalizer, logit)
        elif KINDS.get(type(normalizer)) is not kind or (
            kind.inspect is not None and not _plain(kind.layout, normalizer, logit)
        ):
            _member(kind, normalizer, "normalizer", logit)
    # 6. alpha and gamma: numbers, or 0-D arrays of logit's dtype.
    if not ((type(alpha) is float or type(alpha) is int) and -limit <= alpha <= limit):
        alpha = _scalar(kind, alpha, "alpha", logit, limit)
    if not ((type(gamma) is float or type(gamma) is int) and -limit <= gamma <= limit):
        gamma = _scalar(kind, gamma, "gamma", logit, limit)
    # 7. one device for all arrays (NumPy's are all on the CPU).
    where = kind.device
    if where is not cpu:
        device = where(logit)
        if (
            device is None
            or (kind.layout is not None and logit.is_meta)
            or where(label) != device
            or (normalizer is not None and where(normalizer) != device)
            or type(alpha) not in (float, int)
            or type(gamma) not in (float, int)
        ):
            _devices(kind, logit, label, normalizer, alpha, gamma)
    alpha = float(alpha) if type(alpha) is int else alpha
    gamma = float(gamma) if type(gamma) is int else gamma
    return Call(logit, label, normalizer, alpha, gamma, reduction, xp)


def _reduction(reduction: Any) -> Reduction:
    # np.str_("mean") is a str: compared by value and handed on as the plain str.
    if isinstance(reduction, str) and reduction in REDUCTIONS:
        return REDUCTIONS[REDUCTIONS.index(reduction)]
    raise ValueError(
        f"The value of 'reduction' in {FN} should be 'sum', 'mean' or 'none', but received "
        f"{reduction}, which is not allowed."
    )


def _same_library(
    xp: Namespace, value: Any, argname: str, logit: Any, received: Any = None
) -> Kind:
    """The kind of ``value``, an array of ``logit``'s library; ``received`` is what the caller gave."""
    other = kind_of(value, argname)
    if other.namespace is not xp:
        # Paddle: ValueError (InvalidArgument) "... must be Tensor, but got numpy.ndarray".
        raise InvalidArgumentError(
            f"{FN}: '{argname}' must be an array of the same library as 'logit' "
            f"({type_name(logit)}), but received {type_name(value if received is None else received)}"
        )
    return other


def _plain(layout: Any, one: Any, other: Any) -> bool:
    """Whether both arrays have the kind's dense layout and are not nested (torch, by identity)."""
    same = layout is not None and one.layout is layout and other.layout is layout
    return same and not (one.is_nested or other.is_nested)


def _member(kind: Kind, value: Any, argname: str, logit: Any) -> None:
    """Raise unless ``value`` is a servable array of ``logit``'s library."""
    if type(value) is not type(logit) or KINDS.get(type(value)) is not kind:
        _same_library(kind.namespace, value, argname, logit)
    elif kind.inspect is not None:
        kind.inspect(value, argname)


def _is_float(xp: Namespace, dtype: Any) -> bool:
    return dtype in (xp.float32, xp.float64)


def _dtype_in(xp: Namespace, dtype: Any, names: tuple[str, ...]) -> bool:
    """Whether ``dtype`` is one of the namespace's dtypes of these names (those it has)."""
    return any(dtype == getattr(xp, name) for name in names if hasattr(xp, name))


_INTEGRAL = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
_FLOATING = ("float16", "bfloat16", "float32", "float64")
#: The dtypes an alpha or gamma array may have (besides float32 and float64).
_REAL = _INTEGRAL[1:] + _FLOATING[:2]


def _refuse_dtype(
    argname: str, dtype: Any, error: type[Exception] = InvalidArgumentError
) -> NoReturn:
    raise error(f"{FN}: '{argname}' must have dtype float32 or float64, but received dtype {dtype}")


def _dtypes(kind: Kind, logit: Any, label: Any) -> tuple[Any, Any, float]:
    """logit and label of one float dtype (half ones in float32 inside autocast), and its limit."""
    if kind.autocast is not None:
        logit, label = kind.autocast(logit, label)
    xp = kind.namespace
    # Paddle: ValueError (InvalidArgument) for logit's dtype and a label of another one; its
    # RuntimeError "kernel not registered" for a label dtype it has no kernel for is a documented row.
    if not _is_float(xp, logit.dtype):
        _refuse_dtype("logit", logit.dtype)
    if not _is_float(xp, label.dtype):
        _refuse_dtype("label", label.dtype)
    if label.dtype != logit.dtype:
        raise InvalidArgumentError(
            f"{FN}: 'label' must have the same dtype as 'logit' ({logit.dtype}), but received "
            f"dtype {label.dtype}"
        )
    # The largest magnitude of alpha and gamma for the dtype (see ``_kinds.half_limits``).
    limit = None if kind.limits is None else kind.limits.get(logit.dtype)
    return logit, label, float(xp.finfo(logit.dtype).max) / 2 if limit is None else limit


def _shapes(logit: Array, label: Array) -> None:
    errors.check_known_shape(logit, "logit")
    errors.check_known_shape(label, "label")
    if tuple(label.shape) != tuple(logit.shape):
        raise ValueError(
            f"{FN}: 'label' must have the same shape as 'logit' (no broadcasting), but received "
            f"label shape {list(label.shape)} and logit shape {list(logit.shape)}"
        )


def _scalar(kind: Kind, value: Any, argname: str, logit: Array, limit: float) -> Scalar:
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
        _check_magnitude(number, value, argname, limit, logit.dtype)
        return number
    if not is_array(value):
        # A list or tuple ([0.5]): Paddle broadcasts it as a tensor, or raises ValueError where it
        # does not broadcast; complex numbers: Paddle drops the imaginary part.
        error = InvalidArgumentError if isinstance(value, (list, tuple)) else TypeError
        raise error(
            f"{FN}: '{argname}' must be an int, a float or a 0-D real array, but received "
            f"{describe(value)}"
        )
    xp = kind.namespace
    other = _same_library(xp, value, argname, logit)
    if value.ndim != 0:
        raise ValueError(
            f"{FN}: '{argname}' must be a number or a 0-D array, but received an array of "
            f"shape {tuple(value.shape)}"
        )
    dtype = value.dtype
    # Any integer or floating 0-D array is cast to logit's dtype, as Paddle's to_tensor casts it
    # (jax.jit traces alpha=2 as an integer 0-D tracer); bool is refused as alpha=True is.
    if not (_is_float(xp, dtype) or _dtype_in(xp, dtype, _REAL)):
        raise TypeError(
            f"{FN}: '{argname}' must be a 0-D array of an integer or floating dtype (not bool "
            f"or complex), but received dtype {dtype}"
        )
    # A 0-D array is held to the rules of a number where its value can be read now; a traced
    # (jax.jit, torch.compile) or lazy (Dask) one cannot be checked without computing it.
    now = None if other.read is None else other.read(value)
    if now is not None:
        _check_magnitude(now, value, argname, limit, logit.dtype)
    return value if dtype == logit.dtype else xp.astype(value, logit.dtype)


def _check_magnitude(number: float, value: Any, argname: str, limit: float, dtype: Any) -> None:
    if math.isfinite(number) and abs(number) <= limit:
        return
    shown = repr(value) if is_array(value) else describe(value)
    if not math.isfinite(number):
        raise ValueError(f"{FN}: '{argname}' must be finite, but received {shown}")
    raise ValueError(
        f"{FN}: '{argname}' must be finite in logit's dtype {dtype} (at most {limit:.4g} in "
        f"magnitude), but received {shown}"
    )


def _normalizer(kind: Kind, given: Any, logit: Array) -> Array:
    """A 0-D normalizer of logit's dtype; Paddle's rules for what it takes."""
    xp = kind.namespace
    normalizer = given
    if isinstance(given, np.generic):
        # np.sum(fg_num) + 1.0 is a NumPy scalar: a 0-D array of NumPy. (Python numbers stay refused.)
        normalizer = np.asarray(given)
    elif not is_array(given):
        raise TypeError(
            f"{FN}: 'normalizer' must be None or an array of shape [] or [1] of the same library "
            f"as 'logit', but received {describe(given)}"
        )
    _same_library(xp, normalizer, "normalizer", logit, given)
    if normalizer.ndim > 1:
        raise ValueError(
            f"Expected zero or one dimension of normalizer in {FN} but got {normalizer.ndim}."
        )
    dtype = normalizer.dtype
    # 0-D tensors take part in Paddle's type promotion as scalars ((label >= 1).sum() is int64, and
    # the result float32); 1-D integer and bool ones do not, and its divide raises this TypeError.
    integral = _dtype_in(xp, dtype, _INTEGRAL)
    if integral and normalizer.ndim:
        raise TypeError(
            f"{FN}: 'normalizer' of shape {list(normalizer.shape)} must have a floating dtype, but "
            f"received dtype {dtype} (Paddle: type promotion only supports calculations between "
            "floating-point numbers); pass a 0-D one or cast it"
        )
    if tuple(normalizer.shape) not in ((), (1,)):
        raise ValueError(
            f"{FN}: 'normalizer' must have shape [] or [1], but received shape "
            f"{list(normalizer.shape)}"
        )
    if not (integral or _dtype_in(xp, dtype, _FLOATING)):
        _refuse_dtype("normalizer", dtype, TypeError)
    # Implementations receive a 0-D normalizer of logit's dtype: the result keeps logit's dtype
    # (Paddle promotes float32 to float64 with a [1] float64 normalizer) and logit's shape (Paddle
    # broadcasts a 0-D logit to [1] with a [1] normalizer).
    if normalizer.ndim:
        normalizer = xp.reshape(normalizer, ())
    return normalizer if dtype == logit.dtype else xp.astype(normalizer, logit.dtype)


def _devices(
    kind: Kind, logit: Array, label: Array, normalizer: Any, alpha: Any, gamma: Any
) -> None:
    named = zip(_NAMES, (logit, label, normalizer, alpha, gamma), strict=True)
    arrays = tuple((n, v) for n, v in named if v is not None and type(v) not in (float, int))
    for name, value in arrays:
        if getattr(value, "is_meta", False) is True:
            raise ValueError(
                f"{FN}: '{name}' is on torch's 'meta' device, which holds no data; "
                "pass a tensor on 'cpu' or 'cuda'"
            )
    reference = kind.device(logit)
    if reference is None:
        return
    for name, value in arrays[1:]:
        device = kind.device(value)
        if device is not None and device != reference:
            raise ValueError(
                f"{FN}: all arrays must be on one device, but 'logit' is on "
                f"{errors.describe_device(reference)} and '{name}' is on {errors.describe_device(device)}"
            )
