"""torch and JAX transforms through the loss: each against eager results and the analytic derivative.

torch: ``torch.func`` (grad, vmap, jacrev, jvp, hessian), ``torch.autograd.forward_ad``, gradcheck and
gradgradcheck of the eager one-pass path, in-place edits of results, ``torch.autocast``, and
``torch.compile(fullgraph=True)`` (marked slow: a cold compile takes seconds; they run in CI). JAX: grad,
jvp, jacfwd, jacrev, hessian, vmap, jit, and Python numbers traced under jit. The analytic derivative is
``paddlefocal._derivatives.focal_elementwise_grads``; second derivatives are checked against central
differences of it, and first derivatives also against Paddle's autograd at regular points.
"""

from __future__ import annotations

import mp_reference as mpr
import numpy as np
import pytest

import paddlefocal.nn.functional as F
from paddlefocal._derivatives import focal_elementwise_grads
from paddlefocal._reference import focal_elementwise

RNG = np.random.default_rng(11)
LOGIT = RNG.normal(scale=3.0, size=(3, 5))
LABEL = np.where(RNG.uniform(size=(3, 5)) < 0.3, 1.0, 0.0)
LABEL[0, :2] = [0.25, 0.7]  # soft labels take the general formulas
ALPHA, GAMMA = 0.3, 2.0
NORMALIZER = 1.75
SCALE = {"sum": 1.0, "mean": 1.0 / LOGIT.size}


def analytic_d_logit(x=LOGIT, y=LABEL, alpha=ALPHA, gamma=GAMMA):
    return focal_elementwise_grads(np, x, y, alpha, gamma).logit


def analytic_d2_logit(x=LOGIT, y=LABEL, alpha=ALPHA, gamma=GAMMA, h=1e-6):
    """d2 loss / d logit2 per element: central differences of the analytic first derivative."""
    return (analytic_d_logit(x + h, y, alpha, gamma) - analytic_d_logit(x - h, y, alpha, gamma)) / (
        2 * h
    )


# --- torch ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _t(torch, a, **kw):
    return torch.tensor(a, dtype=torch.float64, **kw)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_torch_func_grad_equals_analytic_and_eager(torch, reduction):
    x, y, n = _t(torch, LOGIT), _t(torch, LABEL), _t(torch, NORMALIZER)

    def f(a):
        return F.sigmoid_focal_loss(a, y, n, ALPHA, GAMMA, reduction)

    got = torch.func.grad(f)(x)
    expected = analytic_d_logit() * SCALE[reduction] / NORMALIZER
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-300)
    eager = x.clone().requires_grad_()
    f(eager).backward()
    np.testing.assert_allclose(got.numpy(), eager.grad.numpy(), rtol=1e-13)


def test_torch_vmap_of_grad_gives_per_row_gradients(torch):
    x, y = _t(torch, LOGIT), _t(torch, LABEL)
    per_row = torch.func.vmap(torch.func.grad(lambda a, b: F.sigmoid_focal_loss(a, b)))(x, y)
    np.testing.assert_allclose(
        per_row.numpy(), focal_elementwise_grads(np, LOGIT, LABEL, 0.25, 2.0).logit, rtol=1e-12
    )
    rows = torch.func.vmap(lambda a, b: F.sigmoid_focal_loss(a, b, reduction="mean"))(x, y)
    eager = [float(F.sigmoid_focal_loss(x[i], y[i], reduction="mean")) for i in range(3)]
    np.testing.assert_allclose(rows.numpy(), eager, rtol=1e-14)


def test_torch_jacrev_of_none_is_diagonal_with_the_analytic_derivative(torch):
    x, y = _t(torch, LOGIT), _t(torch, LABEL)
    jac = torch.func.jacrev(lambda a: F.sigmoid_focal_loss(a, y, None, ALPHA, GAMMA, "none"))(x)
    jac = jac.reshape(LOGIT.size, LOGIT.size).numpy()
    np.testing.assert_allclose(np.diag(jac), analytic_d_logit().ravel(), rtol=1e-12)
    assert np.count_nonzero(jac - np.diag(np.diag(jac))) == 0


