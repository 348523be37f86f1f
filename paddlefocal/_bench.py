"""Side-by-side benchmark: our paths against the naive op sequence, torchvision and Paddle, in one process.

``python -m paddlefocal bench`` or ``python benchmarks/bench.py``. For each size N and dtype: the median
time of forward and forward+backward over repeats, time per element, and the peak memory a call adds over
its inputs (``tracemalloc`` for NumPy, which reports its allocations to it; resident-set sampling for
torch and Paddle, whose CPU allocators do not). Prints a table with the ratios, writes JSON and, when
matplotlib is installed, a PNG plot of time per element and memory against N.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ._loss import sigmoid_focal_loss

ALPHA, GAMMA = 0.25, 2.0


@dataclass
class Measurement:
    path: str
    log2n: int
    dtype: str
    forward_s: float | None = None
    forward_backward_s: float | None = None
    peak_mib: float | None = None
    memory_method: str = ""
    held_mib: float | None = None  # torch: memory held between forward and backward
    notes: list[str] = field(default_factory=list)


# --- memory -----------------------------------------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _RssPeak:
    """Samples the resident set every millisecond while active; peak over the starting value."""

    def __init__(self) -> None:
        self.start = _rss_bytes()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            time.sleep(0.001)

    def __enter__(self) -> _RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())

    @property
    def mib(self) -> float:
        return (self.peak - self.start) / 2**20


def _tracemalloc_peak(call: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def _rss_peak(call: Callable[[], Any]) -> float:
    gc.collect()
    with _RssPeak() as sampler:
        call()
    return sampler.mib


# --- timing -----------------------------------------------------------------------------------------


def _median_time(call: Callable[[], Any], budget: float) -> float:
    call()  # warm-up
    times: list[float] = []
    while len(times) < 3 or (sum(times) < budget and len(times) < 25):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
        if times[-1] > budget:  # a slow path: one timed run is all the budget allows
            break
    return statistics.median(times)


# --- the paths ----------------------------------------------------------------------------------------


def _naive_numpy(x: np.ndarray, y: np.ndarray) -> Any:
    """Paddle's op sequence written naively in NumPy (full-size temporaries)."""
    with np.errstate(all="ignore"):
        p = 1.0 / (1.0 + np.exp(-x))
        ce = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
        p_t = p * y + (1 - p) * (1 - y)
        a_t = ALPHA * y + (1 - ALPHA) * (1 - y)
        return np.sum(a_t * (1 - p_t) ** GAMMA * ce)


def _floor(x: np.ndarray) -> Any:
    """One exp and one log pass over the logits: the least any implementation must do."""
    return np.log(np.exp(x))


def _torchvision_like(torch: Any) -> tuple[str, Callable[..., Any]]:
    try:
        from torchvision.ops import sigmoid_focal_loss as tv

        return "torchvision", lambda x, y: tv(x, y, ALPHA, GAMMA, reduction="sum")
    except Exception:
        F = torch.nn.functional

        def sequence(x: Any, y: Any) -> Any:
            # torchvision.ops.sigmoid_focal_loss's op sequence (torchvision does not import beside
            # this torch build; the same eager ops run here).
            p = torch.sigmoid(x)
            ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
            p_t = p * y + (1 - p) * (1 - y)
            loss = ce * ((1 - p_t) ** GAMMA)
            loss = (ALPHA * y + (1 - ALPHA) * (1 - y)) * loss
            return loss.sum()

        return "torchvision-ops", sequence


def _numpy_paths(x: np.ndarray, y: np.ndarray) -> dict[str, Callable[[], Any]]:
    from ._registry import use

    def reference() -> Any:
        with use("reference"), np.errstate(all="ignore"):
            return sigmoid_focal_loss(x, y, None, ALPHA, GAMMA)

    return {
        "numpy (paddlefocal)": lambda: sigmoid_focal_loss(x, y, None, ALPHA, GAMMA),
        "numpy reference": reference,
        "numpy naive": lambda: _naive_numpy(x, y),
        "exp+log floor": lambda: _floor(x),
    }


def _measure_numpy(log2n: int, dtype: str, budget: float, skip_slow: bool) -> list[Measurement]:
    rng = np.random.default_rng(0)
    n = 2**log2n
    x = rng.normal(scale=3.0, size=n).astype(dtype)
    y = (rng.uniform(size=n) < 0.1).astype(dtype)
    out = []
    for name, call in _numpy_paths(x, y).items():
        if skip_slow and name == "numpy reference":
            continue
        m = Measurement(name, log2n, dtype, memory_method="tracemalloc")
        m.forward_s = _median_time(call, budget)
        m.peak_mib = _tracemalloc_peak(call)
        out.append(m)
    return out


