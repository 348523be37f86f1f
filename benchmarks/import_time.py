"""What importing paddlefocal costs on top of NumPy: ``python benchmarks/import_time.py``.

Each measurement is a fresh interpreter (``python -X importtime`` would show the breakdown); the
median of 15 alternating runs of ``import numpy`` and of ``import numpy, paddlefocal`` are compared.
"""

from __future__ import annotations

import subprocess
import sys

from paddlefocal._cli.timing import compare

CODE = {
    "base": "import numpy",
    "ours": "import numpy, paddlefocal",
    "call": "import numpy as np, paddlefocal; paddlefocal.sigmoid_focal_loss(np.zeros(3), np.ones(3))",
}


def main() -> int:
    runs = {
        name: (lambda code=code: subprocess.run([sys.executable, "-c", code], check=True))
        for name, code in CODE.items()
    }
    times = compare(runs, 0.0, rounds=(15, 15))
    base, ours, call = (times[name].median for name in CODE)
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
