"""GPU check: torch CUDA, CuPy and JAX-on-GPU results against the CPU result, and their times.

One command, a few minutes on a machine with an NVIDIA GPU (never run in CI: it needs a GPU):

    python benchmarks/gpu_check.py [--log2n 26] [--no-compile]

For each available GPU library: the loss (sum, mean, none) and, where the library differentiates, the
gradients to logit and label, compared with NumPy (float64) on the CPU; for torch also the compiled path
(``torch.compile(fullgraph=True)``, Inductor's Triton kernels), the composable path (``torch.func.grad``)
and autocast (float16, bfloat16); then the median time of forward and forward+backward at 2**log2n
elements, eager and compiled, beside torchvision's op sequence. Exits 1 if a comparison fails.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import paddlefocal.nn.functional as F
from paddlefocal._derivatives import focal_elementwise_grads

RTOL = {"float32": 1e-5, "float64": 1e-10}


def _inputs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logit = rng.normal(scale=4.0, size=n)
    label = (rng.uniform(size=n) < 0.1).astype(np.float64)
    label[::7] = rng.uniform(size=label[::7].shape)
    return logit, label


def _median_time(fn: Callable[[], Any], sync: Callable[[], None], repeats: int = 5) -> float:
    fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _compare(
    name: str, ours: np.ndarray, expected: np.ndarray, dtype: str, failures: list[str]
) -> None:
    ok = np.allclose(ours, expected, rtol=RTOL[dtype], atol=RTOL[dtype] * 1e-2)
    worst = float(
        np.max(np.abs(ours - expected) / np.maximum(np.abs(expected), 1e-30), initial=0.0)
    )
    print(f"  {name:<34} {'ok' if ok else 'FAIL'}  worst rel diff {worst:.2e}")
    if not ok:
        failures.append(name)


def check_torch(logit: np.ndarray, label: np.ndarray, failures: list[str]) -> None:
    try:
        import torch
    except ImportError:
        print("torch: not installed")
        return
    if not torch.cuda.is_available():
        print("torch: no CUDA device")
        return
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}")
    for dtype in ("float32", "float64"):
        cpu_x = logit.astype(dtype)
        cpu_y = label.astype(dtype)
        for reduction in ("sum", "mean", "none"):
            expected = F.sigmoid_focal_loss(cpu_x, cpu_y, reduction=reduction)
            x = torch.tensor(cpu_x, device="cuda", requires_grad=True)
            y = torch.tensor(cpu_y, device="cuda", requires_grad=True)
            out = F.sigmoid_focal_loss(x, y, reduction=reduction)
            assert out.device.type == "cuda"
            _compare(
                f"cuda {dtype} {reduction}", out.detach().cpu().numpy(), expected, dtype, failures
            )
        xc = torch.tensor(cpu_x, requires_grad=True)
        yc = torch.tensor(cpu_y, requires_grad=True)
        F.sigmoid_focal_loss(xc, yc).backward()
        x = torch.tensor(cpu_x, device="cuda", requires_grad=True)
        y = torch.tensor(cpu_y, device="cuda", requires_grad=True)
        F.sigmoid_focal_loss(x, y).backward()
        _compare(f"cuda {dtype} d/d logit", x.grad.cpu().numpy(), xc.grad.numpy(), dtype, failures)
        _compare(f"cuda {dtype} d/d label", y.grad.cpu().numpy(), yc.grad.numpy(), dtype, failures)
        _check_torch_transforms(torch, cpu_x, cpu_y, xc, dtype, failures)
    _check_torch_autocast(torch, logit, label, failures)


def _logit_grad(
    torch: Any, fn: Callable[..., Any], x: Any, y: Any
) -> tuple[np.ndarray, np.ndarray]:
    xg = x.clone().requires_grad_()
    out = fn(xg, y)
    out.backward()
    return out.detach().cpu().numpy(), xg.grad.cpu().numpy()


def _check_torch_transforms(
    torch: Any, cpu_x: np.ndarray, cpu_y: np.ndarray, xc: Any, dtype: str, failures: list[str]
) -> None:
    """The compiled (Triton) and the composable (torch.func) CUDA paths against the CPU gradient."""
    x = torch.tensor(cpu_x, device="cuda")
    y = torch.tensor(cpu_y, device="cuda")
    expected_loss = F.sigmoid_focal_loss(cpu_x, cpu_y)
    expected_grad = xc.grad.numpy()
    for dynamic in (False, True):
        compiled = torch.compile(
            lambda a, b: F.sigmoid_focal_loss(a, b), fullgraph=True, dynamic=dynamic
        )
        value, grad = _logit_grad(torch, compiled, x, y)
        _compare(
            f"cuda compiled dynamic={dynamic} {dtype} sum", value, expected_loss, dtype, failures
        )
        _compare(
            f"cuda compiled dynamic={dynamic} {dtype} d/d logit",
            grad,
            expected_grad,
            dtype,
            failures,
        )
    grad = torch.func.grad(lambda a: F.sigmoid_focal_loss(a, y))(x).cpu().numpy()
    _compare(f"cuda torch.func.grad {dtype} d/d logit", grad, expected_grad, dtype, failures)


def _check_torch_autocast(
    torch: Any, logit: np.ndarray, label: np.ndarray, failures: list[str]
) -> None:
    """Half logits inside torch.autocast on CUDA: computed in float32, a float32 result."""
    expected = F.sigmoid_focal_loss(logit.astype("float32"), label.astype("float32"))
    for half in (torch.float16, torch.bfloat16):
        x = torch.tensor(logit, device="cuda").to(half)
        y = torch.tensor(label, device="cuda").to(half)
        with torch.autocast("cuda", dtype=half):
            out = F.sigmoid_focal_loss(x, y)
        if out.dtype != torch.float32:
            failures.append(f"autocast {half}: result dtype {out.dtype}")
        # Rounding the inputs to half moves the loss by about the half's epsilon.
        ok = np.isclose(float(out), float(expected), rtol=2e-2)
        print(f"  cuda autocast {half!s:<24} {'ok' if ok else 'FAIL'}  result {out.dtype}")
        if not ok:
            failures.append(f"autocast {half}")


def check_cupy(logit: np.ndarray, label: np.ndarray, failures: list[str]) -> None:
    try:
        import cupy
    except ImportError:
        print("cupy: not installed")
        return
    print(f"cupy {cupy.__version__}")
    for dtype in ("float32", "float64"):
        for reduction in ("sum", "mean", "none"):
            expected = F.sigmoid_focal_loss(
                logit.astype(dtype), label.astype(dtype), reduction=reduction
            )
            out = F.sigmoid_focal_loss(
                cupy.asarray(logit.astype(dtype)),
                cupy.asarray(label.astype(dtype)),
                reduction=reduction,
            )
            assert isinstance(out, cupy.ndarray)
            _compare(f"cupy {dtype} {reduction}", cupy.asnumpy(out), expected, dtype, failures)


def check_jax(logit: np.ndarray, label: np.ndarray, failures: list[str]) -> None:
    try:
        import jax
    except ImportError:
        print("jax: not installed")
        return
    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    if not gpus:
        print("jax: no GPU device")
        return
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    print(f"jax {jax.__version__} on {gpus[0]}")
    for dtype in ("float32", "float64"):
        cpu_x, cpu_y = logit.astype(dtype), label.astype(dtype)
        x = jax.device_put(jnp.asarray(cpu_x), gpus[0])
        y = jax.device_put(jnp.asarray(cpu_y), gpus[0])
        out = jax.jit(lambda a, b: F.sigmoid_focal_loss(a, b))(x, y)
        _compare(
            f"jax gpu {dtype} sum",
            np.asarray(out),
            F.sigmoid_focal_loss(cpu_x, cpu_y),
            dtype,
            failures,
        )
        gx = jax.jit(jax.grad(lambda a, b: F.sigmoid_focal_loss(a, b)))(x, y)
        # The analytic derivative on the CPU (NumPy), so that the check needs no torch.
        expected = focal_elementwise_grads(np, cpu_x, cpu_y, 0.25, 2.0).logit
        _compare(f"jax gpu {dtype} d/d logit", np.asarray(gx), expected, dtype, failures)
        fwd = jax.jit(jax.jacfwd(lambda a, b: F.sigmoid_focal_loss(a, b)))(x, y)
        _compare(
            f"jax gpu {dtype} d/d logit (forward mode)", np.asarray(fwd), expected, dtype, failures
        )


def _torchvision_sequence(
    torch: Any, x: Any, t: Any, alpha: float = 0.25, gamma: float = 2.0
) -> Any:
    """torchvision 0.29's sigmoid_focal_loss, reduction 'sum', operation for operation."""
    p = torch.sigmoid(x)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * ((1 - p_t) ** gamma)
    alpha_t = alpha * t + (1 - alpha) * (1 - t)
    return (alpha_t * loss).sum()