def test_torch_jvp_and_forward_ad_give_the_directional_derivative(torch):
    import torch.autograd.forward_ad as fwAD

    x, y = _t(torch, LOGIT), _t(torch, LABEL)
    v = np.linspace(-1.0, 1.0, LOGIT.size).reshape(LOGIT.shape)
    expected = float(np.sum(analytic_d_logit() * v))
    _, tangent = torch.func.jvp(
        lambda a: F.sigmoid_focal_loss(a, y, None, ALPHA, GAMMA), (x,), (_t(torch, v),)
    )
    assert float(tangent) == pytest.approx(expected, rel=1e-12)
    with fwAD.dual_level():
        out = F.sigmoid_focal_loss(fwAD.make_dual(x, _t(torch, v)), y, None, ALPHA, GAMMA, "none")
        per_element = fwAD.unpack_dual(out).tangent
    np.testing.assert_allclose(per_element.numpy(), analytic_d_logit() * v, rtol=1e-12)


def test_torch_hessian_is_diagonal_with_the_second_derivative(torch):
    x, y = _t(torch, LOGIT), _t(torch, LABEL)
    hess = torch.func.hessian(lambda a: F.sigmoid_focal_loss(a, y, None, ALPHA, GAMMA))(x)
    hess = hess.reshape(LOGIT.size, LOGIT.size).numpy()
    np.testing.assert_allclose(np.diag(hess), analytic_d2_logit().ravel(), rtol=1e-6, atol=1e-9)
    assert np.count_nonzero(hess - np.diag(np.diag(hess))) == 0


def test_torch_one_pass_path_passes_gradcheck_and_gradgradcheck(torch):
    # Only logit requires grad: the eager path that saves the gradient; its double backward recomputes.
    x = _t(torch, LOGIT, requires_grad=True)
    y = _t(torch, LABEL)
    for reduction in ("sum", "mean", "none"):
        fn = lambda a, r=reduction: F.sigmoid_focal_loss(a, y, _t(torch, 2.0), ALPHA, 0.5, r)  # noqa: E731
        assert torch.autograd.gradcheck(fn, (x,))
        assert torch.autograd.gradgradcheck(fn, (x,))


@pytest.mark.parametrize("label_requires_grad", [False, True])
def test_torch_in_place_edits_of_results_keep_correct_gradients(torch, label_requires_grad):
    x = _t(torch, LOGIT, requires_grad=True)
    y = _t(torch, LABEL, requires_grad=label_requires_grad)
    w = _t(torch, np.arange(LOGIT.size, dtype=float).reshape(LOGIT.shape))
    out = F.sigmoid_focal_loss(x, y, None, ALPHA, GAMMA, "none")
    out.mul_(w)
    out[0] = 0
    out.sum().backward()
    expected = analytic_d_logit() * w.numpy()
    expected[0] = 0
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)
    x.grad = None
    total = F.sigmoid_focal_loss(x, y, None, ALPHA, GAMMA, "sum")
    total.mul_(3.0)
    total.backward()
    np.testing.assert_allclose(x.grad.numpy(), 3.0 * analytic_d_logit(), rtol=1e-12)


