"""The registry under hostile conditions: racing first loads, slow and re-entrant plug-ins, plug-ins
whose checks raise, misuse, forcing one of two paths for one library, use() under torch.compile, and
malformed thread counts. Each runs in a fresh interpreter with a time limit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import plugin_env

from paddlefocal import backends

LIMIT = 120


def _fresh(code: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=LIMIT,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_six_threads_racing_the_first_torch_call_are_all_served_by_the_torch_path():
    pytest.importorskip("torch")
    code = """
        import sys, threading, warnings, torch
        import paddlefocal.nn.functional as F
        from paddlefocal import backends
        warnings.simplefilter("error")
        sys.setswitchinterval(1e-6)
        served, errors = [], []
        barrier = threading.Barrier(6)
        def run():
            x = torch.tensor([float("inf"), -float("inf"), 0.5], requires_grad=True)
            barrier.wait()
            try:
                served.append(backends.resolve(x).__module__)
                F.sigmoid_focal_loss(x, torch.tensor([1.0, 0.0, 1.0])).backward()
                served.append(bool(torch.isfinite(x.grad).all()))
            except Exception as exc:
                errors.append(repr(exc))
        threads = [threading.Thread(target=run) for _ in range(6)]
        for t in threads: t.start()
        for t in threads: t.join(60)
        print("SERVED", sorted(map(str, served)), "ERRORS", errors)
        print("AFTER", backends.path_name(torch.zeros(1)))
        """
    out = _fresh(code)
    assert f"SERVED {['True'] * 6 + ['paddlefocal.backends.torch'] * 6} ERRORS []" in out, out
    assert "AFTER torch" in out


SLOW_PATH = """
import time
time.sleep(0.5)
from paddlefocal._reference import reference_loss
CALLS = []
def loss(call):
    CALLS.append(1)
    return reference_loss(call)
"""


def test_a_path_whose_import_takes_half_a_second_serves_every_racing_call(tmp_path):
    entry = "[paddlefocal.backends]\nslow = slow_backend:BACKEND\n"
    backend = (
        "import numpy as np\nfrom paddlefocal.backends import Backend\n"
        "class Slow(np.ndarray): pass\n"
        "BACKEND = Backend('slow', 'numpy', lambda a: isinstance(a, Slow), 'slow_path:loss')\n"
    )
    env = plugin_env(tmp_path, entry, {"slow_backend": backend, "slow_path": SLOW_PATH})
    code = """
        import threading, warnings, numpy as np
        import paddlefocal.nn.functional as F
        from paddlefocal import backends
        import slow_backend
        warnings.simplefilter("error")
        t = np.zeros(3).view(slow_backend.Slow)
        names, errors = [], []
        def run():
            try:
                names.append(backends.path_name(t)); F.sigmoid_focal_loss(t, t)
            except Exception as exc:
                errors.append(repr(exc))
        threads = [threading.Thread(target=run) for _ in range(4)]
        for th in threads: th.start()
        for th in threads: th.join(60)
        import slow_path
        print("NAMES", names, "CALLS", len(slow_path.CALLS), "ERRORS", errors)
        print("AFTER", backends.path_name(t))
        """
    out = _fresh(code, env)
    assert "NAMES ['slow', 'slow', 'slow', 'slow'] CALLS 4 ERRORS []" in out, out
    assert "AFTER slow" in out


WAITING_PLUGIN = """
import threading, numpy as np
import paddlefocal
from paddlefocal.backends import Backend
# The plug-in's import runs a loss on a worker thread and waits for it.
result = []
worker = threading.Thread(target=lambda: result.append(float(
    paddlefocal.sigmoid_focal_loss(np.zeros(3), np.ones(3)))))