def _time_torch_compiled(torch: Any, xg: Any, y: Any, sync: Callable[[], None]) -> None:
    """Forward+backward, eager and compiled (Triton), ours beside torchvision's op sequence."""

    def ours(a: Any, b: Any) -> Any:
        return F.sigmoid_focal_loss(a, b)

    def theirs(a: Any, b: Any) -> Any:
        return _torchvision_sequence(torch, a, b)

    ours(xg.detach(), y)  # the front-end's first call (registry plug-ins) runs eagerly
    fns = {
        "ours eager": ours,
        "torchvision eager": theirs,
        "ours compiled": torch.compile(ours, fullgraph=True),
        "torchvision compiled": torch.compile(theirs, fullgraph=True),
    }
    times = {}
    for name, fn in fns.items():

        def step(fn: Callable[..., Any] = fn) -> None:
            fn(xg, y).backward()
            xg.grad = None

        times[name] = _median_time(step, sync)
    line = ", ".join(f"{name} {t * 1e3:.2f} ms" for name, t in times.items())
    print(f"  torch cuda forward+backward: {line}")
    print(
        f"  ours is {times['torchvision eager'] / times['ours eager']:.2f}x (eager) and "
        f"{times['torchvision compiled'] / times['ours compiled']:.2f}x (compiled) faster"
    )


