"""What the bench times, one ``Measurement`` per path, size, dtype and thread count: NumPy forward
beside one exp and one log pass (the floor), the naive op sequence, the reference path and Paddle, and
its memory; per call on the 2x3 example, the front-end's checks beside the whole call; torch
forward+backward, eager and compiled, beside torchvision's, at one and two threads, and its memory."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._libraries import by_name
from ..._loss import sigmoid_focal_loss
from ..._validation import validate
from ..demo import seed_arrays
from ..info import installed, quiet_imports
from ..timing import Timing, compare, rss_bytes, rss_peak_mib, tracemalloc_peak_mib

ALPHA, GAMMA = 0.25, 2.0
#: Below this size memory figures are omitted: fixed scratch buffers and the allocator's granularity
#: (RSS moves in pages, allocators cache) would dominate what a call adds.
MEMORY_MIN_LOG2N = 16
#: ``log2n`` of the rows measured on Paddle's documented 2x3 example.
SEED = -1
THREADS = (1, 2)
OURS, FLOOR, NAIVE = "ours", "exp+log floor", "naive NumPy"
REFERENCE, PADDLE = "reference path", "Paddle"
COMPILED, TV, TV_COMPILED = "ours compiled", "torchvision", "torchvision compiled"
WHOLE, CHECKS = "whole call", "front-end checks"
REAL_TV = "torchvision.ops.sigmoid_focal_loss"
#: The pure Array API reference takes seconds per call at 2**24; it is timed up to this size.
_REFERENCE_MAX_LOG2N = 20


@dataclass
class Measurement:
    """Median seconds per call of one path, with the fastest and slowest rounds; memory in MiB over
    the inputs (None: not measured). ``log2n`` is ``SEED`` for the 2x3 example; ``group`` is
    ``"numpy"`` (forward), ``"torch"`` (forward+backward at ``threads``) or ``"split"`` (per call)."""

    group: str
    path: str
    log2n: int
    dtype: str
    seconds: float | None = None
    threads: int | None = None
    seconds_min: float | None = None
    seconds_max: float | None = None
    peak_mib: float | None = None
    held_mib: float | None = None
    memory_method: str = ""
    note: str = ""

    @classmethod
    def timed(
        cls,
        group: str,
        path: str,
        log2n: int,
        dtype: str,
        timing: Timing | None,
        threads: int | None = None,
    ) -> Measurement:
        """A row of one ``compare`` result (None: not measured)."""
        if timing is None:
            return cls(group, path, log2n, dtype, threads=threads)
        low, high = min(timing.samples), max(timing.samples)
        return cls(group, path, log2n, dtype, timing.median, threads, low, high)

    @property
    def spread(self) -> float | None:
        """The slowest round over the fastest (None: not measured)."""
        if not self.seconds_min or self.seconds_max is None:
            return None
        return self.seconds_max / self.seconds_min


def op_sequence(
    x: Any, y: Any, sigmoid: Callable[[Any], Any], bce: Callable[[Any, Any], Any]
) -> Any:
    """torchvision/ops/focal_loss.py (0.29), operation for operation, summed; with NumPy's ``sigmoid``
    and ``bce`` it is the naive NumPy run (full-size temporaries)."""
    p = sigmoid(x)
    ce_loss = bce(x, y)
    p_t = p * y + (1 - p) * (1 - y)
    loss = ce_loss * ((1 - p_t) ** GAMMA)
    alpha_t = ALPHA * y + (1 - ALPHA) * (1 - y)
    return (alpha_t * loss).sum()


def _naive(x: np.ndarray, y: np.ndarray) -> Any:
    def bce(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))

    with np.errstate(all="ignore"):
        return op_sequence(x, y, lambda x: 1.0 / (1.0 + np.exp(-x)), bce)


def torchvision_loss(torch: Any) -> tuple[str, Callable[[Any, Any], Any]]:
    """torchvision's loss when it imports, else its exact eager op sequence; and which one it is."""
    try:
        with quiet_imports():
            from torchvision.ops import sigmoid_focal_loss as tv

        return REAL_TV, lambda x, y: tv(x, y, ALPHA, GAMMA, reduction="sum")
    except Exception:  # not installed, or built for another torch (it fails with RuntimeError then)
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        return (
            "torchvision's op sequence (torchvision not importable)",
            lambda x, y: op_sequence(x, y, torch.sigmoid, lambda x, y: bce(x, y, reduction="none")),
        )


