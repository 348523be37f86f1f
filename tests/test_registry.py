"""The registry: first calls of a process, racing threads, plug-ins, precedence, misuse, a new library."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import PLUGIN, plugin_env

import paddlefocal.nn.functional as F
from paddlefocal import _libraries, backends

#: Seconds a fresh interpreter may take for one first call; a hang is a failure, not a stuck run.
LIMIT = 120

FIRST_CALLS = {
    "path_name": "print(backends.path_name(x))",
    "resolve": "print(backends.resolve(x).__name__)",
    "use": "with backends.use('numpy'):\n    print(backends.path_name(x))",
    "registered": "print([b.name for b in backends.registered()][:1])",
    "register": "backends.register('mine', 'numpy', lambda a: False, lambda call: None)\nprint('ok')",
    "info": "print(len(backends.info()))",
    "namespace_for": "print(backends.namespace_for(x))",
    "loss with array normalizer, alpha and gamma": (
        "a = np.asarray(0.25, np.float32)\n"
        "print(float(F.sigmoid_focal_loss(x, x, np.asarray(2.0, np.float32), a, a + 1)))"
    ),
    "the registry's doctest": (
        "import doctest, paddlefocal._registry as r\nprint(doctest.testmod(r).failed)"
    ),
}


def _fresh(code: str, env: dict[str, str] | None = None) -> str:
    prologue = (
        "import numpy as np\nfrom paddlefocal import backends\nimport paddlefocal.nn.functional as F\n"
        "x = np.zeros(3, np.float32)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", prologue + code],
        capture_output=True,
        text=True,
        timeout=LIMIT,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("call", FIRST_CALLS.values(), ids=FIRST_CALLS.keys())
def test_every_public_call_works_as_the_first_call_of_a_process(call):
    assert _fresh(call).strip()


def test_eight_threads_racing_the_first_calls_all_finish():
    code = textwrap.dedent(
        """
        import threading, array_api_strict as strict
        calls = [
            lambda: backends.path_name(x),
            lambda: backends.resolve(x),
            lambda: backends.registered(),
            lambda: backends.namespace_for(x),
            lambda: F.sigmoid_focal_loss(x, x, np.asarray(1.0, np.float32), np.float32(0.25)),
            lambda: F.sigmoid_focal_loss(strict.asarray(x), strict.asarray(x)),
            lambda: backends.use("numpy").__enter__(),
            lambda: backends.register("r", "numpy", lambda a: False, lambda call: None),
        ]
        barrier = threading.Barrier(8)
        errors = []
        def run(call):
            barrier.wait()
            try:
                call()
            except Exception as exc:
                errors.append(exc)
        threads = [threading.Thread(target=run, args=(c,)) for c in calls]
        for t in threads: t.start()
        for t in threads: t.join(60)
        print("ALIVE", sum(t.is_alive() for t in threads), "ERRORS", errors)
        """
    )
    assert "ALIVE 0 ERRORS []" in _fresh(code)


REENTRANT = """
from paddlefocal import backends
# A plug-in that asks the registry while it is being loaded must not wait for itself.
NAMES = [b.name for b in backends.registered()]
BACKEND = backends.Backend("reentrant", "no_such_library", lambda a: False, lambda call: None)
"""


@pytest.fixture
def tagged_env(tmp_path):
    """An environment with the Tagged plug-in installed as a distribution."""
    entry = "[paddlefocal.backends]\ntagged = demo_plugin:BACKEND\n"
    return plugin_env(tmp_path, entry, {"demo_plugin": PLUGIN})


def test_use_knows_an_installed_plugin_before_any_loss_call(tagged_env):
    env = tagged_env
    out = _fresh(
        "with backends.use('tagged'):\n"
        "    import demo_plugin\n"
        "    t = np.zeros(3).view(demo_plugin.Tagged)\n"
        "    print('VALUE', float(F.sigmoid_focal_loss(t, t)))\n",
        env,
    )
    assert "VALUE -1.0" in out


def test_register_takes_precedence_over_plugins_which_take_precedence_over_builtins(
    tagged_env,
):
    env = tagged_env
    out = _fresh(
        "import demo_plugin\n"
        "t = np.zeros(3).view(demo_plugin.Tagged)\n"
        "print('BEFORE', backends.path_name(t), backends.path_name(x))\n"
        "backends.register('mine', 'numpy', lambda a: isinstance(a, demo_plugin.Tagged), lambda c: np.asarray(7.0))\n"
        "print('AFTER', backends.path_name(t), float(F.sigmoid_focal_loss(t, t)), backends.path_name(x))\n"
        "print('ORDER', [b.name for b in backends.registered()][:3])\n",
        env,
    )
    assert "BEFORE tagged numpy" in out
    assert "AFTER mine 7.0 numpy" in out
    assert "ORDER ['mine', 'tagged', 'numpy']" in out


def test_a_plugin_that_calls_the_registry_while_loading_does_not_hang(tmp_path):
    env = plugin_env(
        tmp_path, "[paddlefocal.backends]\nre = reentrant:BACKEND\n", {"reentrant": REENTRANT}
    )
    out = _fresh("print('NAMES', [b.name for b in backends.registered()][:2])", env)
    assert "NAMES ['reentrant', 'numpy']" in out


def test_a_later_registration_takes_precedence(registry):
    class Marker(np.ndarray):
        pass

    registry.register("first", "numpy", lambda a: isinstance(a, Marker), lambda c: np.asarray(1.0))
    registry.register("second", "numpy", lambda a: isinstance(a, Marker), lambda c: np.asarray(2.0))
    m = np.zeros(2).view(Marker)
    assert registry.path_name(m) == "second"
    assert float(F.sigmoid_focal_loss(m, m)) == 2.0


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("x", "numpy", lambda a: True, "no_colon"), ValueError, "'package.module:attribute'"),
        (("x", "numpy", lambda a: True, "mod:"), ValueError, "'package.module:attribute'"),
        ((3, "numpy", lambda a: True, "mod:fn"), TypeError, "'name' must be a non-empty str"),
        (("", "numpy", lambda a: True, "mod:fn"), TypeError, "'name' must be a non-empty str"),
        (("x", None, lambda a: True, "mod:fn"), TypeError, "'module' must be a str"),
        (("x", "numpy", "not callable", "mod:fn"), TypeError, "'is_array' must be callable"),
        (("x", "numpy", lambda a: True, 42), TypeError, "'target' must be callable"),
    ],
)
def test_a_malformed_registration_is_refused_and_registers_nothing(registry, args, error, match):
    before = registry.registered()
    with pytest.raises(error, match=match):
        registry.register(*args)
    assert registry.registered() == before
    assert registry.path_name(np.zeros(2)) == "numpy"


def test_a_registration_that_cannot_be_imported_warns_and_never_breaks_later_calls(registry):
    registry.register("ghost", "numpy", lambda a: True, "no_such_module_anywhere:loss")
    with pytest.warns(RuntimeWarning, match="'ghost' failed to load"):
        first = F.sigmoid_focal_loss(np.ones(3), np.ones(3))
    second = F.sigmoid_focal_loss(np.ones(3), np.ones(3))
    with registry.use("reference"):
        expected = F.sigmoid_focal_loss(np.ones(3), np.ones(3))
    assert float(first) == float(second) == pytest.approx(float(expected))


@pytest.mark.parametrize(
    ("name", "error"), [(["numpy"], TypeError), (None, TypeError), ("nope", ValueError)]
)
def test_use_refuses_what_is_not_a_known_path_name(name, error):
    with pytest.raises(error, match="use:"), backends.use(name):
        pass


TOY_BACKEND = '''
"""The fast path of a toy library (here: array-api-strict arrays) in a file of its own."""
from paddlefocal._reference import reference_loss

CALLS = []


def loss(call):
    CALLS.append(call.reduction)
    return reference_loss(call)
'''


def test_a_new_library_is_one_table_entry_plus_one_path_module(
    registry, tmp_path, monkeypatch, capsys
):
    """What adding a library takes: this entry and the module above; nothing else lists libraries."""
    strict = pytest.importorskip("array_api_strict")
    (tmp_path / "toy_backend.py").write_text(TOY_BACKEND)
    monkeypatch.syspath_prepend(str(tmp_path))
    toy = _libraries.Library(
        name="toy",
        module="array_api_strict",
        is_array=_libraries.by_name("array-api-strict").is_array,
        path="toy_backend:loss",
        namespace_per_type=False,
    )
    table = tuple(lib for lib in _libraries.LIBRARIES if lib.name != "array-api-strict")
    monkeypatch.setattr(_libraries, "LIBRARIES", (*table, toy))
    import toy_backend

    x = strict.asarray(np.asarray([0.5, -1.0], np.float32))
    assert backends.path_name(x) == "toy"
    F.sigmoid_focal_loss(x, x, reduction="mean")
    assert toy_backend.CALLS == ["mean"]
    assert {row["library"]: row["path"] for row in backends.info() if row["installed"]}[
        "toy"
    ] == "toy"

    from paddlefocal._cli.main import main

    np.save(tmp_path / "x.npy", np.asarray([0.5, -1.0], np.float32))
    path = str(tmp_path / "x.npy")
    assert main(["compute", "--logit", path, "--label", path, "--backend", "toy"]) == 0
    assert toy_backend.CALLS == ["mean", "sum"]
    assert main(["demo"]) == 0
    assert "\ntoy " in capsys.readouterr().out


@pytest.mark.slow
def test_a_first_call_inside_torch_compile_fullgraph_needs_no_earlier_eager_call():
    """Dynamo cannot trace the plug-in scan's locks or file reads: a first call made inside a traced
    function chooses without them. (The path module itself must be importable by name first.)"""
    pytest.importorskip("torch")
    code = textwrap.dedent(
        """
        import torch
        import paddlefocal.backends.torch  # Dynamo traces no importlib call
        @torch.compile(fullgraph=True)
        def step(x, y):
            return F.sigmoid_focal_loss(x, y)
        x = torch.randn(4, 3, requires_grad=True)
        y = (torch.rand(4, 3) > 0.5).float()
        out = step(x, y)
        out.backward()
        with torch.no_grad():
            eager = F.sigmoid_focal_loss(x, y)
        print("SAME", bool(torch.allclose(out, eager)), "GRAD", bool(torch.isfinite(x.grad).all()))
        """
    )
    assert "SAME True GRAD True" in _fresh(code)
