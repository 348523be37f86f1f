"""Type names shared across the package.

The array libraries are optional, so an array is typed structurally: ``Array`` and ``Namespace`` are
aliases of ``Any`` that say what a value is, where a precise type would have to import every framework.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

#: An array of any supported library (``numpy.ndarray``, ``torch.Tensor``, ``jax.Array``, ...).
Array = Any
#: An Array API namespace (``array_api_compat.array_namespace(x)``, or a backend-provided one).
Namespace = Any
#: ``alpha`` or ``gamma`` as a path receives it: a Python float or a 0-D array of ``logit``'s dtype.
Scalar = Any
#: The reductions Paddle accepts, spelled exactly.
Reduction = Literal["sum", "mean", "none"]
#: The same as a tuple, in that order (a compiled region passes a reduction as its index).
REDUCTIONS: tuple[Reduction, ...] = get_args(Reduction)

__all__ = ["REDUCTIONS", "Array", "Namespace", "Reduction", "Scalar"]
