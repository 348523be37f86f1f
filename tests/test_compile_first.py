"""torch.compile as the first use of the package, each case in a fresh interpreter.

A port wraps its training step in ``torch.compile(step, fullgraph=True)`` before any eager call; the
first call of the loss in the process is then traced by Dynamo. Each case compiles a step, runs it,
then runs the same step eagerly in the same process and compares values and gradients, and checks that
nothing printed a warning.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("torch")

PRELUDE = """
import warnings
warnings.simplefilter("always")
import numpy as np
import torch
torch.manual_seed(0)
import paddlefocal.nn.functional as F
logit0 = torch.randn(6, 80, dtype=torch.float32)
label = (torch.rand(6, 80) < 0.1).float()
label[0, :3] = -100.0
def check(step, args, compile_kwargs):
    # The compiled step's outputs and their gradients (to every input that requires grad, taken
    # outside the compiled region) equal the eager step's.
    def run(fn):
        inputs = [a.detach().clone().requires_grad_(a.requires_grad) for a in args]
        out = fn(*inputs)
        wrt = [a for a in inputs if a.requires_grad]
        grads = torch.autograd.grad(out[0].sum(), wrt) if wrt else ()
        return [o.detach() for o in out], grads
    got = run(torch.compile(step, **compile_kwargs))
    want = run(step)
    for g, w in zip([*got[0], *got[1]], [*want[0], *want[1]], strict=True):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-7)
    print("OK")
"""

CASES = {
    "fullgraph": """
def step(x):
    return (F.sigmoid_focal_loss(x, label),)
check(step, [logit0.requires_grad_()], dict(fullgraph=True))
""",
    "dynamic-normalizer": """
def step(x):
    num_pos = (label == 1).sum().float().clamp(min=1.0)
    return (F.sigmoid_focal_loss(x, label, normalizer=num_pos, reduction="sum"),)
check(step, [logit0.requires_grad_()], dict(fullgraph=True, dynamic=True))
""",
    "module-head": """
head = torch.nn.Linear(8, 80)
feats = torch.randn(6, 8)
def step(f):
    return (F.sigmoid_focal_loss(head(f), label, reduction="mean"),)
check(step, [feats.requires_grad_()], dict(fullgraph=True))
""",
    "tensor-alpha": """
def step(x, a):
    return (F.sigmoid_focal_loss(x, label, alpha=a, gamma=2.0),)
check(step, [logit0.requires_grad_(), torch.tensor(0.25, requires_grad=True)], dict(fullgraph=True))
""",
    "parameter-logit": """
p = torch.nn.Parameter(logit0.clone())
def step(_):
    return (F.sigmoid_focal_loss(p, label) * 1.0,)
check(step, [logit0], dict(fullgraph=True))
torch.testing.assert_close(torch.compile(step, fullgraph=True)(None)[0], step(None)[0])
""",
    "autocast-bfloat16": """
def step(x):
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = F.sigmoid_focal_loss(x.bfloat16(), label.bfloat16())
    return (loss,)
check(step, [logit0], dict(fullgraph=True))
""",
    "inside-use": """
from paddlefocal import backends
def step(x):
    return (F.sigmoid_focal_loss(x, label),)
with backends.use("torch"):
    check(step, [logit0.requires_grad_()], dict(fullgraph=True))
""",
    "double-backward": """
def step(x):
    loss = F.sigmoid_focal_loss(x, label)
    (g,) = torch.autograd.grad(loss, x, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), x)
    return loss, g, gg
check(step, [logit0.requires_grad_()], dict(backend="eager"))
""",
    "gradient-penalty": """
w = torch.randn(80, requires_grad=True)
def step(x):
    loss = F.sigmoid_focal_loss(x * w, label)
    (g,) = torch.autograd.grad(loss, x, create_graph=True)
    penalty = (g ** 2).sum()
    return loss, penalty, torch.autograd.grad(penalty, w, retain_graph=True)[0]
