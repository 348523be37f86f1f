"""The bench's tables (aligned text for the terminal, Markdown for the Performance page) and its plot.

Every speed ratio reads one way, "ours is N x faster than X" (X's time over ours; below 1 we are slower).
The one exception is named as what it is: NumPy's time over its exp+log floor, lower is better.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..demo import format_table
from ._measure import (
    CHECKS,
    COMPILED,
    FLOOR,
    MEMORY_MIN_LOG2N,
    NAIVE,
    OURS,
    PADDLE,
    REFERENCE,
    SEED,
    TV,
    TV_COMPILED,
    WHOLE,
    Measurement,
)

#: A row whose slowest repeat took more than this many times its fastest is not to be trusted.
WIDE_SPREAD = 1.5
#: Marks such a row.
FLAG = "!"
SPREAD_NOTE = (
    f"spread: the widest max/min over the repeats of the row's measurements; {FLAG} above "
    f"{WIDE_SPREAD} (a busy machine: do not trust that row's ratios)."
)
FASTER_NOTE = "vs X: ours is N x faster than X (X's time / ours; below 1, ours is slower)."


@dataclass
class Table:
    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _size(log2n: int) -> str:
    return "2x3 seed" if log2n == SEED else f"2**{log2n}"


def _time(seconds: float | None, unit: float = 1e3) -> str:
    """In ms (``unit`` 1e3, three significant digits) or us (1e6, one decimal)."""
    return "-" if seconds is None else format(seconds * unit, ".3g" if unit == 1e3 else ".1f")


def _ratio(numerator: float | None, denominator: float | None) -> str:
    # Three significant digits: a ratio far below 1 stays readable (0.0042, never 0.00).
    return "-" if not numerator or not denominator else f"{numerator / denominator:.3g}"


def _spread(measurements: Iterable[Measurement]) -> str:
    spreads = [s for s in (r.spread for r in measurements) if s is not None]
    if not spreads:
        return "-"
    return f"{max(spreads):.2f}" + (f" {FLAG}" if max(spreads) > WIDE_SPREAD else "")


def flagged(tables: list[Table]) -> int:
    """How many rows of the tables are marked as too spread to trust."""
    return sum(row[-1].endswith(FLAG) for t in tables if "spread" in t.header for row in t.rows)


def _by_size(
    title: str, rows: Iterable[Measurement], columns: dict[str, Any], notes: list[str]
) -> Table:
    """One row per size: ``columns`` maps a header to a path (its time in ms) or to a pair of paths
    (the first one's time over the second's); then the spread."""
    table = Table(title, ("N", *columns, "spread"), notes=[SPREAD_NOTE, *notes])
    sizes: dict[int, dict[str, Measurement]] = {}
    for r in rows:
        sizes.setdefault(r.log2n, {})[r.path] = r
    for log2n, by in sorted(sizes.items()):
        s = {path: r.seconds for path, r in by.items()}
        cells = [
            _time(s.get(c)) if isinstance(c, str) else _ratio(*map(s.get, c))
            for c in columns.values()
        ]
        table.rows.append((_size(log2n), *cells, _spread(by.values())))
    return table


def numpy_table(rows: list[Measurement], dtype: str) -> Table:
    columns = {"ours ms": OURS, "floor ms": FLOOR, "ours / floor": (OURS, FLOOR)}
    for header, path in (
        ("naive NumPy", NAIVE),
        ("reference", REFERENCE),
        ("Paddle", PADDLE),
    ):
        columns[f"vs {header}"] = (path, OURS)
    return _by_size(
        f"NumPy forward, {dtype}, reduction 'sum'",
        (r for r in rows if r.group == "numpy" and r.dtype == dtype),
        columns,
        [
            "ours / floor: our time over one np.exp plus one np.log pass (lower is better).",
            FASTER_NOTE,
        ],
    )


def torch_table(rows: list[Measurement], dtype: str, threads: int, tv_label: str) -> Table:
    chosen = [r for r in rows if r.group == "torch" and r.dtype == dtype and r.threads == threads]
    notes = [f"tv: {tv_label}, eager.", "tv compiled: the same under `torch.compile`.", FASTER_NOTE]
    for path in (COMPILED, TV_COMPILED):
        note = next((r.note for r in chosen if r.path == path and r.note), "")
        notes += [f"{path}: {note}"] if note else []
    columns = {"ours ms": OURS, "tv ms": TV, "eager vs tv": (TV, OURS)}
    columns |= {"compiled ms": COMPILED, "compiled vs tv": (TV, COMPILED)}
    columns["vs tv compiled"] = (TV_COMPILED, COMPILED)
    title = f"torch forward+backward, {dtype}, reduction 'sum', {threads} thread"
    return _by_size(title + "s" * (threads > 1), chosen, columns, notes)


def split_table(rows: list[Measurement]) -> Table:
    table = Table(
        "Per call on Paddle's 2x3 example, float32, normalizer given",
        ("library", "whole call us", "front-end checks us", "the rest us", "spread"),
        notes=[
            SPREAD_NOTE,
            "front-end checks: `paddlefocal._validation.validate` alone; the rest: dispatch and kernel.",
        ],
    )
    by = {r.path: r for r in rows if r.group == "split"}
    for name in dict.fromkeys(path.rsplit(" ", 2)[0] for path in by):
        whole, checks = (by.get(f"{name} {what}") for what in (WHOLE, CHECKS))
        w, c = (None if r is None else r.seconds for r in (whole, checks))
        rest = None if w is None or c is None else w - c
        spread = _spread(r for r in (whole, checks) if r is not None)
        table.rows.append((name, *(_time(t, 1e6) for t in (w, c, rest)), spread))
    return table


def memory_table(rows: list[Measurement]) -> Table:
    table = Table(
        "Memory a call adds over its inputs",
        ("N", "dtype", "path", "peak MiB", "peak / logit bytes", "held / logit bytes", "by"),
        notes=[
            f"Omitted below `2**{MEMORY_MIN_LOG2N}`: fixed scratch buffers and page-sized",
            "allocator steps would dominate. held: kept between forward and backward (torch).",
        ],
    )
    for r in (r for r in rows if r.peak_mib is not None):
        logit_mib = 2**r.log2n * np.dtype(r.dtype).itemsize / 2**20
        held = "-" if r.held_mib is None else f"{r.held_mib / logit_mib:.2f}"
        path = r.path if r.group == "numpy" else f"torch {r.path}"
        figures = f"{r.peak_mib:.1f}", f"{r.peak_mib / logit_mib:.2f}", held, r.memory_method
        table.rows.append((_size(r.log2n), r.dtype, path, *figures))
    return table


def as_text(table: Table) -> str:
    body = format_table(table.header, table.rows).splitlines() if table.header else []
    return "\n".join([table.title, *("  " + line for line in [*body, *table.notes])])


def as_markdown(table: Table) -> str:
    def line(cells: Iterable[str]) -> str:
        # Numbers such as 2**16 are code: Markdown would read the asterisks as bold.
        return "| " + " | ".join(f"`{c}`" if "*" in c else c for c in cells) + " |"

    lines = [f"**{table.title}**", ""]
    if table.header:
        lines += [line(table.header), line("---" for _ in table.header), *map(line, table.rows)]
    return "\n".join([*lines, "", *(f"{note}  " for note in table.notes)]).rstrip()


def plot(rows: list[Measurement], tv_label: str, path: str) -> bool:
    """Write the PNG of ns per element against N, a panel for NumPy and one for torch; False where
    matplotlib (not a dependency: the docs extra has it) is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels: dict[str, dict[str, list[Measurement]]] = {"numpy": {}, "torch": {}}
    for r in sorted(rows, key=lambda r: r.log2n):
        if r.group in panels and r.log2n != SEED and r.seconds:
            threads = f", {r.threads} thread" + "s" * (r.threads != 1) if r.threads else ""
            panels[r.group].setdefault(
                f"{r.path.replace('torchvision', 'tv')}, {r.dtype}{threads}", []
            ).append(r)
    unit = "ns per element (lower is faster)"
    titles = {"numpy": f"NumPy forward: {unit}"}
    titles["torch"] = f"torch forward+backward: {unit}\ntv: {tv_label}"
    shown = [(titles[group], lines) for group, lines in panels.items() if lines]
    if not shown:
        return False
    fig, axes = plt.subplots(len(shown), 1, figsize=(11, 6.2 * len(shown)), squeeze=False)
    for ax, (title, lines) in zip(axes[:, 0], shown, strict=True):
        for i, (label, points) in enumerate(lines.items()):
            ns = [2**p.log2n for p in points]
            style = "--" if label.endswith("2 threads") else "-"  # dashed: two threads
            per_element = [(p.seconds or 0) / n * 1e9 for p, n in zip(points, ns, strict=True)]
            marker, colour = "os^vDPX*h<>p"[i % 12], f"C{i % 10}"
            ax.plot(ns, per_element, style, marker=marker, color=colour, label=label)
        ax.set(yscale="log", xlabel="N (elements)", ylabel="ns per element", title=title)
        ax.set_xscale("log", base=2)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return True
