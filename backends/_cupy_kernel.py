"""The CuPy kernel: Paddle's focal loss and ``d loss / d logit`` as CUDA C, one pass per output set.

``SOURCE`` holds the per-element math as one ``__device__`` function templated over ``float`` and
``double`` (the formulas of the branch-free torch kernel, with C's branches where those are cheaper
than guards: a GPU thread branches per element without a host read). CuPy compiles it into
``ElementwiseKernel`` objects for the outputs asked for and into a ``ReductionKernel`` that sums the
losses in float64 without a full-size temporary. The same string is compiled on the CPU by the tests
(a C++ harness with ``__device__`` defined away) and to PTX by ``nvcc`` where it is installed.

``cupy`` is imported only when a kernel is first built.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paddlefocal._typing import Array

__all__ = ["SOURCE", "cupy_kernel"]

SOURCE = r"""
template <typename T>
__device__ T focal_half_tanh_half(T x) {
    // tanh(x/2)/2 = sigmoid(x) - 1/2 for small |x|: the first five terms of its series.
    const T u = T(0.5) * x, u2 = u * u;
    const T series = T(1) + u2 * (T(-1.0 / 3.0) + u2 * (T(2.0 / 15.0)
                     + u2 * (T(-17.0 / 315.0) + u2 * T(62.0 / 2835.0))));
    return T(0.5) * u * series;
}

// The loss of logit x against label y (Paddle's p_t form), and into *dlogit (when dlogit is not
// null) d loss / d logit. gamma >= 0.
template <typename T>
__device__ T focal_loss_grad(T x, T y, T alpha, T gamma, T* dlogit) {
    const T e = exp(-fabs(x));  // in [0, 1]: nothing overflows; x = +-inf gives 0
    const T l1p = log1p(e);
    const T inv = T(1) / (T(1) + e);
    const bool pos = x >= T(0);
    const T s = pos ? inv : e * inv;   // sigmoid(x)
    const T sn = pos ? e * inv : inv;  // sigmoid(-x)
    const bool kept = y != T(-100);  // Paddle's ignore_index
    // ce = y softplus(-x) + (1-y) softplus(x); a term of weight 0 is 0 also against an infinite
    // softplus (x = +-inf with a hard label).
    T ce = (y == T(0) ? T(0) : y * fmax(-x, T(0))) + (y == T(1) ? T(0) : (T(1) - y) * fmax(x, T(0)))
           + l1p;
    ce = kept ? ce : T(0);
    // An ignored element takes 1 - p_t = 1: a fractional power of its negative value is never nan.
    const T q = kept ? s * (T(1) - y) + sn * y : T(1);
    const T a_t = alpha * y + (T(1) - alpha) * (T(1) - y);
    T qg;
    if (gamma == T(0)) {
        qg = T(1);
    } else if (gamma == T(1)) {
        qg = q;
    } else if (gamma == T(2)) {
        qg = q * q;
    } else {
        // q**g = exp(g log q); for a hard label log q = -softplus(-z) with z = x (1 - 2y) exactly,
        // also where q is subnormal and has lost the digits its power would show (gamma < 1).
        const bool hard = y == T(0) || y == T(1);
        const T log_q = hard ? fmin(x * (T(1) - T(2) * y), T(0)) - l1p : log(q);
        qg = exp(gamma * log_q);
    }
    if (dlogit) {
        // d ce / dx = sigmoid(x) - y, near 0 as (sigmoid(x) - 1/2) + (1/2 - y).
        const T near = sizeof(T) == 4 ? T(0.5) : T(0.125);
        T dce = fabs(x) < near ? focal_half_tanh_half(x) + (T(0.5) - y) : s * (T(1) - y) - sn * y;
        dce = kept ? dce : T(0);
        T grad;
        if (gamma == T(0)) {
            grad = a_t * dce;
        } else {
            // g q**(g-1) dq ce as q**g (dq / q) ce: dq / q is bounded for labels in [0, 1]; a zero
            // dq (x = +-inf) against an infinite ce is a 0 limit.
            const T dq = s * sn * (T(1) - T(2) * y);
            const T focal = dq == T(0) ? T(0) : gamma * qg * (dq / q) * ce;
            grad = a_t * (focal + qg * dce);
        }
        *dlogit = grad;  // one store, whichever formula
    }
    return a_t * qg * ce;
}
"""

_PARAMS = "T x, T y, T alpha, T gamma"
_BODIES = {
    (True, False): ("T loss", "loss = focal_loss_grad<T>(x, y, alpha, gamma, (T*)0)"),
    (False, True): ("T dlogit", "focal_loss_grad<T>(x, y, alpha, gamma, &dlogit)"),
    (True, True): ("T loss, T dlogit", "loss = focal_loss_grad<T>(x, y, alpha, gamma, &dlogit)"),
}


@functools.cache
def _elementwise(write_loss: bool, write_grad: bool) -> Any:
    import cupy

    outputs, body = _BODIES[write_loss, write_grad]
    name = f"paddlefocal_focal_{int(write_loss)}{int(write_grad)}"
    return cupy.ElementwiseKernel(_PARAMS, outputs, body, name, preamble=SOURCE)


@functools.cache
def _total() -> Any:
    import cupy

    return cupy.ReductionKernel(
        _PARAMS,
        "float64 total",
        "(double)focal_loss_grad<T>(x, y, alpha, gamma, (T*)0)",
        "a + b",
        "total = a",
        "0",
        "paddlefocal_focal_total",
        preamble=SOURCE,
    )


def cupy_kernel(
    x: Array, y: Array, alpha: float, gamma: float, loss: Array | None, dlogit: Array | None
) -> Array:
    """The driver's kernel (``paddlefocal._driver``) for CuPy arrays: the whole array, never declined.

    Returns the float64 total as a 0-D device array.
    """
    import cupy

    a, g = x.dtype.type(alpha), x.dtype.type(gamma)
    if loss is None and dlogit is None:
        return _total()(x, y, a, g)
    if loss is None:
        _elementwise(False, True)(x, y, a, g, dlogit)
        # The total without a full-size temporary: a second pass over the inputs.
        return _total()(x, y, a, g)
    if dlogit is None:
        _elementwise(True, False)(x, y, a, g, loss)
    else:
        _elementwise(True, True)(x, y, a, g, loss, dlogit)
    return cupy.sum(loss, dtype=cupy.float64)
