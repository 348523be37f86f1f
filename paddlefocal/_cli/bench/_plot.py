"""The benchmark's figure: one full-width panel per question, each with a legend below it."""

from __future__ import annotations

import itertools
from typing import Any

from ._rows import SEED, Measurement

_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "h", "<", ">", "p")


def _series(ax: Any, groups: dict[str, list[Measurement]], ylabel: str, title: str) -> None:
    colours = [f"C{i}" for i in range(10)]  # the default cycle, tab10: ten distinct colours
    for (label, points), colour, marker in zip(
        groups.items(), itertools.cycle(colours), itertools.cycle(_MARKERS), strict=False
    ):
        points = sorted((p for p in points if p.seconds), key=lambda p: p.log2n)
        ns = [2**p.log2n for p in points]
        per_element = [p.seconds / 2**p.log2n * 1e9 for p in points if p.seconds]
        style = "--" if label.endswith("2 threads") else "-"
        ax.plot(ns, per_element, style, marker=marker, color=colour, label=label, linewidth=1.5)
    ax.set(xscale="log", yscale="log", xlabel="N (elements)", ylabel=ylabel, title=title)
    ax.set_xscale("log", base=2)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)


def plot(rows: list[Measurement], tv_label: str, path: str) -> bool:
    """Write the PNG; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    sized = [r for r in rows if r.log2n != SEED and r.seconds]
    numpy_groups: dict[str, list[Measurement]] = {}
    torch_groups: dict[str, list[Measurement]] = {}
    for r in sized:
        if r.group == "numpy":
            numpy_groups.setdefault(f"{r.path}, {r.dtype}", []).append(r)
        elif r.group == "torch":
            name = r.path.replace("torchvision", "tv")
            torch_groups.setdefault(
                f"{name}, {r.dtype}, {r.threads} thread{'s' * (r.threads != 1)}", []
            ).append(r)
    panels = [g for g in (numpy_groups, torch_groups) if g]
    if not panels:
        return False
    plt.rcParams.update({"font.size": 12})
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 6.2 * len(panels)), squeeze=False)
    titles = iter(
        [
            ("NumPy forward: ns per element (lower is faster)", numpy_groups),
            (
                f"torch forward+backward: ns per element (lower is faster)\ntv: {tv_label}",
                torch_groups,
            ),
        ]
    )
    for ax in axes[:, 0]:
        title, groups = next(t for t in titles if t[1])
        _series(ax, groups, "ns per element", title)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return True
