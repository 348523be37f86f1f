"""The Triton kernel without a GPU: interpreted on CPU tensors, compiled for real targets, traced on fake
CUDA tensors.

Each check runs in a fresh interpreter whose environment it sets: ``TRITON_INTERPRET`` is read when
``@triton.jit`` decorates a kernel, so one process cannot hold both the interpreted kernel (values) and
the compiled one (PTX, fake tensors), and the suite's own process may have imported triton either way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("triton")
pytest.importorskip("torch")

HERE = Path(__file__).resolve().parent


def _python(code: str, interpret: bool, timeout: float = 600, **extra: str) -> str:
    env = {**os.environ, **extra}
    env.pop("TRITON_INTERPRET", None)
    if interpret:
        env["TRITON_INTERPRET"] = "1"
    env["TRITON_DEFAULT_FP_FUSION"] = "1"  # Triton 3.9 warns when the default is left implicit
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=HERE.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout


def test_interpreted_kernel_equals_mpmath_sums_ragged_arrays_and_is_deterministic():
    """``triton_interpreted.py``: values and d/dlogit against mpmath in ulps, subnormal and ignore-label
    cases, the ragged 3*65536+12345 total, bit-identical reruns, every WRITE flag combination."""
    out = _python(
        f"""
        import sys, pytest
        sys.exit(pytest.main(["-q", "-s", "-p", "no:cacheprovider", "-W", "ignore::RuntimeWarning",
                              {str(HERE / "triton_interpreted.py")!r}]))
        """,
        interpret=True,
    )
    assert " passed" in out and "failed" not in out and "skipped" not in out, out[-2000:]
    print("\n".join(line for line in out.splitlines() if line.startswith("FIGURE")))


COMPILE = """
import json, re, time
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource
from paddlefocal.backends._triton_kernel import BLOCK, LAUNCH_OPTIONS, NUM_WARPS, focal_kernel

TARGETS = {"sm_80": GPUTarget("cuda", 80, 32), "sm_90": GPUTarget("cuda", 90, 32),
           "gfx942": GPUTarget("hip", "gfx942", 64)}
rows = []
for name, target in TARGETS.items():
    for dtype in ("fp32", "fp64"):
        for aligned in (True, False) if (name, dtype) == ("sm_90", "fp32") else (True,):
            signature = {"x_ptr": "*" + dtype, "y_ptr": "*" + dtype, "loss_ptr": "*" + dtype,
                         "dlogit_ptr": "*" + dtype, "partial_ptr": "*fp64", "n": "i32",
                         "alpha": "fp64", "gamma": "fp64", "BLOCK": "constexpr", "GAMMA_KIND": "constexpr",
                         "NEAR": "constexpr", "WRITE_LOSS": "constexpr", "WRITE_GRAD": "constexpr"}
            constants = {"BLOCK": BLOCK, "GAMMA_KIND": 3, "NEAR": 0.5, "WRITE_LOSS": True,
                         "WRITE_GRAD": True}
            # As a launch specializes them: 16-byte aligned pointers, and n a multiple of 16 or not.
            attrs = {(i,): [["tt.divisibility", 16]] for i in range(6 if aligned else 5)}
            start = time.perf_counter()
            k = triton.compile(ASTSource(focal_kernel, signature, constants, attrs), target=target,
                               options={"num_warps": NUM_WARPS, **LAUNCH_OPTIONS})
            rows.append({"target": name, "dtype": dtype, "aligned": aligned,
                         "seconds": time.perf_counter() - start,
                         "asm": {key: k.asm[key] for key in ("ptx", "amdgcn") if key in k.asm},
                         "binary": len(k.asm.get("cubin", k.asm.get("hsaco", b"")))})
