"""Forward+backward time of the torch path against torchvision's ``sigmoid_focal_loss`` op sequence.

Standalone:

    python benchmarks/torch_speed.py [--threads 1 2] [--repeats 15] [--no-compile]

For each size (2**12 ... 2**24 elements, and the seed's 2x3), float32, reduction 'sum', ``logit``
requiring grad: our eager call, our call under ``torch.compile(fullgraph=True)``, and torchvision 0.29's
op sequence, eager and compiled (the real ``torchvision.ops.sigmoid_focal_loss`` when torchvision
imports, its exact op sequence otherwise; they run the same operations). Timings are medians of
alternating repeats in one process; each figure is printed as "ours is N x faster" (N = their time /
our time, the median of the per-round ratios; N < 1 means we are slower). Also prints the memory held between forward and backward.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable

import torch

import paddlefocal.nn.functional as F
from paddlefocal._cli.bench._measure import torchvision_loss
from paddlefocal._cli.timing import compare

SIZES: list[tuple[str, tuple[int, ...]]] = [
    ("seed 2x3", (2, 3)),
    *[(f"2**{k}", (2**k,)) for k in (12, 16, 20, 22, 24)],
]


def _torchvision() -> tuple[Callable[..., torch.Tensor], str]:
    """torchvision's loss, or its op sequence (the harness's one copy) where it does not import."""
    what, loss = torchvision_loss(torch)
    return loss, what


def ours(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.sigmoid_focal_loss(x, y, alpha=0.25, gamma=2.0, reduction="sum")


def _inputs(shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(shape, generator=g) * 3.0).requires_grad_()
    y = (torch.rand(shape, generator=g) < 0.1).float()
    return x, y


def measure(
    fns: dict[str, Callable[..., torch.Tensor]], shape: tuple[int, ...], repeats: int
) -> dict[str, float]:
    """Per function, the median over rounds of its time relative to torchvision's ("tv") in that round.

    The rounds alternate (the harness's timer), so a slow spell of a shared machine hits all alike;
    the median of the per-round ratios is then steadier than a ratio of medians. "tv" itself maps to
    its median time in seconds.
    """
    x, y = _inputs(shape)

    def step(fn: Callable[..., torch.Tensor]) -> Callable[[], None]:
        def run() -> None:
            fn(x, y).backward()
            x.grad = None

        return run

    times = compare({k: step(fn) for k, fn in fns.items()}, 0.0, rounds=(repeats, repeats))
    result = {k: t.median for k, t in times.items()}

    def ratio(partner: str, name: str) -> float:
        pairs = zip(times[partner].samples, times[name].samples, strict=True)
        return statistics.median(t / o for t, o in pairs)

    for name in fns:
        partner = "tv compiled" if name == "ours compiled" else "tv"
        result[f"{partner} / {name}"] = ratio(partner, name)
    if "ours compiled" in fns:
        result["tv / ours compiled"] = ratio("tv", "ours compiled")
    return result


def held_between_forward_and_backward(fn: Callable[..., torch.Tensor], n: int) -> float:
    """Bytes that autograd holds for the backward, in units of the logit's bytes (CPU allocator)."""
    x, y = _inputs((n,))
    saved: list[torch.Tensor] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(x, y)
    inputs = {x.untyped_storage().data_ptr(), y.untyped_storage().data_ptr()}
    storages = {}
    for t in saved:
        ptr = t.untyped_storage().data_ptr()
        if ptr not in inputs:
            storages[ptr] = t.untyped_storage().nbytes()
    del out
    return sum(storages.values()) / (x.numel() * x.element_size())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--sizes", nargs="+", help="only these rows (e.g. 'seed 2x3' 2**12)")
    args = parser.parse_args(argv)
    theirs, what = _torchvision()
    print(f"torch {torch.__version__}; against {what}; float32, 'sum', logit requires grad")
    fns: dict[str, Callable[..., torch.Tensor]] = {"ours": ours, "tv": theirs}
    if not args.no_compile:
        # One graph per size (dynamic=False), for each thread count: more than the default 8.
        torch._dynamo.config.recompile_limit = 64
        ours(*_inputs((2, 3)))  # the front-end's first call (registry plug-ins) runs eagerly
        fns["ours compiled"] = torch.compile(ours, fullgraph=True, dynamic=False)
        fns["tv compiled"] = torch.compile(theirs, fullgraph=True, dynamic=False)
    for threads in args.threads:
        torch.set_num_threads(threads)
        print(f"\n{threads} thread(s): ours is N x faster (their time / our time)")
        header = "| size | eager vs tv eager | ours eager us |"
        if not args.no_compile:
            header += " compiled vs tv eager | compiled vs tv compiled | ours compiled us |"
        print(header)
        print("|" + " --- |" * (header.count("|") - 1))
        for label, shape in SIZES:
            if args.sizes and label not in args.sizes:
                continue
            t = measure(fns, shape, args.repeats)
            row = f"| {label} | {t['tv / ours']:.2f} | {t['ours'] * 1e6:.1f} |"
            if not args.no_compile:
                row += (
                    f" {t['tv / ours compiled']:.2f} |"
                    f" {t['tv compiled / ours compiled']:.2f} |"
                    f" {t['ours compiled'] * 1e6:.1f} |"
                )
            print(row, flush=True)
    n = 2**20
    print(
        f"\nheld between forward and backward at 2**20, in logit bytes: ours "
        f"{held_between_forward_and_backward(ours, n):.2f}, tv "
        f"{held_between_forward_and_backward(theirs, n):.2f}"
    )


if __name__ == "__main__":
    main()
