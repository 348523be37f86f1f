"""Third-party backends: the public registry, entry-point plug-ins, and the Paddle-tensor backend."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import PLUGIN, paddle_loss, plugin_env

import paddlefocal.nn.functional as F
from paddlefocal import backends

CHECK = """
import warnings, numpy as np
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import paddlefocal
    from paddlefocal import backends
    plain = paddlefocal.sigmoid_focal_loss(np.zeros((2, 3)), np.ones((2, 3)))
    names = [b.name for b in backends.registered()]
    {extra}
print("NAMES", names)
print("PLAIN", float(plain))
print("WARNINGS", [str(w.message) for w in caught])
"""


def _run(env: dict[str, str], extra: str = "") -> str:
    code = CHECK.format(extra=textwrap.indent(extra, "    ").strip())
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


def test_plugin_from_an_installed_distribution_is_picked_up(tmp_path):
    env = plugin_env(
        tmp_path, "[paddlefocal.backends]\ntagged = demo_plugin:BACKEND\n", {"demo_plugin": PLUGIN}
    )
    extra = (
        "import demo_plugin\n"
        "tagged = np.zeros((2, 3)).view(demo_plugin.Tagged)\n"
        "print('TAGGED', float(paddlefocal.sigmoid_focal_loss(tagged, tagged)), backends.path_name(tagged))"
    )
    out = _run(env, extra)
    assert "'tagged'" in out.split("NAMES")[1].splitlines()[0]
    assert "TAGGED -1.0 tagged" in out
    assert "WARNINGS []" in out


def test_broken_plugin_warns_and_unrelated_calls_work(tmp_path):
    entry = "[paddlefocal.backends]\nbroken = no_such_module:BACKEND\nwrong = demo_wrong:BACKEND\n"
    env = plugin_env(tmp_path, entry, {"demo_wrong": "BACKEND = 42\n"})
    out = _run(env)
    plain = float(out.split("PLAIN ")[1].split()[0])
    assert plain == pytest.approx(float(F.sigmoid_focal_loss(np.zeros((2, 3)), np.ones((2, 3)))))
    warnings_line = out.split("WARNINGS")[1].replace("\\'", "'")
    assert "plug-in 'broken'" in warnings_line and "plug-in 'wrong'" in warnings_line
    assert "ModuleNotFoundError" in warnings_line and "got 42" in warnings_line


def test_info_lists_installed_libraries_and_paths():
    rows = {row["library"]: row for row in backends.info()}
    assert rows["numpy"]["path"] == "numpy" and rows["numpy"]["devices"] == ["cpu"]
    assert rows["numpy"]["version"] == np.__version__
    if "torch" in rows:
        assert rows["torch"]["path"] == "torch"
    if rows["array-api-strict"]["installed"]:
        assert rows["array-api-strict"]["path"] == "reference"


# --- the Paddle-tensor backend ---------------------------------------------------------------------


@pytest.fixture
def pd(paddle):
    return paddle


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_paddle_tensors_in_paddle_tensors_out_equal_paddle(pd, reduction, dtype):
    rng = np.random.default_rng(8)
    x = rng.normal(scale=3, size=(4, 6)).astype(dtype)
    y = rng.uniform(size=(4, 6)).astype(dtype)
    y[0] = 1.0
    n = np.asarray(3.0, dtype)
    expected, e_dx, _, e_dn = paddle_loss(x, y, n, 0.3, 2.0, reduction, grads=True)
    xt = pd.to_tensor(x, stop_gradient=False)
    nt = pd.to_tensor(n, stop_gradient=False)
    out = F.sigmoid_focal_loss(xt, pd.to_tensor(y), nt, 0.3, 2.0, reduction)
    assert isinstance(out, pd.Tensor) and str(out.dtype).endswith(dtype)
    out.sum().backward()
    t = {"rtol": 1e-5, "atol": 1e-6} if dtype == "float32" else {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(out.numpy(), expected, **t)
    np.testing.assert_allclose(xt.grad.numpy(), e_dx, **t)
    np.testing.assert_allclose(nt.grad.numpy(), e_dn, **t)


def test_paddle_backend_follows_the_differences_table(pd):
    # 1-D works, infinite logits give the limit, the label gradient is whole, saturation is finite.
    out = F.sigmoid_focal_loss(
        pd.to_tensor([np.inf, -np.inf, 0.5]), pd.to_tensor([1.0, 0.0, 1.0]), reduction="none"
    )
    np.testing.assert_allclose(out.numpy()[:2], [0.0, 0.0])
    x = pd.to_tensor([[0.7, -1.3, 2.0]])
    y = pd.to_tensor([[0.3, 0.6, 0.9]], stop_gradient=False)
    F.sigmoid_focal_loss(x, y, alpha=0.4, gamma=1.5).backward()
    np.testing.assert_allclose(y.grad.numpy(), [[-0.4211, 0.4883, -0.1475]], atol=1e-4)
    xs = pd.to_tensor([[20.0, 100.0]], stop_gradient=False)
    F.sigmoid_focal_loss(xs, pd.to_tensor([[1.0, 1.0]]), gamma=0.5).backward()
    assert np.all(np.isfinite(xs.grad.numpy()))


def test_paddle_backend_validates_like_the_rest(pd):
    x = pd.zeros([2, 3])
    with pytest.raises(ValueError, match="same shape"):
        F.sigmoid_focal_loss(x, pd.zeros([3, 2]))
    with pytest.raises(TypeError, match="'label' must have dtype float32 or float64"):
        F.sigmoid_focal_loss(x, pd.zeros([2, 3], dtype="int64"))
    with pytest.raises(TypeError, match="same library"):
        F.sigmoid_focal_loss(x, np.zeros((2, 3), np.float32))


def test_importing_paddlefocal_does_not_import_paddle():
    code = "import sys, numpy as np, paddlefocal\npaddlefocal.sigmoid_focal_loss(np.zeros(3), np.ones(3))\nassert 'paddle' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
