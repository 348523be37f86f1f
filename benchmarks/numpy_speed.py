"""The NumPy path against the exp+log floor, per size; the per-call split; the thread scaling.

    python benchmarks/numpy_speed.py [--max-log2n 24] [--samples 9]
    NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL" python benchmarks/numpy_speed.py   # the AVX2 code path

Prints three Markdown tables:

1. per size 2**10 to 2**24 (step 2) and dtype, the forward ``'sum'`` time divided by the time of one
   ``np.exp`` and one ``np.log`` pass over the same logits (``np.log(np.exp(x))``, the floor of any
   implementation built on NumPy's ufuncs), on one thread and on the default thread count; for one
   thread also the ratio of CPU times, which other processes on the machine disturb less;
2. the time of one call on the seed's 2x3 example, split into the front-end's checks, the NumPy
   kernel and the rest (choosing the path, wrapping the result);
3. the time on 1 thread divided by the time on 2 threads at 2**20, 2**22 and 2**24, beside the same
   ratio for a plain ``np.exp`` split in two halves: what two threads can gain on this machine now
   (about 2 on two idle cores, about 1 when other processes occupy them);
4. the call's CPU time on one thread and, summed, on two threads, and the speed-up two idle cores
   would give when the blocks split evenly (for a machine busy with other work).

Times are medians of samples taken in alternation (ours, the floor, ours, ...) in one process, so that
a machine's drift affects both sides of every ratio alike. The inputs are the benchmark's: logits
``3 N(0, 1)``, labels 1 with probability 0.1.

On an AVX-512 machine NumPy's exp, log and log1p are SIMD loops (SVML); ``NPY_DISABLE_CPU_FEATURES``
set to the AVX-512 feature groups ``numpy.show_runtime()`` lists as found (``X86_V4 AVX512_ICL`` on NumPy
2.4 with an Ice Lake or Zen 4 CPU; ``AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL`` on NumPy < 2.4) makes
NumPy take its AVX2 code instead, as on an AVX2-only CPU.
"""

from __future__ import annotations

import argparse
import functools
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import paddlefocal
from paddlefocal import backends
from paddlefocal._cli.bench import _simd
from paddlefocal._cli.timing import compare
from paddlefocal._validation import validate

ALPHA, GAMMA = 0.25, 2.0