def _measure_torch(log2n: int, dtype: str, budget: float) -> list[Measurement]:
    try:
        import torch
    except ImportError:
        return []
    torch.manual_seed(0)
    n = 2**log2n
    tdtype = getattr(torch, dtype)
    x0 = torch.randn(n, dtype=tdtype) * 3
    y = (torch.rand(n) < 0.1).to(tdtype)
    tv_name, tv = _torchvision_like(torch)
    paths: dict[str, Callable[[Any, Any], Any]] = {
        "torch (paddlefocal)": lambda a, b: sigmoid_focal_loss(a, b, None, ALPHA, GAMMA),
        tv_name: tv,
    }
    out = []
    for name, fn in paths.items():
        m = Measurement(name, log2n, dtype, memory_method="rss")

        def forward(fn: Callable[[Any, Any], Any] = fn) -> Any:
            return fn(x0, y)

        with torch.no_grad():
            m.forward_s = _median_time(forward, budget)
        x = x0.clone().requires_grad_()

        def both(fn: Callable[[Any, Any], Any] = fn, x: Any = x) -> None:
            x.grad = None
            fn(x, y).backward()

        m.forward_backward_s = _median_time(both, budget)
        x.grad = None
        m.peak_mib = _rss_peak(both)
        gc.collect()
        before = _rss_bytes()
        kept = fn(x, y)  # the graph and what it saved stay alive until backward
        m.held_mib = (_rss_bytes() - before) / 2**20
        del kept
        out.append(m)
    return out


def _measure_paddle(log2n: int, dtype: str, budget: float) -> list[Measurement]:
    try:
        import paddle
        import paddle.nn.functional as PF
    except ImportError:
        return []
    rng = np.random.default_rng(0)
    n = 2**log2n
    # Paddle fails on 1-D inputs: shape [1, N].
    x_np = rng.normal(scale=3.0, size=(1, n)).astype(dtype)
    y_np = (rng.uniform(size=(1, n)) < 0.1).astype(dtype)
    x = paddle.to_tensor(x_np)
    y = paddle.to_tensor(y_np)
    m = Measurement("paddle 3.3.1", log2n, dtype, memory_method="rss")
    m.forward_s = _median_time(lambda: PF.sigmoid_focal_loss(x, y, None, ALPHA, GAMMA), budget)
    xg = paddle.to_tensor(x_np, stop_gradient=False)

    def both() -> None:
        xg.clear_gradient()
        PF.sigmoid_focal_loss(xg, y, None, ALPHA, GAMMA).backward()

    m.forward_backward_s = _median_time(both, budget)
    m.peak_mib = _rss_peak(both)
    return [m]


def _seed_call_micros(with_paddle: bool = True) -> dict[str, float]:
    """Microseconds per call on Paddle's documented 2x3 example."""
    from ._demo import _seed_inputs

    result = {}
    import array_api_compat.numpy as xp_numpy

    logit, label, fg = _seed_inputs(xp_numpy)
    result["numpy (paddlefocal)"] = (
        _median_time(lambda: sigmoid_focal_loss(logit, label, fg), 0.2) * 1e6
    )
    try:
        import array_api_compat.torch as xp_torch

        tl, tb, tf = _seed_inputs(xp_torch, "cpu")
        result["torch (paddlefocal)"] = (
            _median_time(lambda: sigmoid_focal_loss(tl, tb, tf), 0.2) * 1e6
        )
    except ImportError:
        pass
    if not with_paddle:
        return result
    try:
        import paddle
        import paddle.nn.functional as PF

        from ._demo import SEED_LABEL, SEED_LOGIT

        pl = paddle.to_tensor(SEED_LOGIT, dtype="float32")
        pb = paddle.to_tensor(SEED_LABEL, dtype="float32")
        pn = paddle.to_tensor(2.0, dtype="float32")
        result["paddle 3.3.1"] = _median_time(lambda: PF.sigmoid_focal_loss(pl, pb, pn), 0.2) * 1e6
    except ImportError:
        pass
    return result


# --- report ---------------------------------------------------------------------------------------


def _fmt(value: float | None, scale: float = 1e3, digits: int = 2) -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}"