def numpy_rows(log2n: int, dtype: str, budget: float, with_paddle: bool) -> list[Measurement]:
    """Forward time of every NumPy-side path at one size; memory from ``MEMORY_MIN_LOG2N`` on."""
    from ...backends import use

    rng = np.random.default_rng(0)
    x = rng.normal(scale=3.0, size=2**log2n).astype(dtype)
    y = (rng.uniform(size=2**log2n) < 0.1).astype(dtype)

    def reference() -> Any:
        with use("reference"), np.errstate(all="ignore"):
            return sigmoid_focal_loss(x, y, None, ALPHA, GAMMA)

    calls: dict[str, Callable[[], Any]] = {
        OURS: lambda: sigmoid_focal_loss(x, y, None, ALPHA, GAMMA),
        FLOOR: lambda: np.log(np.exp(x)),  # the least any implementation must do
        NAIVE: lambda: _naive(x, y),
    }
    if log2n <= _REFERENCE_MAX_LOG2N:
        calls[REFERENCE] = reference
    if with_paddle and installed(by_name("paddle")):
        with quiet_imports():
            import paddle

        # Paddle fails on 1-D inputs: shape [1, N].
        px, py = paddle.to_tensor(x.reshape(1, -1)), paddle.to_tensor(y.reshape(1, -1))
        calls[PADDLE] = lambda: paddle.nn.functional.sigmoid_focal_loss(px, py, None, ALPHA, GAMMA)
    rows = []
    for name, timing in compare(calls, budget).items():
        row = Measurement.timed("numpy", name, log2n, dtype, timing)
        if log2n >= MEMORY_MIN_LOG2N:
            # Paddle's CPU allocator does not report to tracemalloc: sample the resident set.
            row.memory_method = "rss" if name == PADDLE else "tracemalloc"
            row.peak_mib = (rss_peak_mib if name == PADDLE else tracemalloc_peak_mib)(calls[name])
        rows.append(row)
    return rows


def _split_calls(name: str, logit: Any, label: Any, fg_num: Any) -> dict[str, Callable[[], Any]]:
    if name == "paddle":
        with quiet_imports():
            import paddle.nn.functional as PF
        return {f"Paddle {WHOLE}": lambda: PF.sigmoid_focal_loss(logit, label, fg_num)}
    return {
        f"{name} {WHOLE}": lambda: sigmoid_focal_loss(logit, label, fg_num, ALPHA, GAMMA, "sum"),
        f"{name} {CHECKS}": lambda: validate(logit, label, fg_num, ALPHA, GAMMA, "sum"),
    }


def split_rows(budget: float, with_paddle: bool) -> list[Measurement]:
    """Whole call and ``validate`` alone, timed alternately, for NumPy and torch; Paddle's call."""
    rows = []
    for name in ("numpy", "torch", "paddle") if with_paddle else ("numpy", "torch"):
        if installed(by_name(name)):
            calls = _split_calls(name, *seed_arrays(by_name(name), "cpu"))
            times = compare(calls, budget)
            rows += [Measurement.timed("split", k, SEED, "float32", t) for k, t in times.items()]
    return rows


def _ours(x: Any, y: Any) -> Any:
    return sigmoid_focal_loss(x, y, None, ALPHA, GAMMA, "sum")


def _inputs(torch: Any, log2n: int, dtype: str) -> tuple[Any, Any]:
    """Shape [2, N/2] (the seed's [2, 3] for ``SEED``): one dynamic compiled graph serves every size."""
    shape = (2, 3) if log2n == SEED else (2, 2 ** (log2n - 1)) if log2n else (1, 1)
    generator, tdtype = torch.Generator().manual_seed(0), getattr(torch, dtype)
    x = (torch.randn(shape, generator=generator, dtype=tdtype) * 3).requires_grad_()
    return x, (torch.rand(shape, generator=generator) < 0.1).to(tdtype)


def _step(fn: Callable[[Any, Any], Any], x: Any, y: Any) -> Callable[[], None]:
    def step() -> None:
        x.grad = None
        fn(x, y).backward()

    return step