check(step, [logit0.requires_grad_()], dict(backend="eager"))
""",
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_compiled_step_as_first_use_equals_eager(case):
    script = PRELUDE + textwrap.dedent(CASES[case])
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), proc.stderr[-3000:]
    # No warning from our calls (Dynamo's notes on lru_cache-wrapped helpers included); torch's
    # own jit deprecation at its import is not ours.
    known = ("torch.jit.script_method` is deprecated",)
    warned = [
        line
        for line in proc.stderr.splitlines()
        if "Warning" in line and not any(k in line for k in known)
    ]
    assert not warned, "\n".join(warned[:10])


@pytest.mark.slow
def test_compiled_first_use_when_paddlefocal_is_imported_before_torch():
    """Imported before torch, the package loads its torch path as torch's import ends (a compiled
    step cannot trace an import): the first call, compiled with fullgraph, equals the eager one."""
    script = textwrap.dedent(
        """
        import sys
        import warnings
        warnings.simplefilter("always")
        import paddlefocal.nn.functional as F
        assert "torch" not in sys.modules
        import torch
        assert "paddlefocal.backends.torch" in sys.modules
        x = torch.randn(6, 80, requires_grad=True)
        y = (torch.rand(6, 80) < 0.1).float()
        def step(x):
            return F.sigmoid_focal_loss(x, y, normalizer=(y == 1).sum().float().clamp(min=1.0))
        got = torch.compile(step, fullgraph=True)(x)
        (g,) = torch.autograd.grad(got, x)
        want = step(x)
        (w,) = torch.autograd.grad(want, x)
        torch.testing.assert_close(got, want)
        torch.testing.assert_close(g, w)
        print("OK")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), proc.stderr[-3000:]
    warned = [
        line
        for line in proc.stderr.splitlines()
        if "Warning" in line and "torch.jit.script_method` is deprecated" not in line
    ]
    assert not warned, "\n".join(warned[:10])


@pytest.mark.slow
def test_aot_backends_refuse_a_second_differentiation_as_for_the_op_sequence():
    """Inductor and aot_eager cannot differentiate a compiled region twice, whatever it holds: the
    loss raises a RuntimeError there as torchvision's op sequence does (torch's limitation, not
    ours; the messages may differ: aot_eager says "not ... used in the graph" for both)."""
    script = textwrap.dedent(
        """
        import torch
        import paddlefocal.nn.functional as F
        from paddlefocal._cli.bench._measure import torchvision_loss
        _, tv = torchvision_loss(torch)
        label = (torch.rand(6, 80) < 0.1).float()
        def outcome(loss_fn, backend):
            def step(x):
                loss = loss_fn(x, label)
                (g,) = torch.autograd.grad(loss, x, create_graph=True)
                return torch.autograd.grad(g.sum(), x)[0]
            torch._dynamo.reset()
            try:
                torch.compile(step, backend=backend)(torch.randn(6, 80, requires_grad=True))
            except RuntimeError as e:
                return str(e).splitlines()[0]
            return "ran"
        for backend in ("aot_eager", "inductor"):
            ours, theirs = outcome(F.sigmoid_focal_loss, backend), outcome(tv, backend)
            assert "ran" not in (ours, theirs), (backend, ours, theirs)
            print(backend, ours)
        print("OK")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), proc.stderr[-3000:]


@pytest.mark.slow
def test_dynamos_import_makes_the_function_opaque_and_chooses_the_tensor_paths_eagerly():
    """Nothing of Dynamo is imported with the package (it would cost each process ~1.7 s); once
    torch.compile imports it, the Function is allowed in the graph and the paths for tensors and
    parameters are chosen, so a compiled call walks no library table."""
    script = textwrap.dedent(
        """
        import sys
        import torch
        import paddlefocal.nn.functional as F
        from paddlefocal import _registry
        import paddlefocal.backends.torch as torch_path
        F.sigmoid_focal_loss(torch.randn(4), torch.zeros(4))
        assert "torch._dynamo" not in sys.modules
        _registry._cache.clear()
        import torch._dynamo
        from torch._dynamo import trace_rules
        assert trace_rules.is_callable_allowed(torch_path._in_graph)
        assert {torch.Tensor, torch.nn.Parameter} <= set(_registry._cache)
        print("OK")
        """
    )
    # Dynamo loaded before the package: the same at the torch path's import.
    before = textwrap.dedent(
        """
        import torch
        import torch._dynamo
        from torch._dynamo import trace_rules
        import paddlefocal
        from paddlefocal import _registry
        import paddlefocal.backends.torch as torch_path
        assert trace_rules.is_callable_allowed(torch_path._in_graph)
        assert {t: p[0].name for t, p in _registry._cache.items()} == {
            torch.Tensor: "torch", torch.nn.Parameter: "torch"
        }
        print("OK")
        """
    )
    for code in (script, before):
        proc = subprocess.run(
            [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), proc.stderr[-3000:]