def format_table(rows: list[Measurement]) -> str:
    lines = []
    for log2n, dtype in sorted({(r.log2n, r.dtype) for r in rows}):
        group = [r for r in rows if r.log2n == log2n and r.dtype == dtype]
        n = 2**log2n
        lines.append(f"\nN = 2**{log2n} ({n:,}), {dtype}")
        lines.append(
            f"  {'path':<22}{'forward ms':>12}{'fwd+bwd ms':>12}{'ns/elem':>9}{'peak MiB':>10}"
            f"{'held MiB':>10}  memory by"
        )
        for r in group:
            per = None if r.forward_s is None else r.forward_s / n * 1e9
            lines.append(
                f"  {r.path:<22}{_fmt(r.forward_s):>12}{_fmt(r.forward_backward_s):>12}"
                f"{_fmt(per, 1, 2):>9}{_fmt(r.peak_mib, 1, 1):>10}{_fmt(r.held_mib, 1, 1):>10}  "
                f"{r.memory_method}"
            )
        lines.extend("  " + line for line in _ratios(group, n))
    return "\n".join(lines)


def _ratios(group: list[Measurement], n: int) -> list[str]:
    by = {r.path: r for r in group}
    out = []
    ours = by.get("numpy (paddlefocal)")
    if ours and ours.forward_s:
        for other in ("exp+log floor", "numpy naive", "numpy reference", "paddle 3.3.1"):
            theirs = by[other].forward_s if other in by else None
            if theirs:
                out.append(f"numpy forward: {ours.forward_s / theirs:.2f}x the time of {other}")
        input_mib = n * np.dtype(ours.dtype).itemsize / 2**20
        if ours.peak_mib is not None:
            out.append(f"numpy extra memory: {100 * ours.peak_mib / input_mib:.2f}% of one input")
    torch_ours = by.get("torch (paddlefocal)")
    tv = by.get("torchvision") or by.get("torchvision-ops")
    if torch_ours and tv and torch_ours.forward_backward_s and tv.forward_backward_s:
        out.append(
            f"torch forward+backward: {tv.path} takes "
            f"{tv.forward_backward_s / torch_ours.forward_backward_s:.2f}x our time"
        )
        input_mib = n * np.dtype(torch_ours.dtype).itemsize / 2**20
        for r in (torch_ours, tv):
            if r.held_mib is not None and r.peak_mib is not None:
                out.append(
                    f"{r.path}: held {r.held_mib / input_mib:.2f}x, peak {r.peak_mib / input_mib:.2f}x "
                    "the logit bytes"
                )
    return out


def _plot(rows: list[Measurement], path: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, dtype in sorted({(r.path, r.dtype) for r in rows}):
        pts = sorted(
            (r for r in rows if r.path == name and r.dtype == dtype), key=lambda r: r.log2n
        )
        ns = [2**r.log2n for r in pts]
        t = [(r.forward_backward_s or r.forward_s or np.nan) / 2**r.log2n * 1e9 for r in pts]
        ax_t.plot(ns, t, marker="o", label=f"{name} {dtype}")
        ax_m.plot(ns, [r.peak_mib or 0 for r in pts], marker="o", label=f"{name} {dtype}")
    ax_t.set(
        xscale="log", yscale="log", xlabel="N", ylabel="ns per element (fwd+bwd where measured)"
    )
    ax_m.set(xscale="log", xlabel="N", ylabel="peak MiB over the inputs")
    ax_t.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def run(
    log2ns: list[int],
    dtypes: list[str],
    out_dir: str,
    budget: float = 1.0,
    with_paddle: bool = True,
) -> list[Measurement]:
    """Measure every path at every size; print the table; write JSON (and a PNG plot)."""
    rows: list[Measurement] = []
    total = len(log2ns) * len(dtypes)
    for i, (log2n, dtype) in enumerate((a, b) for a in log2ns for b in dtypes):
        print(f"[{i + 1}/{total}] N = 2**{log2n}, {dtype} ...", file=sys.stderr, flush=True)
        rows += _measure_numpy(log2n, dtype, budget, skip_slow=log2n > 24)
        rows += _measure_torch(log2n, dtype, budget)
        if with_paddle:
            rows += _measure_paddle(log2n, dtype, budget)
    seed = _seed_call_micros(with_paddle)
    print(format_table(rows))
    print(
        "\nmicroseconds per call on the documented 2x3 example: "
        + ", ".join(f"{k} {v:.1f}" for k, v in seed.items())
    )
    os.makedirs(out_dir, exist_ok=True)
    report = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": sys.version},
        "alpha": ALPHA,
        "gamma": GAMMA,
        "rows": [asdict(r) for r in rows],
        "seed_call_us": seed,
    }
    with open(os.path.join(out_dir, "bench.json"), "w") as f:
        json.dump(report, f, indent=1)
    if _plot(rows, os.path.join(out_dir, "bench.png")):
        print(f"wrote {out_dir}/bench.json and {out_dir}/bench.png")
    else:
        print(f"wrote {out_dir}/bench.json (install matplotlib for the plot)")
    return rows