worker.start()
worker.join()
BACKEND = Backend("waiting", "numpy", lambda a: False, lambda call: None)
"""


def test_a_plugin_whose_import_waits_for_a_loss_on_a_worker_thread_does_not_deadlock(tmp_path):
    env = plugin_env(
        tmp_path, "[paddlefocal.backends]\nw = waiting:BACKEND\n", {"waiting": WAITING_PLUGIN}
    )
    code = """
        import numpy as np
        from paddlefocal import backends
        print("PATH", backends.path_name(np.zeros(3)))
        import waiting
        print("NAMES", [b.name for b in backends.registered()][:2], waiting.result)
        """
    out = _fresh(code, env)
    assert "PATH numpy" in out and "NAMES ['waiting', 'numpy'] [0.1299" in out, out


def test_a_backend_whose_is_array_raises_is_skipped_with_one_warning_naming_it(registry):
    def is_array(a):
        return a.no_such_attribute

    registry.register("fragile", "numpy", is_array, lambda call: None)
    import paddlefocal.nn.functional as F

    x = np.zeros(3, np.float32)
    with pytest.warns(RuntimeWarning, match="'fragile' failed to recognise") as caught:
        for _ in range(3):
            F.sigmoid_focal_loss(x, x)
            registry.path_name(np.zeros(2, np.float64).view(np.recarray))
    assert len([w for w in caught if "fragile" in str(w.message)]) == 1
    assert registry.path_name(x) == "numpy"


@pytest.mark.parametrize("name", ["reference", "numpy", "torch"])
def test_register_refuses_a_reserved_name(registry, name):
    with pytest.raises(ValueError, match=f"the name '{name}' is reserved"):
        registry.register(name, "numpy", lambda a: True, lambda call: None)
    assert registry.path_name(np.zeros(2)) == "numpy"


def test_a_second_registration_under_one_name_replaces_the_first(registry):
    registry.register("mine", "numpy", lambda a: False, lambda call: None)
    registry.register("mine", "numpy", lambda a: False, lambda call: None)
    assert [b.name for b in registry.registered()].count("mine") == 1


@pytest.mark.parametrize("value", [[1.0, 2.0], None, "numpy", 1.5, 3, True], ids=repr)
@pytest.mark.parametrize("function", ["path_name", "resolve"])
def test_path_name_and_resolve_refuse_what_is_not_an_array(registry, function, value):
    with pytest.raises(
        TypeError, match=f"{function}: expected an array .* received {type(value).__name__}"
    ):
        getattr(registry, function)(value)


class Toy(np.ndarray):
    """A toy library's array type, claimed by two backends."""


def test_use_forces_the_second_of_two_backends_for_one_library(registry):
    registry.register("slow", "numpy", lambda a: isinstance(a, Toy), lambda c: np.asarray(2.0))
    registry.register("fast", "numpy", lambda a: isinstance(a, Toy), lambda c: np.asarray(1.0))
    import paddlefocal.nn.functional as F

    t = np.zeros(3).view(Toy)
    assert registry.path_name(t) == "fast" and float(F.sigmoid_focal_loss(t, t)) == 1.0
    with registry.use("slow"):
        assert registry.path_name(t) == "slow" and float(F.sigmoid_focal_loss(t, t)) == 2.0
        with pytest.raises(ValueError, match=r"use\('slow'\) is in force.* served by 'numpy'"):
            registry.path_name(np.zeros(3))
    assert registry.path_name(t) == "fast"


def test_use_is_thread_local():
    import threading

    seen = []
    with backends.use("reference"):
        thread = threading.Thread(target=lambda: seen.append(backends.path_name(np.zeros(2))))
        thread.start()
        thread.join()
        seen.append(backends.path_name(np.zeros(2)))
    assert seen == ["numpy", "reference"]