def _compile(torch: Any, fn: Callable[..., Any], x: Any, y: Any) -> tuple[Any, str]:
    """``torch.compile(fn)`` with fullgraph when that works; None and the reason when nothing does."""
    reasons = []
    for fullgraph in (True, False):
        compiled = torch.compile(fn, fullgraph=fullgraph, dynamic=True)
        try:
            with quiet_imports():  # Dynamo's warnings about the code it traces
                _step(compiled, x, y)()
        except Exception as exc:
            text = " ".join(str(exc).split()).split(" Explanation:")[0].split(". ")[0]
            reasons.append(text[:100] or type(exc).__name__)
            continue
        broken = f"with graph breaks (fullgraph failed: {reasons[0]})" if reasons else ""
        return compiled, broken or "fullgraph"
    return None, f"compile failed: {reasons[-1]}"


def torch_rows(
    log2ns: list[int], dtype: str, budget: float, with_compile: bool
) -> tuple[str, list[Measurement]]:
    """Forward+backward at every size and the seed, per thread count; and torchvision's label."""
    try:
        import torch
    except ImportError:
        return "", []
    tv_label, tv = torchvision_loss(torch)
    saved, rows = torch.get_num_threads(), []
    # Dynamo logs recompilations and graph breaks as warnings of its own: the table says what matters.
    dynamo_log = logging.getLogger("torch._dynamo")
    level = dynamo_log.level
    dynamo_log.setLevel(logging.ERROR)
    try:
        for threads in THREADS:
            torch.set_num_threads(threads)
            paths: dict[str, Callable[[Any, Any], Any] | None] = {OURS: _ours, TV: tv}
            notes = {OURS: "", TV: ""}
            if with_compile:  # compiled per thread count: Inductor specializes its kernels on it
                x, y = _inputs(torch, SEED, dtype)
                paths[COMPILED], notes[COMPILED] = _compile(torch, _ours, x, y)
                paths[TV_COMPILED], notes[TV_COMPILED] = _compile(torch, tv, x, y)
            for log2n in [SEED, *log2ns]:
                x, y = _inputs(torch, log2n, dtype)
                times = compare({k: _step(fn, x, y) for k, fn in paths.items() if fn}, budget)
                for name in paths:
                    row = Measurement.timed("torch", name, log2n, dtype, times.get(name), threads)
                    row.note = notes[name]
                    if name in (OURS, TV) and threads == 1 and log2n >= MEMORY_MIN_LOG2N:
                        _torch_memory(row)
                    rows.append(row)
    finally:
        torch.set_num_threads(saved)
        dynamo_log.setLevel(level)
    return tv_label, rows


# glibc serves a block from its heap whenever a freed one fits, without touching the resident set, so in
# a process that has already run (the timings) a resident-set peak reads about 0 below 32 MiB. A fresh
# process that first tells glibc to map every block of 64 KiB or more on its own sees each allocation.
_CHILD = "import sys; from paddlefocal._cli.bench._measure import memory_child; memory_child(*sys.argv[1:])"


def _torch_memory(row: Measurement) -> None:
    """Fill ``row.peak_mib`` and ``row.held_mib`` for its torch path, size and dtype."""
    args = [sys.executable, "-c", _CHILD, row.path, str(row.log2n), row.dtype]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, OSError, ValueError, IndexError) as exc:
        row.note = f"memory not measured: {type(exc).__name__}"
        return
    row.memory_method = "fresh rss"
    row.peak_mib, row.held_mib = figures["peak_mib"], figures["held_mib"]


def memory_child(path: str, log2n: str, dtype: str) -> None:
    """In a fresh interpreter: print the peak and held MiB of one torch path as JSON."""
    import ctypes
    import gc

    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, 64 * 1024)  # M_MMAP_THRESHOLD, fixed
    except (OSError, AttributeError):
        pass
    import torch

    torch.set_num_threads(1)
    fn = _ours if path == OURS else torchvision_loss(torch)[1]
    x, y = _inputs(torch, int(log2n), dtype)
    step = _step(fn, x, y)
    step()  # warm-up: lazy imports and one-time buffers
    peak = rss_peak_mib(step)
    x.grad = None
    gc.collect()
    before = rss_bytes()
    kept = fn(x, y)  # the graph and what it saved stay alive until backward
    print(json.dumps({"peak_mib": peak, "held_mib": (rss_bytes() - before) / 2**20}))
    del kept