print(json.dumps(rows))
"""

#: Elements per thread: BLOCK over the threads of NUM_WARPS warps.
WARP = {"sm_80": 32, "sm_90": 32, "gfx942": 64}


def _width(instruction: str, element_bytes: int) -> int:
    """Elements moved by one load/store: PTX ``.v2``/``.v4`` of ``.b32``/``.b64``; AMD dword counts."""
    if instruction.startswith(("ld.", "st.")):
        vector = 4 if ".v4." in instruction else 2 if ".v2." in instruction else 1
        bits = int(instruction.rsplit(".b", 1)[1])
        return vector * bits // (8 * element_bytes)
    dwords = {"": 1, "x2": 2, "x3": 3, "x4": 4}[instruction.split("dword", 1)[1]]
    return dwords * 4 // element_bytes


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    import json

    # An empty cache: every target is compiled here, and the times are compile times.
    cache = str(tmp_path_factory.mktemp("triton-cache"))
    out = _python(COMPILE, interpret=False, TRITON_CACHE_DIR=cache)
    return json.loads(out.strip().splitlines()[-1])


def test_compiles_for_sm80_sm90_gfx942_with_one_load_and_store_per_element_and_no_spills(compiled):
    import re

    from paddlefocal.backends._triton_kernel import BLOCK, NUM_WARPS

    assert {r["target"] for r in compiled} == set(WARP)
    figures = []
    for row in compiled:
        per_thread = BLOCK // (NUM_WARPS * WARP[row["target"]])
        element_bytes = 4 if row["dtype"] == "fp32" else 8
        if "ptx" in row["asm"]:
            asm = row["asm"]["ptx"]
            loads = re.findall(r"\bld\.global(?:\.\w+)*\.b\d+", asm)
            stores = re.findall(r"\bst\.global(?:\.\w+)*\.b\d+", asm)
            # No local memory (spills or stack arrays), no flushing of subnormals.
            assert ".local" not in asm and "ld.local" not in asm and "st.local" not in asm
            # (The float64 division seeds its Newton steps with rcp.approx.ftz.f64: exact in the end.)
            assert ".ftz.f32" not in asm
        else:
            asm = row["asm"]["amdgcn"]
            loads = re.findall(r"\bglobal_load_dword\w*", asm)
            stores = re.findall(r"\bglobal_store_dword\w*", asm)
            assert "scratch_" not in asm and "buffer_store" not in asm  # no spills to scratch
            assert row["binary"] > 0  # an hsaco
        # The partial sum is one float64 store (by one lane); everything else moves the arrays.
        partial = [
            s for s in stores if _width(s, 8) == 1 and (s.endswith(".b64") or "dwordx2" in s)
        ]
        assert len(partial) >= 1
        stores.remove(partial[0])
        load_elements = sum(_width(i, element_bytes) for i in loads)
        store_elements = sum(_width(i, element_bytes) for i in stores)
        # x and y: one load each per element; loss and d/dlogit: one store each per element.
        assert load_elements == 2 * per_thread, (row["target"], row["dtype"], loads)
        assert store_elements == 2 * per_thread, (row["target"], row["dtype"], stores)
        figures.append(
            f"{row['target']} {row['dtype']} aligned={row['aligned']}: {len(loads)} loads "
            f"({sorted(set(loads))}), {len(stores)}+1 stores for {per_thread} elements per thread, "
            f"{row['seconds']:.2f} s"
        )
    print("\nFIGURE " + "\nFIGURE ".join(figures))


def test_aligned_float32_loads_are_16_byte_vectors_and_a_ragged_length_scalar_ones(compiled):
    rows = [r for r in compiled if r["target"] == "sm_90" and r["dtype"] == "fp32"]
    aligned = next(r for r in rows if r["aligned"])["asm"]["ptx"]
    ragged = next(r for r in rows if not r["aligned"])["asm"]["ptx"]
    assert "ld.global.v4.b32" in aligned and "ld.global.v4" not in ragged


FAKE = """
import torch
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode
from torch.fx.experimental.proxy_tensor import make_fx
from paddlefocal.backends._triton_kernel import triton_kernel

with FakeTensorMode():
    for dtype in (torch.float32, torch.float64):
        x = torch.empty(3 * 65536 + 12345, device="cuda", dtype=dtype)
        y = torch.empty_like(x)
        for write_loss in (True, False):
            for write_grad in (True, False):
                loss = torch.empty_like(x) if write_loss else None
                grad = torch.empty_like(x) if write_grad else None
                for gamma in (0.0, 2.0, 0.5):
                    total = triton_kernel(x, y, 0.25, gamma, loss, grad)
                    assert isinstance(total, FakeTensor) and total.device.type == "cuda"
                    assert total.dtype == torch.float64 and total.shape == ()

def step(x, y, loss, grad):
    return triton_kernel(x, y, 0.25, 2.0, loss, grad)

graph = make_fx(step, tracing_mode="fake")(*(torch.empty(4096, device="meta") for _ in range(4)))
print(graph.code)
"""


def test_op_traces_on_fake_cuda_tensors_without_reading_values_back():
    """Under FakeTensorMode (no interpreter, no GPU) a host read would raise
    DataDependentOutputException; the op also traces into a graph that names the Triton kernel."""
    code = _python(FAKE, interpret=False)
    assert "triton_kernel_wrapper" in code or "paddlefocal.sigmoid_focal_fwd" in code, code
