"""Each row of the "Differences from Paddle" table: Paddle's behaviour, observed live, next to ours."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import lib, paddle_loss

import paddlefocal.nn.functional as F

pytestmark = pytest.mark.usefixtures("paddle")

#: The example of Paddle's documentation (the seed).
SEED_LOGIT = np.array([[0.97, 0.91, 0.03], [0.55, 0.43, 0.71]], np.float32)
SEED_LABEL = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32)


def _paddle_on_seed(**kwargs):
    """Paddle's loss of the seed, with ``kwargs`` given."""
    paddle, PF = _pd()
    return PF.sigmoid_focal_loss(
        paddle.to_tensor(SEED_LOGIT), paddle.to_tensor(SEED_LABEL), **kwargs
    )


def _pd():
    import paddle
    import paddle.nn.functional as PF

    return paddle, PF


def test_1d_logit_works_where_paddle_fails():
    paddle, PF = _pd()
    logit = np.array([0.5, -1.0, 2.0], np.float32)
    label = np.array([1.0, 0.0, 1.0], np.float32)
    with pytest.raises(ValueError):
        PF.sigmoid_focal_loss(paddle.to_tensor(logit), paddle.to_tensor(label))
    ours = F.sigmoid_focal_loss(logit, label, reduction="none")
    np.testing.assert_allclose(
        ours, paddle_loss(logit[None], label[None], reduction="none")[0], rtol=1e-5
    )


@pytest.mark.parametrize("reduction", ["sum", "none"])
def test_float64_normalizer_keeps_float32_result(reduction):
    x = np.array([[0.5, -1.0]], np.float32)
    y = np.array([[1.0, 0.0]], np.float32)
    n = np.asarray([2.0], np.float64)  # Paddle promotes with shape [1] (not with shape [])
    theirs = paddle_loss(x, y, n, reduction=reduction)
    assert theirs.dtype == np.float64
    for shape in [(1,), ()]:
        ours = F.sigmoid_focal_loss(x, y, normalizer=n.reshape(shape), reduction=reduction)
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_normalizer_of_shape_k_is_refused_where_paddle_broadcasts():
    x = np.zeros((2, 3), np.float32)
    n = np.array([1.0, 2.0, 4.0], np.float32)
    theirs = paddle_loss(x, x, n, reduction="none")
    assert theirs.shape == (2, 3)  # broadcast along the last axis
    with pytest.raises(ValueError, match=r"shape \[\] or \[1\]"):
        F.sigmoid_focal_loss(x, x, normalizer=n)


def test_0d_logit_with_shape_1_normalizer_keeps_logit_shape():
    x = np.asarray(0.3, np.float32)
    y = np.asarray(1.0, np.float32)
    n = np.array([2.0], np.float32)
    theirs = paddle_loss(x, y, n, reduction="none")
    assert theirs.shape == (1,)
    ours = F.sigmoid_focal_loss(x, y, normalizer=n, reduction="none")
    assert ours.shape == ()
    np.testing.assert_allclose(ours, theirs[0], rtol=1e-6)


@pytest.mark.parametrize(
    ("logit", "label", "limit"),
    [
        (np.inf, 1.0, 0.0),
        (-np.inf, 0.0, 0.0),
        (np.inf, 0.0, np.inf),
        (-np.inf, 1.0, np.inf),
        (np.inf, 0.5, np.inf),
    ],
)
def test_infinite_logits_give_the_limit_not_nan(logit, label, limit):
    x = np.array([[logit]], np.float32)
    y = np.array([[label]], np.float32)
    theirs = paddle_loss(x, y, reduction="none")[0, 0]
    ours = F.sigmoid_focal_loss(x, y, reduction="none")[0, 0]
    assert ours == limit
    if limit == 0.0 or label == 0.0:
        assert np.isnan(theirs)  # Paddle: nan (and inf for -inf with label 1)


