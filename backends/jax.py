"""JAX path: the per-element loss as a ``jax.custom_vjp`` with the analytic derivative.

Plain autodiff through the forward formulas would give nan at saturated logits for ``gamma < 1``; the
written-out derivative of ``paddlefocal._derivatives`` is finite there. Works under ``jit``, ``vmap`` and
``grad``; the normalizer and the reduction are ordinary JAX operations around it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from paddlefocal._call import Call
from paddlefocal._derivatives import focal_elementwise_grads
from paddlefocal._reference import apply_normalizer_and_reduction, focal_elementwise


@jax.custom_vjp
def _elementwise(x: jax.Array, y: jax.Array, alpha: jax.Array, gamma: jax.Array) -> jax.Array:
    return focal_elementwise(jnp, x, y, alpha, gamma)


def _forward(
    x: jax.Array, y: jax.Array, alpha: jax.Array, gamma: jax.Array
) -> tuple[jax.Array, tuple[jax.Array, ...]]:
    return focal_elementwise(jnp, x, y, alpha, gamma), (x, y, alpha, gamma)


def _backward(residuals: tuple[jax.Array, ...], cotangent: jax.Array) -> tuple[jax.Array, ...]:
    x, y, alpha, gamma = residuals
    grads = focal_elementwise_grads(jnp, x, y, alpha, gamma)
    return (
        cotangent * grads.logit,
        cotangent * grads.label,
        jnp.sum(cotangent * grads.alpha).astype(alpha.dtype),
        jnp.sum(cotangent * grads.gamma).astype(gamma.dtype),
    )


_elementwise.defvjp(_forward, _backward)


def loss(call: Call) -> jax.Array:
    """Sigmoid focal loss of JAX arrays with the analytic derivative."""
    dtype = call.logit.dtype
    per_element = _elementwise(
        call.logit,
        call.label,
        jnp.asarray(call.alpha, dtype=dtype),
        jnp.asarray(call.gamma, dtype=dtype),
    )
    result: jax.Array = apply_normalizer_and_reduction(
        jnp, per_element, call.normalizer, call.reduction
    )
    return result
