"""CuPy path: the fused CUDA kernel of :mod:`._cupy_kernel` under the core's driver.

The driver (``paddlefocal._driver``) owns the normalizer, the reduction and the calls no kernel serves
(``alpha``/``gamma`` arrays, a negative ``gamma``: the reference formulas); the kernel forms the loss in
one pass over the whole array. CuPy has no autograd, so only the loss is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paddlefocal._call import Call
    from paddlefocal._typing import Array

__all__ = ["loss"]


def loss(call: Call) -> Array:
    """Sigmoid focal loss of CuPy arrays by the fused kernel."""
    from paddlefocal._driver import kernel_path

    from ._cupy_kernel import cupy_kernel

    return kernel_path(cupy_kernel)(call)
