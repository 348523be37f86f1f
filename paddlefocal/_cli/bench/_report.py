"""The benchmark's tables: as aligned text for the terminal and as Markdown for the Performance page.

Every speed ratio reads one way, "ours is N x faster than X" (X's time over ours; below 1 we are slower).
The one exception is named as what it is: NumPy's time over its exp+log floor, lower is better.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ._numpy import FLOOR, NAIVE, OURS, PADDLE, REFERENCE
from ._rows import MEMORY_MIN_LOG2N, SEED, Measurement
from ._seed import CHECKS, WHOLE
from ._timing import WIDE_SPREAD
from ._torch import OURS_COMPILED, TV, TV_COMPILED

#: Marks a row whose spread is too wide to trust.
FLAG = "!"
SPREAD_NOTE = (
    f"spread: the widest max/min over the repeats of the row's measurements; {FLAG} above "
    f"{WIDE_SPREAD} (a busy machine: do not trust that row's ratios)."
)


@dataclass
class Table:
    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _size(log2n: int) -> str:
    return "2x3 seed" if log2n == SEED else f"2**{log2n}"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.3g}"


def _us(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e6:.1f}"


def _ratio(numerator: float | None, denominator: float | None) -> str:
    # Three significant digits: a ratio far below 1 stays readable (0.0042, never 0.00).
    return "-" if not numerator or not denominator else f"{numerator / denominator:.3g}"


def _pick(rows: list[Measurement], **match: object) -> dict[str, Measurement]:
    chosen = (r for r in rows if all(getattr(r, k) == v for k, v in match.items()))
    return {r.path: r for r in chosen}


def _spread(measurements: Iterable[Measurement]) -> str:
    spreads = [m.spread for m in measurements if m.spread is not None]
    if not spreads:
        return "-"
    widest = max(spreads)
    return f"{widest:.2f}" + (f" {FLAG}" if widest > WIDE_SPREAD else "")


def flagged(tables: list[Table]) -> int:
    """How many rows of the tables are marked as too spread to trust."""
    return sum(row[-1].endswith(FLAG) for t in tables if "spread" in t.header for row in t.rows)


def _seconds(by: dict[str, Measurement], path: str) -> float | None:
    return by[path].seconds if path in by else None


def numpy_table(rows: list[Measurement], dtype: str) -> Table:
    table = Table(
        f"NumPy forward, {dtype}, reduction 'sum'",
        (
            *("N", "ours ms", "floor ms", "ours / floor"),
            *("vs naive NumPy", "vs reference", "vs Paddle", "spread"),
        ),
        notes=[
            SPREAD_NOTE,
            "ours / floor: our time over one np.exp plus one np.log pass (lower is better).",
            "vs X: ours is N x faster than X (X's time / ours; below 1, ours is slower).",
        ],
    )
    for log2n in sorted({r.log2n for r in rows if r.group == "numpy" and r.dtype == dtype}):
        by = _pick(rows, group="numpy", dtype=dtype, log2n=log2n)
        ours = _seconds(by, OURS)
        table.rows.append(
            (
                _size(log2n),
                _ms(ours),
                _ms(_seconds(by, FLOOR)),
                _ratio(ours, _seconds(by, FLOOR)),
                *(_ratio(_seconds(by, other), ours) for other in (NAIVE, REFERENCE, PADDLE)),
                _spread(by.values()),
            )
        )
    return table


def split_table(rows: list[Measurement]) -> Table:
    table = Table(
        "Per call on Paddle's 2x3 example, float32, normalizer given",
        ("library", "whole call us", "front-end checks us", "the rest us", "spread"),
        notes=[
            SPREAD_NOTE,
            "front-end checks: `paddlefocal._validation.validate` alone; the rest: dispatch and kernel.",
        ],
    )
    by = _pick(rows, group="split")
    for name in dict.fromkeys(r.path.rsplit(" ", 2)[0] for r in by.values()):
        whole, checks = _seconds(by, f"{name} {WHOLE}"), _seconds(by, f"{name} {CHECKS}")
        rest = None if whole is None or checks is None else whole - checks
        mine = [m for path, m in by.items() if path.startswith(f"{name} ")]
        table.rows.append((name, _us(whole), _us(checks), _us(rest), _spread(mine)))
    return table


def torch_table(rows: list[Measurement], dtype: str, threads: int, tv_label: str) -> Table:
    table = Table(
        f"torch forward+backward, {dtype}, reduction 'sum', {threads} thread{'s' * (threads > 1)}",
        (
            *("N", "ours ms", "tv ms", "eager vs tv", "compiled ms"),
            *("compiled vs tv", "vs tv compiled", "spread"),
        ),
        notes=[
            SPREAD_NOTE,
            f"tv: {tv_label}, eager.",
            "tv compiled: the same under `torch.compile`.",
            "vs X: ours is N x faster than X (X's time / ours; below 1, ours is slower).",
        ],
    )
    chosen = [r for r in rows if r.group == "torch" and r.dtype == dtype and r.threads == threads]
    for log2n in sorted({r.log2n for r in chosen}):
        by = _pick(chosen, log2n=log2n)
        ours, tv = _seconds(by, OURS), _seconds(by, TV)
        compiled, tv_compiled = _seconds(by, OURS_COMPILED), _seconds(by, TV_COMPILED)
        table.rows.append(
            (
                _size(log2n),
                _ms(ours),
                _ms(tv),
                _ratio(tv, ours),
                _ms(compiled),
                _ratio(tv, compiled),
                _ratio(tv_compiled, compiled),
                _spread(by.values()),
            )
        )
    for path in (OURS_COMPILED, TV_COMPILED):
        note = next((r.note for r in chosen if r.path == path and r.note), "")
        if note:
            table.notes.append(f"{path}: {note}")
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
    for r in rows:
        if r.peak_mib is None:
            continue
        logit_mib = 2**r.log2n * np.dtype(r.dtype).itemsize / 2**20
        held = "-" if r.held_mib is None else f"{r.held_mib / logit_mib:.2f}"
        path = r.path if r.group == "numpy" else f"torch {r.path}"
        table.rows.append(
            (
                _size(r.log2n),
                r.dtype,
                path,
                f"{r.peak_mib:.1f}",
                f"{r.peak_mib / logit_mib:.2f}",
                held,
                r.memory_method,
            )
        )
    return table


def as_text(table: Table) -> str:
    from ..demo import format_table

    notes = [f"  {note}" for note in table.notes]
    body = format_table(table.header, table.rows).splitlines() if table.header else []
    return "\n".join([table.title, *("  " + line for line in body), *notes])


def as_markdown(table: Table) -> str:
    def cell(text: str) -> str:
        # Numbers such as 2**16 are code: Markdown would read the asterisks as bold.
        return f"`{text}`" if "*" in text else text

    lines = [f"**{table.title}**", ""]
    if table.header:
        lines.append("| " + " | ".join(table.header) + " |")
        lines.append("| " + " | ".join("---" for _ in table.header) + " |")
        lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in table.rows]
    return "\n".join([*lines, "", *(f"{note}  " for note in table.notes)]).rstrip()