def test_label_gradient_is_the_whole_derivative():
    """The facts sheet's example: Paddle [-0.2596, 0.2288, -0.0750], true [-0.4211, 0.4883, -0.1475]."""
    torch = pytest.importorskip("torch")
    logit = np.array([[0.7, -1.3, 2.0]])
    label = np.array([[0.3, 0.6, 0.9]])
    _, _, p_dy, _ = paddle_loss(logit, label, None, 0.4, 1.5, "sum", grads=True)
    np.testing.assert_allclose(p_dy, [[-0.2596, 0.2288, -0.0750]], atol=1e-4)
    x = torch.tensor(logit, requires_grad=True)
    y = torch.tensor(label, requires_grad=True)
    F.sigmoid_focal_loss(x, y, alpha=0.4, gamma=1.5).backward()
    # central differences of the loss itself: the derivative by definition
    h = 1e-6
    fd = []
    for i in range(3):
        up, down = label.copy(), label.copy()
        up[0, i] += h
        down[0, i] -= h
        fd.append(
            (
                F.sigmoid_focal_loss(logit, up, alpha=0.4, gamma=1.5)
                - F.sigmoid_focal_loss(logit, down, alpha=0.4, gamma=1.5)
            )
            / (2 * h)
        )
    np.testing.assert_allclose(y.grad.numpy()[0], fd, rtol=1e-6)
    np.testing.assert_allclose(y.grad.numpy(), [[-0.4211, 0.4883, -0.1475]], atol=1e-4)


@pytest.mark.parametrize(("logit", "label"), [(100.0, 1.0), (-100.0, 0.0), (20.0, 1.0)])
def test_gradient_at_saturation_is_finite_where_paddle_gives_nan(logit, label):
    torch = pytest.importorskip("torch")
    x = np.array([[logit]], np.float32)
    y = np.array([[label]], np.float32)
    _, p_dx, _, _ = paddle_loss(x, y, None, 0.25, 0.5, "sum", grads=True)
    assert np.isnan(p_dx[0, 0])
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.tensor(y, requires_grad=True)
    F.sigmoid_focal_loss(xt, yt, gamma=0.5).backward()
    assert torch.isfinite(xt.grad).all() and torch.isfinite(yt.grad).all()
    assert abs(float(xt.grad)) < 1e-12  # the true derivative tends to 0


def test_tiny_losses_are_kept_where_paddle_rounds_to_zero():
    x = np.array([[20.0, -40.0]], np.float32)
    y = np.array([[1.0, 0.0]], np.float32)
    theirs = paddle_loss(x, y, None, 0.25, 2.0, "none")
    assert theirs[0, 0] == 0.0
    ours = F.sigmoid_focal_loss(x, y, reduction="none")
    # 0.25 * sigmoid(-20)**2 * log1p(exp(-20)) = 0.25 * exp(-60) * (1 + O(exp(-20)))
    np.testing.assert_allclose(ours[0, 0], 0.25 * np.exp(-60.0), rtol=1e-5)
    theirs_ce = paddle_loss(x, y, None, 0.25, 0.0, "none")
    assert theirs_ce[0, 1] == 0.0
    ours_ce = F.sigmoid_focal_loss(x, y, gamma=0.0, reduction="none")
    np.testing.assert_allclose(ours_ce[0, 1], 0.75 * np.exp(-40.0), rtol=1e-5)


def test_gamma_keeps_full_precision_in_float64():
    x = np.array([[0.3, -2.0, 1.5]])
    y = np.array([[1.0, 0.0, 0.4]])
    gamma = 3.7  # not representable in float32
    theirs = paddle_loss(x, y, None, 0.25, gamma, "none")
    ours = F.sigmoid_focal_loss(x, y, gamma=gamma, reduction="none")
    as_if_float32_gamma = F.sigmoid_focal_loss(
        x, y, gamma=float(np.float32(gamma)), reduction="none"
    )
    np.testing.assert_allclose(theirs, as_if_float32_gamma, rtol=1e-12)
    assert np.max(np.abs(ours / theirs - 1)) > 1e-9  # Paddle's rounding shows
    s = 1 / (1 + np.exp(-x))
    pt = s * y + (1 - s) * (1 - y)
    ce = np.log1p(np.exp(x)) - x * y
    exact = (0.25 * y + 0.75 * (1 - y)) * (1 - pt) ** gamma * ce
    np.testing.assert_allclose(ours, exact, rtol=1e-13)


def test_gradient_at_logit_exactly_zero():
    torch = pytest.importorskip("torch")
    x = np.zeros((1, 2), np.float32)
    y = np.array([[0.0, 1.0]], np.float32)
    _, p_dx, _, _ = paddle_loss(x, y, None, 0.25, 0.0, "sum", grads=True)
    # gamma 0: d/dx = alpha_t * (sigmoid(0) - y) = [0.75 * 0.5, 0.25 * -0.5]
    true = np.array([[0.375, -0.125]], np.float32)
    np.testing.assert_allclose(p_dx, [[-0.375, -0.375]])  # Paddle: off by -alpha_t
    xt = torch.tensor(x, requires_grad=True)
    F.sigmoid_focal_loss(xt, torch.tensor(y), gamma=0.0).backward()
    np.testing.assert_allclose(xt.grad.numpy(), true)