@pytest.mark.slow
def test_use_inside_torch_compile_fullgraph_and_another_threads_use_recompile_nothing():
    pytest.importorskip("torch")
    code = """
        import threading, torch
        import paddlefocal.backends.torch  # Dynamo traces no importlib call
        import paddlefocal
        from paddlefocal import backends
        from torch._dynamo.utils import counters
        @torch.compile(fullgraph=True)
        def step(x, y):
            return paddlefocal.sigmoid_focal_loss(x, y)
        x, y = torch.randn(4, 3), (torch.rand(4, 3) > 0.5).float()
        with backends.use("torch"):
            inside = step(x, y)
        outside = step(x, y)  # this thread's own use() state is guarded: one graph each
        graphs = counters["stats"]["unique_graphs"]
        entered, leave = threading.Event(), threading.Event()
        def other():
            with backends.use("numpy"):
                entered.set(); leave.wait(60)
        thread = threading.Thread(target=other); thread.start(); entered.wait(60)
        again = step(x, y)
        leave.set(); thread.join()
        eager = paddlefocal.sigmoid_focal_loss(x, y)
        print("SAME", *(bool(torch.allclose(r, eager)) for r in (inside, outside, again)))
        print("RECOMPILES", counters["stats"]["unique_graphs"] - graphs)
        """
    out = _fresh(code)
    assert "SAME True True True" in out and "RECOMPILES 0" in out, out


@pytest.mark.parametrize(
    ("raw", "warns"),
    [("", True), ("1_0", True), ("\u0663", True), ("+4", True), ("0", True), (" 4 ", False)],
    ids=repr,
)
def test_num_threads_env_var_takes_only_a_positive_ascii_integer(raw, warns):
    code = """
        import warnings, paddlefocal
        from paddlefocal._threads import DEFAULT_MAX, _usable_cpus
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            n = paddlefocal.get_num_threads()
        print("N", n, "DEFAULT", min(_usable_cpus(), DEFAULT_MAX), "WARN", len(caught))
        """
    out = _fresh(code, {**os.environ, "PADDLEFOCAL_NUM_THREADS": raw})
    n, default = out.split("N ")[1].split()[0], out.split("DEFAULT ")[1].split()[0]
    assert ("WARN 1" in out) == warns, out
    assert n == (default if warns else "4"), out


SELF_ASKING_PATH = """
import slow_backend
from paddlefocal import backends
# Asked while this module is still being imported: the registry must not cache the fallback.
DURING = backends.path_name(slow_backend.t)
from paddlefocal._reference import reference_loss as loss
"""


def test_a_fallback_given_while_a_path_is_still_loading_is_not_cached(tmp_path):
    backend = (
        "import numpy as np\nfrom paddlefocal.backends import Backend\n"
        "class Slow(np.ndarray): pass\nt = np.zeros(3).view(Slow)\n"
        "BACKEND = Backend('slow', 'numpy', lambda a: isinstance(a, Slow), 'self_asking:loss')\n"
    )
    entry = "[paddlefocal.backends]\nslow = slow_backend:BACKEND\n"
    env = plugin_env(tmp_path, entry, {"slow_backend": backend, "self_asking": SELF_ASKING_PATH})
    code = """
        import warnings
        warnings.simplefilter("error")
        from paddlefocal import backends
        import slow_backend
        print("FIRST", backends.path_name(slow_backend.t))
        import self_asking
        print("DURING", self_asking.DURING, "AFTER", backends.path_name(slow_backend.t))
        """
    out = _fresh(code, env)
    assert "FIRST slow" in out and "DURING numpy AFTER slow" in out, out


def test_after_import_calls_back_once_after_the_import_and_a_failure_only_warns(
    tmp_path, monkeypatch
):
    """The hook that loads the torch path after torch, and tells Dynamo about the loss after Dynamo."""
    import sys

    from paddlefocal._after_import import after_import

    (tmp_path / "pf_hooked_module.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []
    after_import("pf_hooked_module", lambda: seen.append(sys.modules["pf_hooked_module"].VALUE))

    def broken() -> None:
        raise RuntimeError("boom")

    after_import("pf_hooked_module", broken)
    assert seen == []  # nothing imported, nothing called
    with pytest.warns(RuntimeWarning, match="boom"):
        import pf_hooked_module  # noqa: F401
    assert seen == [1]  # after the module's code ran, once
    after_import("pf_hooked_module", lambda: seen.append(2))  # imported already: now
    assert seen == [1, 2]
    monkeypatch.delitem(sys.modules, "pf_hooked_module")
