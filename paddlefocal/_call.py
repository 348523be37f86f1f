"""The one argument object that every path receives: a validated call.

A path (the reference, a fast path, a plug-in) is a function ``path(call) -> array``. Taking one frozen
object rather than seven arguments is what keeps the plug-in interface stable: an argument added later
(a per-element ``weight``, say) becomes a new field with a default, and a plug-in that does not read it
keeps working. ``PATH_API`` numbers that interface; a backend declares the version it was written for.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._typing import Array, Namespace, Reduction, Scalar

#: The version of the path interface: ``path(call: Call) -> array``. Raised only if a field's meaning
#: changes; new fields with defaults keep the version.
PATH_API = 1

__all__ = ["PATH_API", "Call"]


@dataclass(frozen=True, slots=True)
class Call:
    """The arguments of one ``sigmoid_focal_loss`` call, checked and normalized by the front-end.

    Attributes
    ----------
    logit, label : array
        Same library, device, shape and dtype (float32 or float64); any shape, 0-D included.
    normalizer : array or None
        None, or a 0-D array of ``logit``'s dtype (a ``[1]`` normalizer arrives reshaped to ``[]``).
    alpha, gamma : float or array
        Finite Python floats, or 0-D arrays of ``logit``'s dtype (which may be traced or require grad).
    reduction : {'sum', 'mean', 'none'}
    xp : namespace
        The Array API namespace of the arrays.
    """

    logit: Array
    label: Array
    normalizer: Array | None
    alpha: Scalar
    gamma: Scalar
    reduction: Reduction
    xp: Namespace