def time_gpus(log2n: int) -> None:
    n = 2**log2n
    logit, label = _inputs(n, seed=1)
    print(f"\ntimes at 2**{log2n} elements (median of 5), float32, reduction 'sum'")
    try:
        import torch

        if torch.cuda.is_available():
            x = torch.tensor(logit, dtype=torch.float32, device="cuda")
            y = torch.tensor(label, dtype=torch.float32, device="cuda")
            sync = torch.cuda.synchronize
            fwd = _median_time(lambda: F.sigmoid_focal_loss(x, y), sync)
            xg = x.clone().requires_grad_()

            def fwd_bwd() -> None:
                F.sigmoid_focal_loss(xg, y).backward()

            both = _median_time(fwd_bwd, sync)
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            fwd_bwd()
            sync()
            peak = (torch.cuda.max_memory_allocated() - base) / 2**20
            print(
                f"  torch cuda: forward {fwd * 1e3:.2f} ms, forward+backward {both * 1e3:.2f} ms, "
                f"peak +{peak:.0f} MiB"
            )
            _time_torch_compiled(torch, xg, y, sync)
    except ImportError:
        pass
    try:
        import cupy

        xc = cupy.asarray(logit.astype(np.float32))
        yc = cupy.asarray(label.astype(np.float32))
        sync = cupy.cuda.Device().synchronize
        fwd = _median_time(lambda: F.sigmoid_focal_loss(xc, yc), sync)
        print(f"  cupy: forward {fwd * 1e3:.2f} ms")
    except ImportError:
        pass
    try:
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        if gpus:
            import jax.numpy as jnp

            xj = jax.device_put(jnp.asarray(logit, dtype=jnp.float32), gpus[0])
            yj = jax.device_put(jnp.asarray(label, dtype=jnp.float32), gpus[0])
            f = jax.jit(lambda a, b: F.sigmoid_focal_loss(a, b))
            g = jax.jit(jax.grad(lambda a, b: F.sigmoid_focal_loss(a, b)))
            fwd = _median_time(lambda: f(xj, yj).block_until_ready(), lambda: None)
            both = _median_time(lambda: g(xj, yj).block_until_ready(), lambda: None)
            print(f"  jax gpu (jit): forward {fwd * 1e3:.2f} ms, gradient {both * 1e3:.2f} ms")
    except ImportError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log2n", type=int, default=26, help="log2 of the timed size (default 26)")
    parser.add_argument(
        "--check-log2n", type=int, default=20, help="log2 of the compared size (default 20)"
    )
    args = parser.parse_args(argv)
    logit, label = _inputs(2**args.check_log2n)
    failures: list[str] = []
    check_torch(logit, label, failures)
    check_cupy(logit, label, failures)
    check_jax(logit, label, failures)
    time_gpus(args.log2n)
    print(f"\n{'FAILED: ' + ', '.join(failures) if failures else 'all GPU comparisons passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
