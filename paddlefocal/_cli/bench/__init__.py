"""Side-by-side benchmark (``python -m paddlefocal bench``), in one process, medians of alternating repeats.

- NumPy forward per size beside one exp and one log pass (the floor), the naive op sequence, the Array
  API reference and Paddle (``_numpy``);
- per call on Paddle's 2x3 example, the front-end's checks beside the whole call (``_seed``);
- torch forward+backward, eager and compiled, beside torchvision's, at one and two threads (``_torch``);
- the memory a call adds over its inputs from ``2**16`` on (``_timing``).

Prints the tables (``_report``) and writes ``bench.json`` (every measurement), ``bench.md`` (the tables,
for the Performance page) and ``bench.png`` (``_plot``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
from dataclasses import asdict
from typing import Any

from ..files import CliError, check_out_dir
from . import _numpy, _plot, _report, _seed, _torch
from ._rows import ALPHA, GAMMA, Measurement
from ._timing import WIDE_SPREAD

__all__ = ["options", "run"]


def _simd() -> str:
    """The widest SIMD level NumPy dispatches to here (``NPY_DISABLE_CPU_FEATURES`` lowers it)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:
        return "?"
    levels = ("AVX512_SPR", "AVX512_ICL", "AVX512_SKX", "AVX2", "SSE42", "ASIMD")
    return next((level for level in levels if features.get(level)), "baseline")


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _tables(rows: list[Measurement], dtypes: list[str], tv_label: str) -> list[_report.Table]:
    tables = [_report.numpy_table(rows, dtype) for dtype in dtypes]
    tables.append(_report.split_table(rows))
    if tv_label:
        tables += [
            _report.torch_table(rows, dtype, threads, tv_label)
            for dtype in dtypes
            for threads in _torch.THREADS
        ]
    memory = _report.memory_table(rows)
    tables.append(memory if memory.rows else _report.Table(memory.title, (), notes=memory.notes))
    return tables


def write_markdown(report: dict[str, Any], path: str) -> None:
    """The tables of a ``bench.json`` report as Markdown (``bench.md``), for the Performance page."""
    rows = [Measurement(**row) for row in report["rows"]]
    dtypes = list(dict.fromkeys(row.dtype for row in rows if row.group == "numpy"))
    machine = report["machine"]
    header = f"Machine: {machine['cpus']} CPUs, NumPy dispatching {machine['numpy_simd']}."
    tables = _tables(rows, dtypes, report["torchvision"])
    with open(path, "w") as f:
        f.write("\n\n".join([header, *(_report.as_markdown(t) for t in tables)]) + "\n")


def run(
    log2ns: list[int],
    dtypes: list[str],
    out_dir: str,
    budget: float = 1.0,
    with_paddle: bool = True,
    with_compile: bool = True,
) -> list[Measurement]:
    """Measure, print the tables, write bench.json, bench.md and bench.png into ``out_dir``."""
    rows: list[Measurement] = []
    for dtype in dtypes:
        for log2n in log2ns:
            _progress(f"NumPy forward, N = 2**{log2n}, {dtype} ...")
            rows += _numpy.measure(log2n, dtype, budget, with_paddle)
    _progress("per call on the 2x3 example ...")
    rows += _seed.measure(budget, with_paddle)
    tv_label = ""
    for dtype in dtypes:
        _progress(f"torch forward+backward, {dtype}, 1 and 2 threads ...")
        tv_label, torch_rows = _torch.measure(log2ns, dtype, budget, with_compile)
        rows += torch_rows
    tables = _tables(rows, dtypes, tv_label)
    print("\n\n".join(_report.as_text(table) for table in tables))
    wide = _report.flagged(tables)
    if wide:
        print(
            f"\nwarning: {wide} row(s) marked {_report.FLAG}: their repeats spread wider than "
            f"max/min {WIDE_SPREAD}; rerun on a quieter machine or with a larger --budget"
        )

    os.makedirs(out_dir, exist_ok=True)
    machine = {
        "cpus": os.cpu_count(),
        "numpy_simd": _simd(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }
    report = {
        "machine": machine,
        "alpha": ALPHA,
        "gamma": GAMMA,
        "torchvision": tv_label,
        "rows": [asdict(r) for r in rows],
    }
    with open(os.path.join(out_dir, "bench.json"), "w") as f:
        json.dump(report, f, indent=1)
    write_markdown(report, os.path.join(out_dir, "bench.md"))
    written = ["bench.json", "bench.md"]
    if _plot.plot(rows, tv_label, os.path.join(out_dir, "bench.png")):
        written.append("bench.png")
    else:
        print("(install matplotlib for the plot)")
    print("\nwrote " + "\n      ".join(os.path.join(out_dir, name) for name in written))
    return rows


def options(args: argparse.Namespace, max_log2n: int) -> dict[str, Any]:
    """The bench's arguments, every one checked before any measurement."""
    for name in ("min_log2n", "max_log2n"):
        value = getattr(args, name)
        if not 0 <= value <= max_log2n:
            raise CliError(
                f"--{name.replace('_', '-')}: must be between 0 and {max_log2n} (2**{max_log2n} "
                f"float64 elements are 8 GiB per input), but received {value}"
            )
    if args.min_log2n > args.max_log2n:
        raise CliError(
            f"--min-log2n ({args.min_log2n}) must not exceed --max-log2n ({args.max_log2n})"
        )
    if args.step < 1:
        raise CliError(f"--step: must be a positive number of octaves, but received {args.step}")
    if not (math.isfinite(args.budget) and 0 < args.budget <= 60):
        raise CliError(
            f"--budget: must be seconds in (0, 60] per measurement, but received {args.budget}"
        )
    check_out_dir(args.out)
    return {
        "log2ns": list(range(args.min_log2n, args.max_log2n + 1, args.step)),
        "dtypes": list(dict.fromkeys(args.dtype or ["float32"])),
        "out_dir": args.out,
        "budget": args.budget,
        "with_paddle": not args.no_paddle,
        "with_compile": not args.no_compile,
    }
