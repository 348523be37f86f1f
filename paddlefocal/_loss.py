"""The public front-end: validate like Paddle, pick the backend's path, return the caller's array type."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._registry import resolve
from ._validation import validate

__all__ = ["sigmoid_focal_loss"]


def sigmoid_focal_loss(
    logit: Any,
    label: Any,
    normalizer: Any = None,
    alpha: Any = 0.25,
    gamma: Any = 2.0,
    reduction: Any = "sum",
    name: Any = None,
) -> Any:
    r"""Sigmoid focal loss, with the signature, checks and numbers of Paddle's.

    A drop-in for ``paddle.nn.functional.sigmoid_focal_loss`` (Lin et al., *Focal Loss for Dense Object
    Detection*, ICCV 2017) that takes and returns arrays of NumPy, CuPy, torch, JAX, Dask or any Array
    API library, on their own device.

    Parameters
    ----------
    logit : array
        Logits of shape ``[N, *]`` (any shape, 0-D and 1-D included), dtype float32 or float64. Any
        NumPy ndarray subclass counts as a NumPy array (``np.memmap``, ``np.recarray``, a third
        party's); ``np.matrix`` is refused (it is always 2-D and its reductions keep two dimensions:
        pass ``np.asarray(logit)``), and so are masked arrays, NumPy's and Dask's (``da.ma``): their
        mask would be ignored. torch tensors must be dense (strided): sparse and nested tensors are
        refused. A sharded JAX array is on the set of devices it spans.
    label : array
        Targets of the same shape, library and dtype as ``logit``: 0 for the negative class, 1 for the
        positive class; soft labels in between are allowed, and an element whose label is -100
        (Paddle's ``ignore_index``) contributes 0. The shapes must be known: a Dask array made by
        boolean indexing needs ``compute_chunk_sizes()`` first.
    normalizer : array, optional
        An array of shape ``[]`` or ``[1]`` of the same library that the per-element loss is divided
        by: in object detection, the number of positive samples. It is cast to ``logit``'s dtype.
        Floating (float16, bfloat16, float32, float64) of either shape; as in Paddle, integer and bool
        ones only 0-D (``num_pos = (label >= 1).sum()``). With NumPy arrays a NumPy float scalar (``np.sum(fg_num) + 1.0``) is a 0-D
        array and is accepted; Python numbers are not (Paddle takes tensors only). For ``'sum'`` and
        ``'mean'`` the reduced total is divided: a zero normalizer gives inf for a positive total and
        nan for a zero one; for ``'none'`` each element is divided (0/0 is nan). Default None: no
        normalization.
    alpha : int, float or 0-D array, optional
        Weight of the positive class; the negative class gets ``1 - alpha``. Finite, and at most half
        the largest number of ``logit``'s dtype in magnitude (so that ``2 alpha - 1`` is finite). A
        0-D array of an integer or floating dtype is cast to ``logit``'s dtype (as Paddle casts it)
        and checked like a number where its value is known; a traced one (under
        ``jax.jit``), a lazy one (Dask) or one on a GPU (reading it would wait for the device)
        is not, and a nan there gives a nan loss. Default 0.25.
    gamma : int, float or 0-D array, optional
        Focusing parameter; ``gamma = 0`` is the alpha-weighted binary cross-entropy. The same rules
        as ``alpha``. Negative values are allowed (as in Paddle) and computed in log space. Default
        2.0.
    reduction : {'sum', 'mean', 'none'}, optional
        ``'none'`` returns the per-element loss, ``'mean'`` its mean and ``'sum'`` its sum. Default
        ``'sum'``.
    name : str, optional
        Accepted for compatibility with Paddle and ignored.

    Returns
    -------
    array
        The loss, of ``logit``'s library, device and dtype: shape ``[]`` for ``'sum'`` and ``'mean'``
        (a 0-D array, also on NumPy), the shape of ``logit`` for ``'none'``.

    Raises
    ------
    ValueError
        If ``reduction`` is not exactly ``'sum'``, ``'mean'`` or ``'none'`` (Paddle's message); if
        ``label``'s shape differs from ``logit``'s, or a shape is unknown (Dask's unknown chunk
        sizes); if ``normalizer`` has two or more dimensions (Paddle's message) or a shape other than
        ``[]`` or ``[1]``; if ``alpha`` or ``gamma`` is not finite (a number, or a 0-D array whose
        value is known), too large for ``logit``'s dtype or for a float (``10**400``), or an array
        that is not 0-D; if the arrays are on different devices (or on torch's ``meta``).
    InvalidArgumentError
        A TypeError and a ValueError (Paddle raises ValueError there): if ``logit`` or ``label`` is
        not an array of a supported library (a list, a NumPy scalar, an object with
        ``__array_namespace__`` but no ``dtype``); if the arrays come from different libraries; if
        ``logit``'s or ``label``'s dtype is not float32 or float64, or ``label``'s differs from
        ``logit``'s; if ``alpha`` or ``gamma`` is a list or a tuple (Paddle broadcasts one).
    TypeError
        If ``logit`` or ``label`` is a masked array, an ``np.matrix``, or a sparse or nested torch
        tensor; if ``normalizer`` is not an array (a Python number, say), is complex, or is an
        integer or bool array of shape ``[1]`` (Paddle's TypeError); if ``alpha`` or ``gamma`` is
        not an int, a float or a 0-D integer or floating array (a bool or a complex, say).

    Notes
    -----
    With $\sigma(x) = 1 / (1 + e^{-x})$, $p = \sigma(\mathrm{logit})$ and $y = \mathrm{label}$,
    Paddle's documentation gives, for labels 0 and 1,

    $$
    \mathrm{Out} = -y\,\alpha\,(1 - p)^{\gamma}\log p - (1 - y)(1 - \alpha)\,p^{\gamma}\log(1 - p).
    $$

    Paddle computes, and so does this function, the equivalent form that also defines soft labels:

    $$
    p_t = p\,y + (1 - p)(1 - y), \qquad \alpha_t = \alpha\,y + (1 - \alpha)(1 - y),
    $$

    $$
    \mathrm{Out} = \alpha_t\,(1 - p_t)^{\gamma}\,\mathrm{BCE}(\mathrm{logit}, y), \qquad
    \mathrm{BCE}(x, y) = \log(1 + e^{x}) - x\,y.
    $$

    ``Out`` is then divided by ``normalizer`` and reduced. The computation is stable: $1 - p_t$ is
    formed as $\sigma(x)(1-y) + \sigma(-x)\,y$ and the cross-entropy from softplus terms, so
    saturated logits keep their tiny losses, infinite logits give the mathematical limit (0 or inf), and
    the gradients (torch, JAX) are finite where Paddle's are nan. Every difference from Paddle is listed
    in the documentation's "Differences from Paddle" table.

    References
    ----------
    T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollar, "Focal Loss for Dense Object Detection",
    ICCV 2017.

    Examples
    --------
    The example of Paddle's documentation, on NumPy:

    >>> import numpy as np
    >>> import paddlefocal.nn.functional as F
    >>> logit = np.array([[0.97, 0.91, 0.03], [0.55, 0.43, 0.71]], dtype=np.float32)
    >>> label = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float32)
    >>> fg_num = np.asarray(np.sum(label >= 1.0, dtype=np.float32))  # the number of positives
    >>> F.sigmoid_focal_loss(logit, label, normalizer=fg_num)
    array(0.65782464, dtype=float32)

    Per-element losses of a 1-D input (Paddle 3.3.1 gives the same numbers for shape ``[1, 3]`` and
    fails on ``[3]``); the label -100 is ignored:

    >>> y = np.array([1.0, 0.0, -100.0], np.float32)
    >>> F.sigmoid_focal_loss(logit[0], y, reduction="none")
    array([0.00607154, 0.47593796, 0.        ], dtype=float32)
    """
    del name  # accepted for Paddle compatibility, unused as in Paddle's dynamic mode
    call = validate(logit, label, normalizer, alpha, gamma, reduction)
    result = resolve(call.logit)(call)
    if isinstance(result, (np.ndarray, np.generic)) and type(result) is not np.ndarray:
        # NumPy reductions return scalars (and subclasses their own type); the contract is a plain
        # array of the caller's library.
        result = np.asarray(result)
    return result
