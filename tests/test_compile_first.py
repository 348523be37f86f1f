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
    compiled = torch.compile(step, **compile_kwargs)
    got = compiled(*[a.detach().clone().requires_grad_(a.requires_grad) for a in args])
    want = step(*[a.detach().clone().requires_grad_(a.requires_grad) for a in args])
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-7)
    print("OK")
"""

CASES = {
    "fullgraph": """
def step(x):
    loss = F.sigmoid_focal_loss(x, label)
    (g,) = torch.autograd.grad(loss, x)
    return loss, g
check(step, [logit0.requires_grad_()], dict(fullgraph=True))
""",
    "dynamic-normalizer": """
def step(x):
    num_pos = (label == 1).sum().float().clamp(min=1.0)
    loss = F.sigmoid_focal_loss(x, label, normalizer=num_pos, reduction="sum")
    (g,) = torch.autograd.grad(loss, x)
    return loss, g
check(step, [logit0.requires_grad_()], dict(fullgraph=True, dynamic=True))
""",
    "module-head": """
head = torch.nn.Linear(8, 80)
feats = torch.randn(6, 8)
def step(f):
    loss = F.sigmoid_focal_loss(head(f), label, reduction="mean")
    grads = torch.autograd.grad(loss, [head.weight, head.bias])
    return (loss, *grads)
check(step, [feats], dict(fullgraph=True))
""",
    "tensor-alpha": """
def step(x, a):
    loss = F.sigmoid_focal_loss(x, label, alpha=a, gamma=2.0)
    return (loss, *torch.autograd.grad(loss, [x, a]))
check(step, [logit0.requires_grad_(), torch.tensor(0.25, requires_grad=True)], dict(fullgraph=True))
""",
    "parameter-logit": """
p = torch.nn.Parameter(logit0.clone())
def step(_):
    loss = F.sigmoid_focal_loss(p, label)
    return loss, torch.autograd.grad(loss, p)[0]
check(step, [logit0], dict(fullgraph=True))
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
    with backends.use("torch"):
        return (F.sigmoid_focal_loss(x, label),)
check(step, [logit0], dict(fullgraph=True))
""",
    "reduction-np-str": """
def step(x):
    return (F.sigmoid_focal_loss(x, label, reduction=np.str_("mean")),)
check(step, [logit0], dict(fullgraph=True))
""",
    "double-backward": """
def step(x):
    loss = F.sigmoid_focal_loss(x, label)
    (g,) = torch.autograd.grad(loss, x, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), x)
    return loss, g, gg
check(step, [logit0.requires_grad_()], dict(backend="aot_eager"))
""",
    "gradient-penalty": """
w = torch.randn(80, requires_grad=True)
def step(x):
    loss = F.sigmoid_focal_loss(x * w, label)
    (g,) = torch.autograd.grad(loss, x, create_graph=True)
    penalty = (g ** 2).sum()
    return loss, penalty, torch.autograd.grad(penalty, w)[0]
check(step, [logit0.requires_grad_()], dict(backend="eager"))
""",
}


#: A create_graph double backward through the loss inside a compiled region: AOTAutograd refuses the
#: second differentiation of the Function's traced backward, and Dynamo's eager backend gives a wrong
#: second-order term (the gradient penalty's d/dw). Uncompiled, both work (test_composability).
SECOND_ORDER = {"double-backward", "gradient-penalty"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c,
            marks=pytest.mark.xfail(
                strict=True, reason="second-order gradients inside torch.compile (documented)"
            ),
        )
        if c in SECOND_ORDER
        else c
        for c in CASES
    ],
)
def test_compiled_step_as_first_use_equals_eager(case):
    script = PRELUDE + textwrap.dedent(CASES[case])
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), proc.stderr[-3000:]
    warned = [line for line in proc.stderr.splitlines() if "Warning" in line]
    assert not warned, "\n".join(warned[:10])