@pytest.mark.parametrize("half", ["bfloat16", "float16"])
def test_torch_autocast_computes_half_inputs_in_float32(torch, half):
    dtype = getattr(torch, half)
    x = torch.tensor(LOGIT, dtype=dtype, requires_grad=True)
    y = torch.tensor(LABEL, dtype=dtype)
    with torch.autocast("cpu", dtype=dtype):
        out = F.sigmoid_focal_loss(x, y, None, ALPHA, GAMMA, "none")
    assert out.dtype == torch.float32
    x32, y32 = x.detach().double().numpy(), y.double().numpy()
    np.testing.assert_allclose(
        out.detach().numpy(), focal_elementwise(np, x32, y32, ALPHA, GAMMA), rtol=1e-6
    )
    out.sum().backward()
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(
        x.grad.float().numpy(), analytic_d_logit(x32, y32), rtol=1e-2, atol=1e-4
    )
    with pytest.raises(TypeError, match="'logit' must have dtype float32 or float64"):
        F.sigmoid_focal_loss(x, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hard", [True, False])
def test_torch_one_pass_gradient_on_the_mpmath_grid(torch, dtype, hard):
    """The eager one-pass path (logit alone requires grad) within the numerics bounds, grid-wide."""
    from test_kernels import LIMIT
    from test_numerics import BOUND, GRAD_FACTOR, _check, _groups, grid

    g = grid(dtype)
    limit = LIMIT[dtype]
    # Only common-case blocks, so that no element sends its block to the reference formulas.
    mask = (np.abs(g.logit) <= limit) & (g.label >= 0) & (g.label <= 1)
    if hard:
        mask &= (g.label == 0) | (g.label == 1)
    loss = np.full(g.logit.shape, np.nan)
    d_logit = np.full(g.logit.shape, np.nan)
    for alpha, gamma, sel in _groups(g):
        sel = sel & mask
        xt = torch.from_numpy(g.logit[sel]).requires_grad_()
        out = F.sigmoid_focal_loss(xt, torch.from_numpy(g.label[sel]), None, alpha, gamma, "none")
        out.backward(torch.ones_like(out))
        loss[sel], d_logit[sel] = out.detach().numpy(), xt.grad.numpy()
    m = mask
    _check("loss", loss[m], g.loss[m], g.loss_normal[m], dtype, BOUND[dtype])
    _check(
        "d/d logit",
        d_logit[m],
        g.d_logit[m],
        g.d_logit_normal[m],
        dtype,
        GRAD_FACTOR * BOUND[dtype],
        g.d_logit_scale[m],
    )


def test_torch_first_derivative_equals_paddle_at_regular_points(torch, paddle):
    import paddle.nn.functional as PF

    x32, y32 = LOGIT.astype(np.float32), LABEL.astype(np.float32)
    px = paddle.to_tensor(x32, stop_gradient=False)
    PF.sigmoid_focal_loss(px, paddle.to_tensor(y32), alpha=ALPHA, gamma=GAMMA).backward()
    ours = torch.func.grad(
        lambda a: F.sigmoid_focal_loss(a, torch.tensor(y32), None, ALPHA, GAMMA)
    )(torch.tensor(x32))
    np.testing.assert_allclose(ours.numpy(), px.grad.numpy(), rtol=1e-4, atol=1e-7)


# --- torch.compile (slow: compiles; they run in CI) ----------------------------------------------


def _compile_cases(torch):
    rng = np.random.default_rng(3)
    x = rng.normal(scale=4.0, size=(64, 8)).astype(np.float32)
    y = (rng.uniform(size=(64, 8)) < 0.2).astype(np.float32)
    y[0, :4] = [0.5, 0.25, -100.0, 1.0]  # a soft label, the ignore label
    x[0, :4] = [1e-3, 2.0, 5.0, 30.0]
    x[1, :4] = [np.inf, -np.inf, np.inf, -np.inf]  # limits at +-inf
    y[1, :4] = [1.0, 0.0, 0.0, 1.0]
    x[2, :3] = [40.0, -40.0, 120.0]  # saturated, finite gradients for gamma < 1
    y[2, :3] = [1.0, 0.0, 1.0]
    return torch.from_numpy(x), torch.from_numpy(y)


@pytest.mark.slow
@pytest.mark.parametrize("dynamic", [False, True])
def test_torch_compile_fullgraph_equals_eager_values_and_gradients(torch, dynamic):
    x, y = _compile_cases(torch)
    n = torch.tensor(3.0)

    def step(a, b, normalizer):
        per_element = F.sigmoid_focal_loss(a, b, normalizer, 0.25, 0.5, "none")
        total = F.sigmoid_focal_loss(a, b, None, 0.25, 2.0, "mean")
        return per_element, total

    # The front-end's first call reads the registry's plug-ins, which Dynamo cannot trace.
    step(x, y, n)
    compiled = torch.compile(step, fullgraph=True, dynamic=dynamic)
    results = []
    for fn in (step, compiled):
        a = x.clone().requires_grad_()
        per_element, total = fn(a, y, n)
        (per_element.sum() + total).backward()
        results.append((per_element.detach(), total.detach(), a.grad))
    (e_pe, e_total, e_grad), (c_pe, c_total, c_grad) = results
    assert torch.equal(torch.isinf(c_pe), torch.isinf(e_pe))  # the limits at +-inf
    torch.testing.assert_close(c_pe, e_pe, rtol=2e-6, atol=1e-30)
    torch.testing.assert_close(c_total, e_total, rtol=2e-6, atol=0)
    assert torch.isfinite(c_grad).all()
    torch.testing.assert_close(c_grad, e_grad, rtol=2e-6, atol=1e-30)


@pytest.mark.slow
def test_torch_compile_large_cpu_inputs_call_the_eager_kernel_as_an_operator(torch):
    """From COMPILED_CPU_OP elements a compiled CPU graph runs NumPy's kernel through the custom
    operator (named in Inductor's code), over several blocks, one of them the reference's; below,
    the branch-free formula. Values and gradients equal the eager call's, with dynamic shapes."""
    from paddlefocal.backends import _torch_cpu_op
    from torch._inductor.utils import run_and_get_code

    rng = np.random.default_rng(5)
    large = 3 * 32768 + 7
    assert large >= _torch_cpu_op.COMPILED_CPU_OP > 100
    n = torch.tensor(2.5)

    def step(a, b, normalizer):
        per_element = F.sigmoid_focal_loss(a, b, normalizer, 0.25, 2.0, "none")
        total = F.sigmoid_focal_loss(a, b, None, 0.3, 0.5, "mean")
        (per_element.sum() + total).backward()
        return per_element.detach(), total.detach(), a.grad

    compiled = torch.compile(step, dynamic=True)
    for size in (100, large):
        x = torch.from_numpy(rng.normal(scale=4.0, size=size).astype(np.float32))
        y = torch.from_numpy((rng.uniform(size=size) < 0.2).astype(np.float32))
        if size > 40000:
            x[40000] = float("inf")  # that block is the reference's
        want = step(x.clone().requires_grad_(), y, n)
        got, codes = run_and_get_code(compiled, x.clone().requires_grad_(), y, n)
        for g, w in zip(got, want, strict=True):
            torch.testing.assert_close(g, w, rtol=2e-6, atol=1e-30)
        assert any("cpu_forward" in code for code in codes) == (size == large), size


@pytest.mark.slow
def test_torch_compile_fullgraph_with_label_gradient_and_tensor_gamma(torch):
    x, y = _compile_cases(torch)
    x, y = x[2:], y[2:].clamp(0, 1)

    def step(a, b, gamma):
        return F.sigmoid_focal_loss(a, b, None, 0.25, gamma, "sum")

    gamma = torch.tensor(1.5, requires_grad=True)
    step(x, y, gamma)
    compiled = torch.compile(step, fullgraph=True, dynamic=True)
    grads = []
    for fn in (step, compiled):
        a, b = x.clone().requires_grad_(), y.clone().requires_grad_()
        gamma.grad = None
        fn(a, b, gamma).backward()
        grads.append((a.grad, b.grad, gamma.grad.clone()))
    for got, expected in zip(grads[1], grads[0], strict=True):
        torch.testing.assert_close(got, expected, rtol=2e-6, atol=1e-30)


# --- JAX ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


def test_jax_grad_jvp_jacfwd_jacrev_equal_the_analytic_derivative(jax):
    jnp = jax.numpy
    x, y = jnp.asarray(LOGIT), jnp.asarray(LABEL)

    def f(a):
        return F.sigmoid_focal_loss(a, y, None, ALPHA, GAMMA)

    def per_element(a):
        return F.sigmoid_focal_loss(a, y, None, ALPHA, GAMMA, "none")

    expected = analytic_d_logit()
    np.testing.assert_allclose(jax.grad(f)(x), expected, rtol=1e-12)
    np.testing.assert_allclose(jax.jit(jax.grad(f))(x), expected, rtol=1e-12)
    v = jnp.asarray(np.linspace(-1.0, 1.0, LOGIT.size).reshape(LOGIT.shape))
    assert float(jax.jvp(f, (x,), (v,))[1]) == pytest.approx(float(np.sum(expected * v)), rel=1e-12)
    for jac in (jax.jacfwd, jax.jacrev):
        j = np.asarray(jac(per_element)(x)).reshape(LOGIT.size, LOGIT.size)
        np.testing.assert_allclose(np.diag(j), expected.ravel(), rtol=1e-12)
        assert np.count_nonzero(j - np.diag(np.diag(j))) == 0


def test_jax_hessian_is_diagonal_with_the_second_derivative(jax):
    jnp = jax.numpy
    y = jnp.asarray(LABEL)
    hess = jax.hessian(lambda a: F.sigmoid_focal_loss(a, y, None, ALPHA, GAMMA))(jnp.asarray(LOGIT))
    hess = np.asarray(hess).reshape(LOGIT.size, LOGIT.size)
    np.testing.assert_allclose(np.diag(hess), analytic_d2_logit().ravel(), rtol=1e-6, atol=1e-9)
    assert np.count_nonzero(hess - np.diag(np.diag(hess))) == 0


def test_jax_vmap_and_jit_equal_eager(jax):
    jnp = jax.numpy
    x, y = jnp.asarray(LOGIT), jnp.asarray(LABEL)
    rows = jax.vmap(lambda a, b: F.sigmoid_focal_loss(a, b, reduction="mean"))(x, y)
    eager = [float(F.sigmoid_focal_loss(x[i], y[i], reduction="mean")) for i in range(3)]
    np.testing.assert_allclose(rows, eager, rtol=1e-14)
    per_row = jax.vmap(jax.grad(lambda a, b: F.sigmoid_focal_loss(a, b)))(x, y)
    np.testing.assert_allclose(
        per_row, focal_elementwise_grads(np, LOGIT, LABEL, 0.25, 2.0).logit, rtol=1e-12
    )
    jitted = jax.jit(lambda a, b: F.sigmoid_focal_loss(a, b, jnp.asarray(2.0), 0.5, 1.0, "none"))
    np.testing.assert_allclose(
        jitted(x, y), F.sigmoid_focal_loss(x, y, jnp.asarray(2.0), 0.5, 1.0, "none"), rtol=1e-14
    )


@pytest.mark.parametrize(("alpha", "gamma"), [(1, 2), (0, 3), (0.25, 2)])
def test_jax_python_numbers_traced_under_jit_are_accepted_as_eagerly(jax, alpha, gamma):
    jnp = jax.numpy
    x, y = jnp.asarray(LOGIT), jnp.asarray(LABEL)
    traced = jax.jit(lambda a, b, al, g: F.sigmoid_focal_loss(a, b, alpha=al, gamma=g))(
        x, y, alpha, gamma
    )
    eager = F.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma)
    assert traced.dtype == x.dtype
    np.testing.assert_allclose(traced, eager, rtol=1e-14)
    # An integer 0-D array the caller made is cast too, as Paddle casts a 0-D integer tensor.
    made = jax.jit(lambda a, b, al: F.sigmoid_focal_loss(a, b, alpha=al, gamma=gamma))(
        x, y, jnp.asarray(alpha, jnp.int32)
    )
    as_int = F.sigmoid_focal_loss(x, y, alpha=int(alpha), gamma=gamma)
    np.testing.assert_allclose(made, as_int, rtol=1e-14)


