"""GPU check: one prepared run of every GPU path, with its targets, on a machine with a CUDA device.

    python benchmarks/gpu_check.py [--max-log2n 26] [--repeats 20] [--no-compile]

Per size (the seed's 2x3, then 2**12 .. 2**26 float32 elements, 10% positives and a fifth soft labels):

- eager forward+backward of ``paddlefocal.sigmoid_focal_loss`` (the Triton kernel) against torchvision's
  ``sigmoid_focal_loss`` (its op sequence, written below, where torchvision is not importable);
- the compiled step (``torch.compile(fullgraph=True)``) of each;
- a bandwidth floor measured in the same run: copying the bytes the fused step must move (logit,
  label, the saved d/dlogit twice, the gradient);
- memory held between forward and backward and the peak (``torch.cuda.max_memory_allocated``) over
  the inputs;
- host synchronizations: the eager step run under ``torch.cuda.set_sync_debug_mode("error")``;
- CuPy's fused kernel against the reference path, and JAX on the GPU (jit of value and grad).

Targets, printed as PASS/FAIL: eager >= 5x torchvision from 2**20 up and no slower at 2**12; within
1.5x of the bandwidth floor from 2**22 up; 0 synchronizations. Exit status 0 when every target passes,
1 otherwise, 2 without a CUDA device ("no CUDA device"). Never run by the tests.
"""

# Every timed lambda is called within the loop iteration that defines it.
# ruff: noqa: B023
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

