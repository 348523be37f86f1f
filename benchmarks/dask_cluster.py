"""The loss of 2**28 lazily generated elements on a dask.distributed cluster of 2 worker processes.

    python benchmarks/dask_cluster.py [--log2n 28] [--memory-limit 1.5GiB]

The logits and labels are generated chunk by chunk on the workers (``8 sin(0.37 i)`` and
``cos(0.11 i) > 0.6``), so no process ever holds the whole array; the same formula in NumPy gives the
value to compare with. Prints the time, the throughput and each worker's peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from typing import Any

import numpy as np

import paddlefocal.nn.functional as F

CHUNK = 2**22


def inputs(xp: Any, n: int, **kwargs: Any) -> tuple[Any, Any]:
    """Deterministic logits and labels from the element index, in NumPy or dask.array."""
    i = xp.arange(n, dtype=np.float64, **kwargs)
    logit = (8.0 * xp.sin(0.37 * i)).astype(np.float32)
    label = (xp.cos(0.11 * i) > 0.6).astype(np.float32)
    return logit, label


def _peak_rss_mib() -> float:
    """This process's peak resident memory. VmHWM belongs to the address space and starts afresh at
    exec; ru_maxrss would carry over the parent's peak, which Linux keeps across fork and exec."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(log2n: int = 28, memory_limit: str = "1.5GiB") -> dict[str, Any]:
    import dask.array as da
    from distributed import Client, LocalCluster

    n = 2**log2n
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            memory_limit=memory_limit,
        ) as cluster,
        Client(cluster) as client,
    ):
        logit, label = inputs(da, n, chunks=CHUNK)
        loss = F.sigmoid_focal_loss(logit, label, reduction="mean")  # lazy: nothing runs yet
        start = time.perf_counter()
        value = float(loss.compute())
        seconds = time.perf_counter() - start
        peaks = client.run(_peak_rss_mib)
        restarts = sum(
            w.get("metrics", {}).get("restarts", 0)
            for w in client.scheduler_info()["workers"].values()
        )
    return {
        "n": n,
        "value": value,
        "seconds": seconds,
        "elements_per_second": n / seconds,
        "worker_peak_rss_mib": sorted(peaks.values()),
        "restarts": restarts,
    }


def numpy_value(log2n: int) -> float:
    logit, label = inputs(np, 2**log2n)
    return float(F.sigmoid_focal_loss(logit, label, reduction="mean"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log2n", type=int, default=28)
    parser.add_argument("--memory-limit", default="1.5GiB")
    parser.add_argument("--no-check", action="store_true", help="skip the NumPy comparison")
    args = parser.parse_args()
    result = run(args.log2n, args.memory_limit)
    print(
        f"2**{args.log2n} elements on 2 workers: {result['seconds']:.2f} s, "
        f"{result['elements_per_second'] / 1e6:.1f} M elements/s, "
        f"worker peak RSS {result['worker_peak_rss_mib']} MiB (limit {args.memory_limit}), "
        f"mean loss {result['value']:.9g}"
    )
    if not args.no_check:
        expected = numpy_value(args.log2n)
        print(
            f"NumPy on the same inputs: {expected:.9g} (relative difference "
            f"{abs(result['value'] - expected) / abs(expected):.2e})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