def test_jax_gradients_finite_at_saturation_in_both_modes(jax):
    jnp = jax.numpy
    x = jnp.asarray([20.0, 40.0, 100.0, -60.0])
    y = jnp.asarray([1.0, 1.0, 1.0, 0.0])

    def f(a):
        return F.sigmoid_focal_loss(a, y, None, 0.25, 0.5)

    reverse = jax.grad(f)(x)
    forward = jax.jacfwd(f)(x)
    assert np.all(np.isfinite(reverse)) and np.all(np.isfinite(forward))
    np.testing.assert_allclose(forward, reverse, rtol=1e-14)
    true = [
        float(mpr.d_logit(*(mpr.mp.mpf(float(v)) for v in (a, b, 0.25, 0.5))))
        for a, b in zip(x, y, strict=True)
    ]
    np.testing.assert_allclose(reverse, true, rtol=1e-12)


def test_jax_first_derivative_equals_paddle_at_regular_points(jax, paddle):
    import paddle.nn.functional as PF

    jnp = jax.numpy
    x32, y32 = LOGIT.astype(np.float32), LABEL.astype(np.float32)
    px = paddle.to_tensor(x32, stop_gradient=False)
    PF.sigmoid_focal_loss(px, paddle.to_tensor(y32), alpha=ALPHA, gamma=GAMMA).backward()
    ours = jax.grad(lambda a: F.sigmoid_focal_loss(a, jnp.asarray(y32), None, ALPHA, GAMMA))(
        jnp.asarray(x32)
    )
    np.testing.assert_allclose(ours, px.grad.numpy(), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("alpha", [-0.5, 0.0, 1.0, 1.5])
@pytest.mark.parametrize("gamma", [0.0, 1.0, 2.0, 3.5])
def test_torch_one_pass_path_equals_reference_for_any_alpha(torch, alpha, gamma):
    y = np.where(RNG.uniform(size=500) < 0.4, 1.0, 0.0)
    for labels in (y, np.where(np.arange(500) % 7 == 0, 0.3, y)):  # hard, and with soft labels
        x = torch.tensor(RNG.normal(scale=5.0, size=500), requires_grad=True)
        out = F.sigmoid_focal_loss(x, torch.tensor(labels), None, alpha, gamma, "none")
        out.sum().backward()
        xn = x.detach().numpy()
        np.testing.assert_allclose(
            out.detach().numpy(), focal_elementwise(np, xn, labels, alpha, gamma), rtol=1e-12
        )
        expected = focal_elementwise_grads(np, xn, labels, alpha, gamma).logit
        np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-11, atol=1e-300)