SEED = ([[0.97, 0.91, 0.03], [0.55, 0.43, 0.69]], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def _inputs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logit = (rng.standard_normal(n) * 4).astype(np.float32)
    label = (rng.uniform(size=n) < 0.1).astype(np.float32)
    label[::5] = rng.uniform(size=label[::5].shape)
    return logit, label


def _median(fn: Callable[[], Any], sync: Callable[[], None], repeats: int) -> float:
    fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _torchvision(torch: Any) -> Callable[..., Any]:
    try:
        from torchvision.ops import sigmoid_focal_loss

        return sigmoid_focal_loss
    except ImportError:
        tnf = torch.nn.functional

        def sequence(
            inputs: Any,
            targets: Any,
            alpha: float = 0.25,
            gamma: float = 2.0,
            reduction: str = "none",
        ) -> Any:
            """torchvision 0.29's ``ops.sigmoid_focal_loss``, operation for operation."""
            p = torch.sigmoid(inputs)
            ce_loss = tnf.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
            p_t = p * targets + (1 - p) * (1 - targets)
            loss = ce_loss * ((1 - p_t) ** gamma)
            if alpha >= 0:
                alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
                loss = alpha_t * loss
            return (
                loss.sum() if reduction == "sum" else loss.mean() if reduction == "mean" else loss
            )

        return sequence


class Report:
    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self.failures: list[str] = []

    def target(self, name: str, ok: bool, detail: str) -> None:
        self.rows.append([name, "PASS" if ok else "FAIL", detail])
        if not ok:
            self.failures.append(name)

    def print(self) -> None:
        width = max(len(r[0]) for r in self.rows) if self.rows else 10
        for name, verdict, detail in self.rows:
            print(f"  {name:<{width}}  {verdict}  {detail}")


def _floor(torch: Any, n: int, sync: Callable[[], None], repeats: int) -> float:
    """The bandwidth floor of the fused step: moving 5 arrays of n float32 (the forward reads logit
    and label and writes d/dlogit, the backward reads it and writes the gradient), timed as a device
    copy of half those bytes (a copy reads and writes each byte)."""
    src = torch.empty(5 * n // 2 + 1, device="cuda")
    dst = torch.empty_like(src)
    return _median(lambda: dst.copy_(src), sync, repeats)


def check_torch(args: argparse.Namespace, report: Report) -> None:
    import torch

    import paddlefocal

    sync = torch.cuda.synchronize
    tv = _torchvision(torch)
    ours = paddlefocal.sigmoid_focal_loss
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}")
    print(
        f"{'size':>10} {'ours ms':>9} {'tv ms':>9} {'eager x':>8} {'floor ms':>9} {'/floor':>7} "
        f"{'cmp ms':>8} {'tv cmp':>8} {'cmp x':>6} {'held MiB':>9} {'peak MiB':>9}"
    )
    sizes: list[Any] = ["seed", *(2**k for k in range(12, args.max_log2n + 1, 2))]
    for size in sizes:
        if size == "seed":
            x0 = torch.tensor(SEED[0], device="cuda")
            y = torch.tensor(SEED[1], device="cuda")
        else:
            x_np, y_np = _inputs(size)
            x0, y = torch.from_numpy(x_np).cuda(), torch.from_numpy(y_np).cuda()
        n = x0.numel()
        x = x0.clone().requires_grad_()

        def step(fn: Callable[..., Any], x: Any = x, y: Any = y) -> None:
            x.grad = None
            fn(x, y, reduction="sum").backward()

        t_ours = _median(lambda: step(ours), sync, args.repeats)
        t_tv = _median(lambda: step(tv), sync, args.repeats)
        t_floor = _floor(torch, n, sync, args.repeats)
        t_c = t_tc = float("nan")
        if not args.no_compile:
            c_ours = torch.compile(lambda a, b: ours(a, b, reduction="sum"), fullgraph=True)
            c_tv = torch.compile(lambda a, b: tv(a, b, reduction="sum"), fullgraph=True)
            t_c = _median(lambda: step(lambda a, b, reduction: c_ours(a, b)), sync, args.repeats)
            t_tc = _median(lambda: step(lambda a, b, reduction: c_tv(a, b)), sync, args.repeats)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        out = ours(x, y, reduction="sum")
        held = torch.cuda.memory_allocated() - base
        out.backward()
        sync()
        peak = torch.cuda.max_memory_allocated() - base
        mib = 2.0**20
        print(
            f"{size!s:>10} {t_ours * 1e3:9.3f} {t_tv * 1e3:9.3f} {t_tv / t_ours:8.2f} "
            f"{t_floor * 1e3:9.3f} {t_ours / t_floor:7.2f} {t_c * 1e3:8.3f} {t_tc * 1e3:8.3f} "
            f"{t_tc / t_c:6.2f} {held / mib:9.2f} {peak / mib:9.2f}"
        )
        if size == 2**12:
            report.target(
                "eager no slower than torchvision at 2**12", t_ours <= t_tv, f"{t_tv / t_ours:.2f}x"
            )
        if size != "seed" and size >= 2**20:
            report.target(
                f"eager >= 5x torchvision at 2**{size.bit_length() - 1}",
                t_tv >= 5 * t_ours,
                f"{t_tv / t_ours:.2f}x",
            )
        if size != "seed" and size >= 2**22:
            report.target(
                f"within 1.5x of the bandwidth floor at 2**{size.bit_length() - 1}",
                t_ours <= 1.5 * t_floor,
                f"{t_ours / t_floor:.2f}x the floor",
            )
    _check_syncs(torch, ours, report)
    _check_values(torch, ours, report)


def _check_syncs(torch: Any, ours: Callable[..., Any], report: Report) -> None:
    x_np, y_np = _inputs(2**16)
    count = 0
    for reduction in ("sum", "mean", "none"):
        for normalizer in (None, torch.tensor(3.0, device="cuda")):
            x = torch.from_numpy(x_np).cuda().requires_grad_()
            y = torch.from_numpy(y_np).cuda()
            torch.cuda.synchronize()
            torch.cuda.set_sync_debug_mode("error")
            try:
                out = ours(x, y, normalizer, 0.25, 2.0, reduction)
                (out.sum() if reduction == "none" else out).backward()
            except RuntimeError as error:
                count += 1
                print(f"  sync in {reduction}, normalizer {normalizer is not None}: {error}")
            finally:
                torch.cuda.set_sync_debug_mode("default")
    report.target(
        "0 host synchronizations (eager, every reduction and normalizer)",
        count == 0,
        f"{count} calls synchronized",
    )


def _check_values(torch: Any, ours: Callable[..., Any], report: Report) -> None:
    import paddlefocal

    x_np, y_np = _inputs(2**20 + 12345, seed=3)
    for dtype, rtol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        xd, yd = x_np.astype(dtype), y_np.astype(dtype)
        expected = paddlefocal.sigmoid_focal_loss(xd, yd, reduction="none")
        got = ours(torch.from_numpy(xd).cuda(), torch.from_numpy(yd).cuda(), reduction="none")
        worst = float(np.max(np.abs(got.cpu().numpy() - expected) / np.maximum(expected, 1e-30)))
        report.target(
            f"CUDA values match the CPU path ({np.dtype(dtype).name})",
            worst <= rtol,
            f"worst relative difference {worst:.2e}",
        )


def check_cupy(args: argparse.Namespace, report: Report) -> None:
    try:
        import cupy
    except ImportError:
        print("cupy: not installed")
        return
    import paddlefocal.backends as backends

    import paddlefocal

    sync = cupy.cuda.Stream.null.synchronize
    print("cupy", cupy.__version__)
    for log2n in (12, 20, args.max_log2n):
        x_np, y_np = _inputs(2**log2n)
        x, y = cupy.asarray(x_np), cupy.asarray(y_np)
        fused = _median(lambda: paddlefocal.sigmoid_focal_loss(x, y), sync, args.repeats)
        with backends.use(backends.REFERENCE):
            ref = _median(lambda: paddlefocal.sigmoid_focal_loss(x, y), sync, args.repeats)
            expected = float(paddlefocal.sigmoid_focal_loss(x, y))
        got = float(paddlefocal.sigmoid_focal_loss(x, y))
        print(
            f"  2**{log2n}: fused {fused * 1e3:.3f} ms, reference {ref * 1e3:.3f} ms, "
            f"{ref / fused:.2f}x"
        )
        report.target(
            f"CuPy fused equals the reference at 2**{log2n}",
            abs(got - expected) <= 1e-5 * abs(expected),
            f"{got!r} vs {expected!r}",
        )


def check_jax(args: argparse.Namespace, report: Report) -> None:
    try:
        import jax
    except ImportError:
        print("jax: not installed")
        return
    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    if not gpus:
        print("jax: no GPU device")
        return
    import paddlefocal

    step = jax.jit(jax.value_and_grad(lambda a, b: paddlefocal.sigmoid_focal_loss(a, b)))
    for log2n in (12, 20, args.max_log2n):
        x_np, y_np = _inputs(2**log2n)
        x, y = jax.device_put(x_np, gpus[0]), jax.device_put(y_np, gpus[0])
        t = _median(lambda: step(x, y)[1].block_until_ready(), lambda: None, args.repeats)
        print(f"  jax 2**{log2n}: value and grad {t * 1e3:.3f} ms")
    expected = float(paddlefocal.sigmoid_focal_loss(x_np, y_np))
    got = float(step(x, y)[0])
    report.target(
        "JAX on the GPU equals NumPy",
        abs(got - expected) <= 1e-5 * abs(expected),
        f"{got!r} vs {expected!r}",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-log2n", type=int, default=26)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args(argv)
    try:
        import torch

        cuda = torch.cuda.is_available()
    except ImportError:
        cuda = False
    if not cuda:
        print("no CUDA device")
        return 2
    report = Report()
    check_torch(args, report)
    check_cupy(args, report)
    check_jax(args, report)
    print("targets:")
    report.print()
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