def _inputs(log2n: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 2**log2n
    x = rng.normal(scale=3.0, size=n).astype(dtype)
    y = (rng.uniform(size=n) < 0.1).astype(dtype)
    return x, y


def _floor(x: np.ndarray) -> Any:
    """One exp and one log pass over the logits, as ``paddlefocal bench`` measures the floor."""
    return np.log(np.exp(x))


def medians(
    calls: dict[str, Callable[[], Any]], samples: int, seconds: float, cpu: bool = False
) -> dict[str, float]:
    """The median time of each call over ``samples`` alternating rounds (the harness's timer).

    ``cpu=True``: the process's CPU time instead of the wall-clock time. For a single-threaded call
    this is the time it takes on an idle core, less the time other processes held the core.
    """
    clock = time.process_time if cpu else time.perf_counter
    budget = seconds * samples
    times = compare(calls, budget, clock=clock, rounds=(samples, samples))
    return {name: t.median for name, t in times.items()}


def _with_threads(n: int, call: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        previous = paddlefocal.get_num_threads()
        paddlefocal.set_num_threads(n)
        try:
            return call()
        finally:
            paddlefocal.set_num_threads(previous)

    return run


def ratio_table(max_log2n: int, samples: int, default_threads: int) -> None:
    print(
        "| N | dtype | floor (ms) | ours, 1 thread (ms) | ratio, 1 thread |"
        " ratio, 1 thread, CPU time |"
        f" ours, {default_threads} threads (ms) | ratio, {default_threads} threads |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for log2n in range(10, max_log2n + 1, 2):
        for dtype in ("float32", "float64"):
            x, y = _inputs(log2n, dtype)

            def ours(x: np.ndarray = x, y: np.ndarray = y) -> Any:
                return paddlefocal.sigmoid_focal_loss(x, y, None, ALPHA, GAMMA)

            calls: dict[str, Callable[[], Any]] = {
                "floor": functools.partial(_floor, x),
                "one": _with_threads(1, ours),
                "default": _with_threads(default_threads, ours),
            }
            t = medians(calls, samples, seconds=0.02)
            c = medians({k: calls[k] for k in ("floor", "one")}, samples, 0.02, cpu=True)
            print(
                f"| 2**{log2n} | {dtype} | {t['floor'] * 1e3:.3f} | {t['one'] * 1e3:.3f} |"
                f" {t['one'] / t['floor']:.2f} | {c['one'] / c['floor']:.2f} |"
                f" {t['default'] * 1e3:.3f} | {t['default'] / t['floor']:.2f} |",
                flush=True,
            )


def per_call_split(samples: int) -> None:
    logit = np.array([[0.97, 0.91, 0.03], [0.55, 0.43, 0.71]], dtype=np.float32)
    label = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float32)
    normalizer = np.asarray(np.sum(label >= 1.0, dtype=np.float32))
    args = (logit, label, normalizer, ALPHA, GAMMA, "sum")
    call = validate(*args)
    path = backends.resolve(logit)
    calls: dict[str, Callable[[], Any]] = {
        "whole call": lambda: paddlefocal.sigmoid_focal_loss(*args),
        "front-end checks (validate)": lambda: validate(*args),
        "NumPy path (backends.resolve(logit)(call))": lambda: path(call),
    }
    wall = medians(calls, samples, seconds=0.02)
    cpu = medians(calls, samples, seconds=0.02, cpu=True)
    print("| seed 2x3, float32, 'sum' with normalizer | us per call | us of CPU per call |")
    print("| --- | --- | --- |")
    for name in calls:
        print(f"| {name} | {wall[name] * 1e6:.1f} | {cpu[name] * 1e6:.1f} |")
    rest = [
        t["whole call"] - sum(v for k, v in t.items() if k != "whole call") for t in (wall, cpu)
    ]
    print(f"| rest (path lookup, result type) | {rest[0] * 1e6:.1f} | {rest[1] * 1e6:.1f} |")


def _two_thread_exp(x: np.ndarray, out: np.ndarray, threads: int) -> None:
    """``np.exp`` over ``x`` in two halves, on one thread or two: the machine's own headroom."""
    h = x.shape[0] // 2
    if threads == 1:
        np.exp(x[:h], out=out[:h])
        np.exp(x[h:], out=out[h:])
        return
    other = threading.Thread(target=np.exp, args=(x[h:],), kwargs={"out": out[h:]})
    other.start()
    np.exp(x[:h], out=out[:h])
    other.join()


def thread_scaling(max_log2n: int, samples: int) -> None:
    print(
        "| N | dtype | 1 thread (ms) | 2 threads (ms) | speed-up |"
        " control: np.exp in two halves, speed-up on 2 threads |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for log2n in (20, 22, 24):
        if log2n > max_log2n:
            continue
        for dtype in ("float32", "float64"):
            x, y = _inputs(log2n, dtype)
            scratch = np.empty_like(x)

            def ours(x: np.ndarray = x, y: np.ndarray = y) -> Any:
                return paddlefocal.sigmoid_focal_loss(x, y, None, ALPHA, GAMMA)

            t = medians(
                {
                    "1": _with_threads(1, ours),
                    "2": _with_threads(2, ours),
                    "exp 1": functools.partial(_two_thread_exp, x, scratch, 1),
                    "exp 2": functools.partial(_two_thread_exp, x, scratch, 2),
                },
                samples,
                0.05,
            )
            print(
                f"| 2**{log2n} | {dtype} | {t['1'] * 1e3:.2f} | {t['2'] * 1e3:.2f} |"
                f" {t['1'] / t['2']:.2f} | {t['exp 1'] / t['exp 2']:.2f} |",
                flush=True,
            )


def cpu_split(max_log2n: int, samples: int) -> None:
    """The call's CPU time on 1 thread against its CPU time, summed over threads, on 2 threads.

    On a machine whose cores are busy with other work, wall-clock speed-ups say little; the CPU time
    the threads spend shows the overhead of splitting, and so the speed-up two idle cores would give
    if the blocks split evenly: ``2 * (1-thread CPU) / (2-thread CPU, summed)``.
    """
    print(
        "| N | dtype | 1 thread: CPU (ms) | 2 threads: CPU summed (ms) | estimate for 2 idle cores |"
    )
    print("| --- | --- | --- | --- | --- |")
    for log2n in (20, 22, 24):
        if log2n > max_log2n:
            continue
        for dtype in ("float32", "float64"):
            x, y = _inputs(log2n, dtype)

            def ours(x: np.ndarray = x, y: np.ndarray = y) -> Any:
                return paddlefocal.sigmoid_focal_loss(x, y)

            calls = {"1": _with_threads(1, ours), "2": _with_threads(2, ours)}
            t = medians(calls, samples, 0.05, cpu=True)
            print(
                f"| 2**{log2n} | {dtype} | {t['1'] * 1e3:.1f} | {t['2'] * 1e3:.1f} |"
                f" {2 * t['1'] / t['2']:.2f} |",
                flush=True,
            )


def _code_path() -> str:
    simd = _simd()
    path = "AVX-512 code path" if simd.startswith("AVX512") else f"{simd} code path (no AVX-512)"
    disabled = os.environ.get("NPY_DISABLE_CPU_FEATURES", "")
    if disabled:
        path += f", NPY_DISABLE_CPU_FEATURES={disabled!r}"
    return f"NumPy {np.__version__}, {path}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-log2n", type=int, default=24)
    parser.add_argument("--samples", type=int, default=9, help="samples per median")
    args = parser.parse_args(argv)
    default_threads = paddlefocal.get_num_threads()
    print(f"{_code_path()}; {os.cpu_count()} CPUs; default thread count {default_threads}\n")
    ratio_table(args.max_log2n, args.samples, default_threads)
    print()
    per_call_split(args.samples)
    print()
    thread_scaling(args.max_log2n, args.samples)
    print()
    cpu_split(args.max_log2n, args.samples)


if __name__ == "__main__":
    main()
