"""torch's memory per call, measured in a fresh interpreter: ``python -m paddlefocal._cli.bench._memory``.

glibc serves a block from its heap whenever a freed one fits, without touching the resident set, so in a
process that has already run (the timings) a resident-set peak reads about 0 below 32 MiB. A fresh
process that first tells glibc to map every block of 64 KiB or more on its own sees each allocation.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from ._rows import Measurement


def measure(row: Measurement) -> None:
    """Fill ``row.peak_mib`` and ``row.held_mib`` for its torch path, size and dtype."""
    args = [
        sys.executable,
        "-m",
        "paddlefocal._cli.bench._memory",
        row.path,
        str(row.log2n),
        row.dtype,
    ]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, OSError, ValueError, IndexError) as exc:
        row.note = f"memory not measured: {type(exc).__name__}"
        return
    row.memory_method = "fresh rss"
    row.peak_mib, row.held_mib = figures["peak_mib"], figures["held_mib"]


def _child(path: str, log2n: int, dtype: str) -> dict[str, Any]:
    import ctypes
    import gc

    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, 64 * 1024)  # M_MMAP_THRESHOLD, fixed
    except (OSError, AttributeError):
        pass
    import torch

    from . import _torch
    from ._timing import rss_bytes, rss_peak_mib

    torch.set_num_threads(1)
    fn = _torch._ours if path == _torch.OURS else _torch.torchvision_loss(torch)[1]
    x, y = _torch._inputs(torch, log2n, dtype)
    _torch._fwd_bwd(fn, x, y)  # warm-up: lazy imports and one-time buffers
    x.grad = None
    peak = rss_peak_mib(lambda: _torch._fwd_bwd(fn, x, y))
    x.grad = None
    gc.collect()
    before = rss_bytes()
    kept = fn(x, y)  # the graph and what it saved stay alive until backward
    held = (rss_bytes() - before) / 2**20
    del kept
    return {"peak_mib": peak, "held_mib": held}


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], int(sys.argv[2]), sys.argv[3])))
