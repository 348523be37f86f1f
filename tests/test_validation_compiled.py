"""Validation inside ``torch.compile(fullgraph=True)`` as the first use of the package, in a fresh
interpreter: no repr is built and no 0-D value is read for a valid call, so tracing never breaks."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("torch")

PRELUDE = """
import torch
import paddlefocal._validation as V

def step(logit, label, normalizer, alpha, gamma):
    call = V.validate(logit, label, normalizer, alpha, gamma, "sum")
    return call.logit * 1, call.normalizer, call.alpha

compiled = torch.compile(step, fullgraph=True, backend="eager")
x = torch.randn(2, 3)
y = torch.rand(2, 3)
"""

CASES = {
    "tensor-alpha": """
out, n, a = compiled(x, y, torch.tensor(2.0), torch.tensor(0.25), 2.0)
assert torch.equal(out, x) and float(a) == 0.25
""",
    "parameter-logit": """
p = torch.nn.Parameter(x.clone())
out, n, a = compiled(p, y, None, 0.25, 2.0)
assert torch.equal(out, x)
""",
    "bfloat16-under-autocast": """
with torch.autocast("cpu", dtype=torch.bfloat16):
    out, n, a = compiled(x.bfloat16(), y.bfloat16(), None, 0.25, 2.0)
assert out.dtype == torch.float32
""",
    "integer-normalizer": """
out, n, a = compiled(x, y, (y >= 0.5).sum(), 0.25, 2.0)
assert n.dtype == torch.float32 and n.shape == ()
""",
    "half-normalizer": """
out, n, a = compiled(x, y, torch.tensor([2.0], dtype=torch.float16), 0.25, 2.0)
assert n.dtype == torch.float32 and n.shape == () and float(n) == 2.0
""",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_validation_traces_under_fullgraph_compile_as_first_use(case):
    code = textwrap.dedent(PRELUDE) + textwrap.dedent(CASES[case])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