@pytest.mark.parametrize(("dtype", "value"), [("int64", 2), ("int32", 2), ("bool", True)])
def test_integer_0d_normalizer_is_cast_to_logits_dtype_as_paddle_promotes_it(dtype, value):
    paddle, PF = _pd()
    x, y = SEED_LOGIT.copy(), SEED_LABEL.copy()
    n = np.asarray(value, dtype)
    theirs = PF.sigmoid_focal_loss(paddle.to_tensor(x), paddle.to_tensor(y), paddle.to_tensor(n))
    ours = F.sigmoid_focal_loss(x, y, normalizer=n)
    assert str(theirs.dtype) == "paddle.float32" and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-6)
    with pytest.raises(TypeError, match="Type promotion"):  # Paddle: a [1] one is refused
        PF.sigmoid_focal_loss(paddle.to_tensor(x), paddle.to_tensor(y), paddle.to_tensor(n[None]))
    with pytest.raises(TypeError, match="'normalizer' of shape \\[1\\]"):
        F.sigmoid_focal_loss(x, y, normalizer=n[None])


def test_label_dtype_without_a_kernel_is_invalid_argument_where_paddle_raises_runtime_error():
    paddle, PF = _pd()
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(RuntimeError, match="not registered"):
        PF.sigmoid_focal_loss(paddle.to_tensor(x), paddle.to_tensor(x.astype(np.int64)))
    with pytest.raises(TypeError, match="'label' must have dtype float32 or float64") as ours:
        F.sigmoid_focal_loss(x, x.astype(np.int64))
    assert isinstance(ours.value, ValueError) and not isinstance(ours.value, RuntimeError)


@pytest.mark.parametrize("number", [2.0, 2, 2 + 0j])
def test_python_number_normalizer_is_a_clear_type_error(number):
    paddle, PF = _pd()
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(AttributeError):  # Paddle fails deep inside
        PF.sigmoid_focal_loss(paddle.to_tensor(x), paddle.to_tensor(x), number)
    with pytest.raises(TypeError, match="'normalizer' must be None or an array"):
        F.sigmoid_focal_loss(x, x, normalizer=number)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_alpha_gamma_are_refused_where_paddle_returns_nan(bad):
    x = np.zeros((2, 3), np.float32)
    y = np.ones((2, 3), np.float32)
    assert not np.isfinite(paddle_loss(x, y, None, bad, 2.0, "sum"))
    with pytest.raises(ValueError, match="'alpha' must be finite"):
        F.sigmoid_focal_loss(x, y, alpha=bad)


@pytest.mark.parametrize("argname", ["alpha", "gamma"])
@pytest.mark.parametrize("kind", ["python", "numpy", "torch"])
def test_bool_alpha_is_refused_where_paddle_takes_it_as_a_number(argname, kind):
    paddle, PF = _pd()
    torch = pytest.importorskip("torch")
    x, y = SEED_LOGIT.copy(), SEED_LABEL.copy()
    one = _paddle_on_seed(**{argname: 1.0})
    for flag in (True, paddle.to_tensor(np.asarray(True))):
        theirs = _paddle_on_seed(**{argname: flag})
        np.testing.assert_array_equal(theirs.numpy(), one.numpy())  # taken as 1
    given = {"python": True, "numpy": np.asarray(True), "torch": torch.tensor(True)}[kind]
    if kind == "torch":
        x, y = torch.tensor(x), torch.tensor(y)
    with pytest.raises(TypeError, match=f"'{argname}' must be a"):
        F.sigmoid_focal_loss(x, y, **{argname: given})


def test_non_finite_0d_alpha_is_refused_where_paddle_returns_nan():
    paddle, PF = _pd()
    x = np.zeros((2, 3), np.float32)
    y = np.ones((2, 3), np.float32)
    nan = np.asarray(np.nan, np.float32)
    out = PF.sigmoid_focal_loss(
        paddle.to_tensor(x), paddle.to_tensor(y), alpha=paddle.to_tensor(nan)
    )
    assert np.isnan(out.numpy())
    with pytest.raises(ValueError, match="'alpha' must be finite"):
        F.sigmoid_focal_loss(x, y, alpha=nan)


