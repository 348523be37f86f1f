"""JAX path: the per-element loss as a ``jax.custom_jvp`` with the analytic derivative.

Plain autodiff through the forward formulas would give nan at saturated logits for ``gamma < 1``; the
written-out derivative of ``paddlefocal._derivatives`` is finite there. A ``custom_jvp`` (rather than a
``custom_vjp``) serves both modes: ``jvp``, ``jacfwd`` and ``hessian`` use the rule directly, and
``grad``, ``vjp`` and ``jacrev`` transpose it, since the tangent is linear in the input tangents. It works
under ``jit`` and ``vmap``; the normalizer and the reduction are ordinary JAX operations around it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from paddlefocal._call import Call
from paddlefocal._derivatives import focal_elementwise_grads
from paddlefocal._reference import apply_normalizer_and_reduction, focal_elementwise


@jax.custom_jvp
def _elementwise(x: jax.Array, y: jax.Array, alpha: jax.Array, gamma: jax.Array) -> jax.Array:
    return focal_elementwise(jnp, x, y, alpha, gamma)


@_elementwise.defjvp
def _elementwise_jvp(
    primals: tuple[jax.Array, ...], tangents: tuple[jax.Array, ...]
) -> tuple[jax.Array, jax.Array]:
    x, y, alpha, gamma = primals
    t_x, t_y, t_alpha, t_gamma = tangents
    grads = focal_elementwise_grads(jnp, x, y, alpha, gamma)
    tangent = grads.logit * t_x + grads.label * t_y + grads.alpha * t_alpha + grads.gamma * t_gamma
    return focal_elementwise(jnp, x, y, alpha, gamma), tangent


def loss(call: Call) -> jax.Array:
    """Sigmoid focal loss of JAX arrays with the analytic derivative, in forward and reverse mode."""
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
