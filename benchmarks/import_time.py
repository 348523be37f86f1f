"""What importing paddlefocal costs on top of NumPy: ``python benchmarks/import_time.py``.

Each measurement is a fresh interpreter (``python -X importtime`` would show the breakdown); the
median of 15 runs of ``import numpy`` and of ``import numpy, paddlefocal`` are compared.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def _median_seconds(code: str, runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    base = _median_seconds("import numpy")
    ours = _median_seconds("import numpy, paddlefocal")
    call = _median_seconds(
        "import numpy as np, paddlefocal; paddlefocal.sigmoid_focal_loss(np.zeros(3), np.ones(3))"
    )
    print(f"python -c 'import numpy':               {base * 1e3:7.1f} ms")
    print(
        f"python -c 'import numpy, paddlefocal':  {ours * 1e3:7.1f} ms  (+{(ours - base) * 1e3:.1f} ms)"
    )
    print(
        f"... and one call on NumPy arrays:        {call * 1e3:7.1f} ms  (+{(call - base) * 1e3:.1f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