def test_alpha_too_large_for_the_dtype_is_refused_where_paddle_returns_nan():
    paddle, PF = _pd()
    x = np.zeros((2, 3), np.float32)
    y = np.ones((2, 3), np.float32)
    assert np.isnan(paddle_loss(x, y, None, 1e300, 2.0, "sum"))
    with pytest.raises(
        ValueError, match=r"'alpha' must be finite in logit's dtype float32 \(at most"
    ):
        F.sigmoid_focal_loss(x, y, alpha=1e300)
    with pytest.raises(TypeError, match="dtype must be any of"):
        PF.sigmoid_focal_loss(paddle.to_tensor(x), paddle.to_tensor(y), alpha=10**400)
    with pytest.raises(ValueError, match="'alpha' must be finite, but received int 1000"):
        F.sigmoid_focal_loss(x, y, alpha=10**400)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_negative_gamma_is_computed_where_paddle_gives_nan(dtype):
    torch = pytest.importorskip("torch")
    x = np.array([[100.0, 45.0, np.inf, -np.inf, 2.0]], dtype)
    y = np.array([[1.0, 1.0, 1.0, 0.0, 1.0]], dtype)
    theirs, p_dx, _, _ = paddle_loss(x, y, None, 0.25, -1.0, "none", grads=True)
    assert np.isnan(theirs[0, :4]).all() and np.isnan(p_dx[0, :2]).all()
    ours = F.sigmoid_focal_loss(x, y, gamma=-1.0, reduction="none")
    # alpha_t ce / (1 - p_t) = alpha_t (1 + t) log1p(t) / t with t = exp(-|x|): 1 to within t.
    np.testing.assert_allclose(ours[0, :4], [0.25, 0.25, 0.25, 0.75], rtol=1e-6)
    np.testing.assert_allclose(ours[0, 4], theirs[0, 4], rtol=1e-6)  # agreement elsewhere
    # The gradient through the written-out derivative (a 0-D tensor gamma takes it on every path).
    xt = torch.tensor(x[:, :2], requires_grad=True)
    F.sigmoid_focal_loss(
        xt, torch.tensor(y[:, :2]), gamma=torch.tensor(-1.0, dtype=xt.dtype)
    ).backward()
    assert torch.isfinite(xt.grad).all() and float(xt.grad.abs().max()) < 1e-12


def test_zero_normalizer_divides_the_total_where_paddle_divides_each_element():
    x = np.array([[20.0, np.inf, 0.5, 0.5]], np.float32)
    y = np.array([[1.0, 1.0, -100.0, 1.0]], np.float32)
    zero = np.array([0.0], np.float32)
    theirs = paddle_loss(x, y, zero, reduction="none")
    ours = F.sigmoid_focal_loss(x, y, normalizer=zero, reduction="none")
    # 0/0 is nan for both; Paddle rounds logit 20's loss (about 2.2e-27) to 0, so 0/0 there too.
    np.testing.assert_array_equal(theirs, [[np.nan, np.nan, np.nan, np.inf]])
    np.testing.assert_array_equal(ours, [[np.inf, np.nan, np.nan, np.inf]])
    for reduction in ("sum", "mean"):
        assert np.isnan(paddle_loss(x, y, zero, reduction=reduction))
        assert F.sigmoid_focal_loss(x, y, normalizer=zero, reduction=reduction) == np.inf
        # All losses exactly 0: nothing to take a limit of, nan as in Paddle.
        exact = (x[:, 1:3], y[:, 1:3])
        assert np.isnan(paddle_loss(*exact, zero, reduction=reduction))
        assert np.isnan(F.sigmoid_focal_loss(*exact, normalizer=zero, reduction=reduction))


