"""torch forward+backward: ours eager and compiled beside torchvision's, at one and two threads."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from ..._loss import sigmoid_focal_loss
from ..info import quiet_imports
from ._rows import ALPHA, GAMMA, MEMORY_MIN_LOG2N, SEED, Measurement
from ._timing import compare, rss_bytes, rss_peak_mib

THREADS = (1, 2)
OURS, OURS_COMPILED, TV, TV_COMPILED = (
    "ours",
    "ours compiled",
    "torchvision",
    "torchvision compiled",
)
REAL_TV = "torchvision.ops.sigmoid_focal_loss"
FALLBACK_TV = "torchvision's op sequence (torchvision not importable)"


def torchvision_loss(torch: Any) -> tuple[str, Callable[[Any, Any], Any]]:
    """torchvision's loss when it imports, else its exact eager op sequence; and which one it is."""
    try:
        with quiet_imports():
            from torchvision.ops import sigmoid_focal_loss as tv

        return REAL_TV, lambda x, y: tv(x, y, ALPHA, GAMMA, reduction="sum")
    except Exception:  # not installed, or built for another torch (it fails with RuntimeError then)
        F = torch.nn.functional

        def sequence(x: Any, y: Any) -> Any:
            # torchvision/ops/focal_loss.py (0.29), operation for operation.
            p = torch.sigmoid(x)
            ce_loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
            p_t = p * y + (1 - p) * (1 - y)
            loss = ce_loss * ((1 - p_t) ** GAMMA)
            alpha_t = ALPHA * y + (1 - ALPHA) * (1 - y)
            loss = alpha_t * loss
            return loss.sum()

        return FALLBACK_TV, sequence


def _ours(x: Any, y: Any) -> Any:
    return sigmoid_focal_loss(x, y, None, ALPHA, GAMMA, "sum")


def _inputs(torch: Any, log2n: int, dtype: str) -> tuple[Any, Any]:
    """Shape [2, N/2] (the seed's [2, 3] for ``SEED``): one dynamic compiled graph serves every size."""
    shape = (2, 3) if log2n == SEED else (2, 2 ** (log2n - 1)) if log2n else (1, 1)
    generator = torch.Generator().manual_seed(0)
    tdtype = getattr(torch, dtype)
    x = (torch.randn(shape, generator=generator, dtype=tdtype) * 3).requires_grad_()
    y = (torch.rand(shape, generator=generator) < 0.1).to(tdtype)
    return x, y


def _fwd_bwd(fn: Callable[[Any, Any], Any], x: Any, y: Any) -> None:
    x.grad = None
    fn(x, y).backward()


def _step(fn: Callable[[Any, Any], Any], x: Any, y: Any) -> Callable[[], None]:
    return lambda: _fwd_bwd(fn, x, y)


def _compile(torch: Any, fn: Callable[..., Any], x: Any, y: Any) -> tuple[Any, str]:
    """``torch.compile(fn)`` with fullgraph when that works; None and the reason when nothing does."""
    reasons = []
    for fullgraph in (True, False):
        compiled = torch.compile(fn, fullgraph=fullgraph, dynamic=True)
        try:
            with quiet_imports():  # Dynamo's warnings about the code it traces
                _fwd_bwd(compiled, x, y)
        except Exception as exc:
            text = " ".join(str(exc).split()).split(" Explanation:")[0].split(". ")[0]
            reasons.append(text[:100] or type(exc).__name__)
            continue
        if fullgraph:
            return compiled, "fullgraph"
        return compiled, f"with graph breaks (fullgraph failed: {reasons[0]})"
    return None, f"compile failed: {reasons[-1]}"


def measure(
    log2ns: list[int], dtype: str, budget: float, with_compile: bool
) -> tuple[str, list[Measurement]]:
    """Forward+backward at every size and the seed, per thread count; and torchvision's label."""
    try:
        import torch
    except ImportError:
        return "", []
    tv_label, tv = torchvision_loss(torch)
    saved = torch.get_num_threads()
    rows = []
    # Dynamo logs recompilations and graph breaks as warnings of its own: the table says what matters.
    dynamo_log = logging.getLogger("torch._dynamo")
    level = dynamo_log.level
    dynamo_log.setLevel(logging.ERROR)
    try:
        for threads in THREADS:
            torch.set_num_threads(threads)
            paths: dict[str, Callable[[Any, Any], Any] | None] = {OURS: _ours, TV: tv}
            notes = {OURS: "", TV: ""}
            if with_compile:
                # Compiled per thread count: Inductor specializes its kernels on it.
                x, y = _inputs(torch, SEED, dtype)
                paths[OURS_COMPILED], notes[OURS_COMPILED] = _compile(torch, _ours, x, y)
                paths[TV_COMPILED], notes[TV_COMPILED] = _compile(torch, tv, x, y)
            for log2n in [SEED, *log2ns]:
                x, y = _inputs(torch, log2n, dtype)
                calls = {name: _step(fn, x, y) for name, fn in paths.items() if fn is not None}
                times = compare(calls, budget)
                for name in paths:
                    row = Measurement.timed("torch", name, log2n, dtype, times.get(name), threads)
                    row.note = notes[name]
                    if name in (OURS, TV) and threads == 1 and log2n >= MEMORY_MIN_LOG2N:
                        memory(row)
                    rows.append(row)
    finally:
        torch.set_num_threads(saved)
        dynamo_log.setLevel(level)
    return tv_label, rows


# --- torch's memory per call, measured in a fresh interpreter (``python -m`` this module) -----------
#
# glibc serves a block from its heap whenever a freed one fits, without touching the resident set, so in
# a process that has already run (the timings) a resident-set peak reads about 0 below 32 MiB. A fresh
# process that first tells glibc to map every block of 64 KiB or more on its own sees each allocation.


def memory(row: Measurement) -> None:
    """Fill ``row.peak_mib`` and ``row.held_mib`` for its torch path, size and dtype."""
    args = [
        sys.executable,
        "-m",
        "paddlefocal._cli.bench._memory",
        row.path,
        str(row.log2n),
        row.dtype,
    ]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, OSError, ValueError, IndexError) as exc:
        row.note = f"memory not measured: {type(exc).__name__}"
        return
    row.memory_method = "fresh rss"
    row.peak_mib, row.held_mib = figures["peak_mib"], figures["held_mib"]


def _child(path: str, log2n: int, dtype: str) -> dict[str, Any]:
    import ctypes
    import gc

    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, 64 * 1024)  # M_MMAP_THRESHOLD, fixed
    except (OSError, AttributeError):
        pass
    import torch

    torch.set_num_threads(1)
    fn = _ours if path == OURS else torchvision_loss(torch)[1]
    x, y = _inputs(torch, log2n, dtype)
    _fwd_bwd(fn, x, y)  # warm-up: lazy imports and one-time buffers
    x.grad = None
    peak = rss_peak_mib(lambda: _fwd_bwd(fn, x, y))
    x.grad = None
    gc.collect()
    before = rss_bytes()
    kept = fn(x, y)  # the graph and what it saved stay alive until backward
    held = (rss_bytes() - before) / 2**20
    del kept
    return {"peak_mib": peak, "held_mib": held}


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], int(sys.argv[2]), sys.argv[3])))
