"""The side-by-side benchmark (``paddlefocal bench``), in one process, with ``timing.compare``.

Measures (``_measure``), prints the tables (``_report``) and writes ``bench.json`` (every measurement),
``bench.md`` (the tables, for the Performance page) and, with matplotlib, ``bench.png``.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import sys
from dataclasses import asdict
from typing import Any

from ..files import CliError, check_out_dir
from . import _measure, _report
from ._measure import ALPHA, GAMMA, THREADS, Measurement

__all__ = ["options", "run"]


def _simd() -> str:
    """The widest SIMD level NumPy dispatches to here (``NPY_DISABLE_CPU_FEATURES`` lowers it)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:
        return "?"
    levels = ("AVX512_SPR", "AVX512_ICL", "AVX512_SKX", "AVX2", "SSE42", "ASIMD")
    return next((level for level in levels if features.get(level)), "baseline")


def _tables(rows: list[Measurement], dtypes: list[str], tv_label: str) -> list[_report.Table]:
    tables = [_report.numpy_table(rows, dtype) for dtype in dtypes]
    tables.append(_report.split_table(rows))
    if tv_label:
        tables += [_report.torch_table(rows, d, t, tv_label) for d in dtypes for t in THREADS]
    memory = _report.memory_table(rows)
    return [*tables, memory if memory.rows else _report.Table(memory.title, (), notes=memory.notes)]


def run(
    log2ns: list[int],
    dtypes: list[str],
    out_dir: str,
    budget: float = 1.0,
    with_paddle: bool = True,
    with_compile: bool = True,
) -> list[Measurement]:
    """Measure, print the tables, write bench.json, bench.md and bench.png into ``out_dir``."""
    progress = functools.partial(print, file=sys.stderr, flush=True)

    rows: list[Measurement] = []
    for dtype in dtypes:
        for log2n in log2ns:
            progress(f"NumPy forward, N = 2**{log2n}, {dtype} ...")
            rows += _measure.numpy_rows(log2n, dtype, budget, with_paddle)
    progress("per call on the 2x3 example ...")
    rows += _measure.split_rows(budget, with_paddle)
    tv_label = ""
    for dtype in dtypes:
        progress(f"torch forward+backward, {dtype}, 1 and 2 threads ...")
        tv_label, torch_rows = _measure.torch_rows(log2ns, dtype, budget, with_compile)
        rows += torch_rows
    tables = _tables(rows, dtypes, tv_label)
    print("\n\n".join(map(_report.as_text, tables)))
    wide = _report.flagged(tables)
    if wide:
        print(
            f"\nwarning: {wide} row(s) marked {_report.FLAG}: their repeats spread wider than max/min "
            f"{_report.WIDE_SPREAD}; rerun on a quieter machine or with a larger --budget"
        )
    os.makedirs(out_dir, exist_ok=True)
    simd, machine = _simd(), {"cpus": os.cpu_count(), "platform": platform.platform()}
    machine |= {"numpy_simd": simd, "python": sys.version.split()[0]}
    report = {"machine": machine, "alpha": ALPHA, "gamma": GAMMA, "torchvision": tv_label}
    with open(os.path.join(out_dir, "bench.json"), "w") as f:
        json.dump({**report, "rows": [asdict(r) for r in rows]}, f, indent=1)
    with open(os.path.join(out_dir, "bench.md"), "w") as f:
        header = f"Machine: {machine['cpus']} CPUs, NumPy dispatching {simd}."
        f.write("\n\n".join([header, *map(_report.as_markdown, tables)]) + "\n")
    written = ["bench.json", "bench.md"]
    if _report.plot(rows, tv_label, os.path.join(out_dir, "bench.png")):
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
        raise CliError(f"--budget: must be seconds in (0, 60], but received {args.budget}")
    check_out_dir(args.out)
    return {
        "log2ns": list(range(args.min_log2n, args.max_log2n + 1, args.step)),
        "dtypes": list(dict.fromkeys(args.dtype or ["float32"])),
        "out_dir": args.out,
        "budget": args.budget,
        "with_paddle": not args.no_paddle,
        "with_compile": not args.no_compile,
    }