@pytest.mark.parametrize("half", ["float16", "bfloat16"])
def test_autocast_half_inputs_are_computed_in_float32_as_paddle_amp_does(half):
    paddle, PF = _pd()
    torch = pytest.importorskip("torch")
    from paddle.amp import amp_lists

    # Paddle's AMP keeps this loss in float32 (its black lists), and has no half kernel for it.
    assert "sigmoid_cross_entropy_with_logits" in amp_lists.FP16_BLACK_LIST
    assert "sigmoid_cross_entropy_with_logits" in amp_lists.BF16_BLACK_LIST
    x = np.array([[0.5, -1.25, 3.0], [-0.125, 2.0, -4.0]], np.float32)
    y = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.25]], np.float32)
    with pytest.raises(RuntimeError, match="not registered"):
        PF.sigmoid_focal_loss(
            paddle.cast(paddle.to_tensor(x), half), paddle.cast(paddle.to_tensor(y), half)
        )
    dtype = getattr(torch, half)
    xt = torch.tensor(x, dtype=dtype, requires_grad=True)  # these values are exact in both halves
    yt = torch.tensor(y, dtype=dtype)
    with pytest.raises(TypeError, match="'logit' must have dtype float32 or float64"):
        F.sigmoid_focal_loss(xt, yt)
    with torch.autocast("cpu", dtype=dtype):
        ours = F.sigmoid_focal_loss(xt, yt, reduction="none")
    assert ours.dtype == torch.float32
    np.testing.assert_allclose(
        ours.detach().numpy(), paddle_loss(x, y, reduction="none"), rtol=1e-5
    )
    ours.sum().backward()
    assert xt.grad.dtype == dtype and torch.isfinite(xt.grad).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("gamma", [0.5, 1.5, 2.5])
def test_ignored_label_is_zero_under_a_fractional_gamma_where_paddle_gives_nan(dtype, gamma):
    """Label -100 with a negative logit: Paddle's 1 - p_t = 101 s - 100 s' is negative and its
    fractional power nan; the documentation says an ignored element contributes 0 (and 0 gradient)."""
    logit = np.array([[-1.0, -20.0, -1000.0, 2.0]], dtype)
    label = np.array([[-100.0, -100.0, -100.0, 1.0]], dtype)
    paddle_none = paddle_loss(logit, label, None, 0.25, gamma, "none")
    assert np.isnan(paddle_none[0, :3]).all()
    for name in ("numpy", "torch"):
        lib_ = lib(name)
        x, y = lib_.from_numpy(logit), lib_.from_numpy(label)
        ours = lib_.to_numpy(F.sigmoid_focal_loss(x, y, None, 0.25, gamma, "none"))
        assert (ours[0, :3] == 0).all()
        np.testing.assert_allclose(ours[0, 3], paddle_none[0, 3], rtol=1e-5)
    import torch

    for requires in ((True, False), (True, True)):
        xt = torch.tensor(logit, requires_grad=requires[0])
        yt = torch.tensor(label, requires_grad=requires[1])
        F.sigmoid_focal_loss(xt, yt, None, 0.25, gamma, "sum").backward()
        assert (xt.grad[0, :3] == 0).all()
        if requires[1]:
            assert (yt.grad[0, :3] == 0).all()


@pytest.mark.parametrize(
    ("dtype", "label", "logit"),
    [(np.float32, -1e-8, -20.0), (np.float32, -1e-30, -80.0), (np.float64, -1e-30, -80.0)],
)
@pytest.mark.parametrize("gamma", [0.5, 1.5])
def test_tiny_negative_label_is_nan(dtype, label, logit, gamma):
    """1 - p_t = s (1 - y) + s' y is negative where sigmoid(x) < -y: its fractional power is
    undefined. Paddle's 1 - (p y + (1 - p)(1 - y)) rounds 1 - p and 1 - y to 1, so its 1 - p_t is 0."""
    torch = pytest.importorskip("torch")
    s = 1 / (1 + np.exp(-logit))
    assert s * (1 - label) + (1 - s) * label < 0
    # The second element: label -1e-4, where Paddle's 1 - p_t is negative too; the third agrees.
    x = np.array([[logit, -20.0, 2.0]], dtype)
    y = np.array([[label, -1e-4, label]], dtype)
    theirs, p_dx, _, _ = paddle_loss(x, y, None, 0.25, gamma, "none", grads=True)
    assert theirs[0, 0] == 0 and p_dx[0, 0] == (-np.inf if gamma < 1 else 0.0)
    assert np.isnan(theirs[0, 1]) and np.isnan(p_dx[0, 1])
    for name in ("numpy", "torch"):
        lib_ = lib(name)
        ours = lib_.to_numpy(
            F.sigmoid_focal_loss(lib_.from_numpy(x), lib_.from_numpy(y), None, 0.25, gamma, "none")
        )
        assert np.isnan(ours[0, :2]).all()
        np.testing.assert_allclose(ours[0, 2], theirs[0, 2], rtol=1e-5)
    xt = torch.tensor(x, requires_grad=True)
    F.sigmoid_focal_loss(xt, torch.tensor(y), None, 0.25, gamma, "sum").backward()
    assert torch.isnan(xt.grad[0, :2]).all()
    np.testing.assert_allclose(xt.grad[0, 2].item(), p_dx[0, 2], rtol=1e-5)


