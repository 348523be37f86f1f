"""What the front-end's checks cost per call: ``python benchmarks/validation_cost.py``.

On the seed example of Paddle's documentation (a 2x3 float32 logit and label, a 0-D normalizer, the
default alpha, gamma and reduction), for NumPy and torch (when installed): the median time of the checks
alone (``paddlefocal._validation.validate``) and of the whole call (``sigmoid_focal_loss``), measured in
alternating rounds in one process so that a noisy machine affects both alike.
"""

from __future__ import annotations

import sys
from typing import Any

import paddlefocal
from paddlefocal._cli.demo import seed_arrays
from paddlefocal._cli.info import installed
from paddlefocal._cli.timing import compare
from paddlefocal._libraries import by_name
from paddlefocal._validation import validate


def measure(arrays: tuple[Any, Any, Any], budget: float = 1.0) -> tuple[float, float]:
    """Median microseconds per call of (the checks, the whole call), in alternating rounds."""
    logit, label, normalizer = arrays
    times = compare(
        {
            "checks": lambda: validate(logit, label, normalizer, 0.25, 2.0, "sum"),
            "whole": lambda: paddlefocal.sigmoid_focal_loss(logit, label, normalizer),
        },
        budget,
    )
    return times["checks"].median * 1e6, times["whole"].median * 1e6


def main() -> int:
    names = [name for name in ("numpy", "torch") if installed(by_name(name))]
    rows = [(name, seed_arrays(by_name(name), "cpu")) for name in names]
    print("per call on the seed's 2x3 (float32, 0-D normalizer), medians of alternating rounds")
    print(f"{'library':8} {'checks (us)':>12} {'whole call (us)':>16} {'checks share':>13}")
    for name, arrays in rows:
        checks, whole = measure(arrays)
        print(f"{name:8} {checks:12.2f} {whole:16.2f} {checks / whole:13.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
