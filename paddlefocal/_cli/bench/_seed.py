"""Per call on Paddle's documented 2x3 example: the front-end's checks beside the whole call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..._libraries import by_name
from ..._loss import sigmoid_focal_loss
from ..._validation import validate
from ..info import installed, quiet_imports
from ._rows import ALPHA, GAMMA, SEED, Measurement
from ._timing import compare

WHOLE, CHECKS = "whole call", "front-end checks"
#: The libraries whose per-call cost the issue tracks (NumPy, torch); Paddle's own call beside them.
_LIBRARIES = ("numpy", "torch")


def _calls(logit: Any, label: Any, fg_num: Any) -> dict[str, Callable[[], Any]]:
    return {
        WHOLE: lambda: sigmoid_focal_loss(logit, label, fg_num, ALPHA, GAMMA, "sum"),
        CHECKS: lambda: validate(logit, label, fg_num, ALPHA, GAMMA, "sum"),
    }


def measure(budget: float, with_paddle: bool) -> list[Measurement]:
    """Whole call and ``validate`` alone, per library, timed alternately; Paddle's whole call."""
    from ..demo import seed_arrays

    rows = []
    for name in _LIBRARIES:
        library = by_name(name)
        if not installed(library):
            continue
        logit, label, fg_num = seed_arrays(library, "cpu")
        times = compare(_calls(logit, label, fg_num), budget)
        rows += [
            Measurement.timed("split", f"{name} {k}", SEED, "float32", t) for k, t in times.items()
        ]
    if with_paddle and installed(by_name("paddle")):
        with quiet_imports():
            import paddle.nn.functional as PF
        logit, label, fg_num = seed_arrays(by_name("paddle"), "cpu")
        times = compare({"": lambda: PF.sigmoid_focal_loss(logit, label, fg_num)}, budget)
        rows.append(Measurement.timed("split", f"Paddle {WHOLE}", SEED, "float32", times[""]))
    return rows