@pytest.mark.parametrize("argname", ["alpha", "gamma"])
@pytest.mark.parametrize("given", [[0.5], (0.5,), np.array([0.5], np.float32)])
def test_alpha_list_is_refused(argname, given):
    """The docs: alpha and gamma are int or float. Paddle's to_tensor makes a list, a tuple or a
    [1] array a [1] tensor and broadcasts it (a 0-D logit's 'none' result then has shape [1])."""
    paddle, PF = _pd()
    x, y = SEED_LOGIT.copy(), SEED_LABEL.copy()
    arg = paddle.to_tensor(given) if isinstance(given, np.ndarray) else given
    theirs = _paddle_on_seed(**{argname: arg})
    as_number = _paddle_on_seed(**{argname: 0.5})
    np.testing.assert_allclose(theirs.numpy(), as_number.numpy(), rtol=1e-6)
    if argname == "alpha":
        x0, y0 = paddle.to_tensor(np.float32(0.3)), paddle.to_tensor(np.float32(1.0))
        assert PF.sigmoid_focal_loss(x0, y0, alpha=arg, reduction="none").shape == [1]
        # per class, along the last axis
        per_class = PF.sigmoid_focal_loss(
            paddle.to_tensor(x), paddle.to_tensor(y), alpha=[0.25, 0.5, 0.75], reduction="none"
        )
        assert per_class.shape == [2, 3]
    with pytest.raises(ValueError, match=f"'{argname}' must be") as ours:
        F.sigmoid_focal_loss(x, y, **{argname: given})
    assert isinstance(ours.value, TypeError) == (not isinstance(given, np.ndarray))
    with pytest.raises(ValueError):  # Paddle, where it does not broadcast
        _paddle_on_seed(**{argname: [0.5, 0.5]})


@pytest.mark.parametrize("argname", ["alpha", "gamma"])
@pytest.mark.parametrize("kind", ["python", "numpy", "torch"])
def test_complex_alpha_gamma_are_refused(argname, kind):
    """Paddle's to_tensor(alpha, dtype=float32) drops the imaginary part: 0.5+1j is taken as 0.5."""
    paddle, PF = _pd()
    torch = pytest.importorskip("torch")
    x, y = SEED_LOGIT.copy(), SEED_LABEL.copy()
    value = 0.5 + 1j
    theirs = _paddle_on_seed(**{argname: value})
    zero_d = paddle.to_tensor(np.asarray(value, np.complex64))
    theirs_0d = _paddle_on_seed(**{argname: zero_d})
    real = _paddle_on_seed(**{argname: 0.5})
    np.testing.assert_array_equal(theirs.numpy(), real.numpy())
    np.testing.assert_array_equal(theirs_0d.numpy(), real.numpy())
    if kind == "torch":
        x, y = torch.tensor(x), torch.tensor(y)
        given = torch.tensor(value, dtype=torch.complex64)
    else:
        given = value if kind == "python" else np.asarray(value, np.complex64)
    with pytest.raises(TypeError, match=f"'{argname}' must be"):
        F.sigmoid_focal_loss(x, y, **{argname: given})


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_complex_normalizer_is_refused(dtype):
    """The docs: float32 or float64, and the result of logit's dtype; Paddle's divide promotes."""
    paddle, PF = _pd()
    torch = pytest.importorskip("torch")
    x, y = SEED_LOGIT.copy(), SEED_LABEL.copy()
    for shape in [(), (1,)]:
        n = np.full(shape, 2 + 1j, dtype)
        theirs = PF.sigmoid_focal_loss(
            paddle.to_tensor(x), paddle.to_tensor(y), paddle.to_tensor(n)
        )
        assert str(theirs.dtype) == f"paddle.{dtype}" and theirs.numpy().imag != 0
        with pytest.raises(TypeError, match="'normalizer' must have dtype float32 or float64"):
            F.sigmoid_focal_loss(x, y, normalizer=n)
        with pytest.raises(TypeError, match="'normalizer' must have dtype float32 or float64"):
            F.sigmoid_focal_loss(torch.tensor(x), torch.tensor(y), normalizer=torch.tensor(n))
