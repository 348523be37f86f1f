"""The command line: ``paddlefocal`` and ``python -m paddlefocal``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import __version__
from ._info import installed
from ._libraries import LIBRARIES, Library, by_name

DESCRIPTION = """\
Paddle's sigmoid_focal_loss for NumPy, torch, JAX, Dask and any Array API library.

Without a command, runs Paddle's documented example on every installed library and prints the value
(0.65782464 in float32) with the time per call."""


BACKENDS = tuple(library.name for library in LIBRARIES)


class CliError(Exception):
    """A user error: printed as one line on stderr, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paddlefocal",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"paddlefocal {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("demo", help="the documented example on every installed library (default)")

    compute = commands.add_parser(
        "compute",
        help="the loss of arrays stored in .npy/.npz files",
        description="Compute the loss of logits and labels read from .npy or .npz files (an .npz "
        "must hold exactly one array). Prints the result, or writes it as .npy with --out.",
    )
    compute.add_argument("--logit", required=True, metavar="FILE", help="logits (.npy/.npz)")
    compute.add_argument("--label", required=True, metavar="FILE", help="labels (.npy/.npz)")
    compute.add_argument(
        "--normalizer",
        metavar="NUMBER|FILE",
        help="a number, or a .npy/.npz file of shape [] or [1]",
    )
    compute.add_argument("--alpha", type=float, default=0.25, help="default: 0.25")
    compute.add_argument("--gamma", type=float, default=2.0, help="default: 2.0")
    compute.add_argument("--reduction", choices=("sum", "mean", "none"), default="sum")
    compute.add_argument(
        "--backend",
        default="numpy",
        metavar="{" + ",".join(BACKENDS) + "}",
        help="the array library to compute with (default: numpy)",
    )
    compute.add_argument("--out", metavar="FILE", help="write the result to this .npy file")

    commands.add_parser("backends", help="which path serves each installed library")

    bench = commands.add_parser(
        "bench",
        help="side-by-side benchmark against the naive op sequence, torchvision and Paddle",
        description="Time and measure memory of our paths beside the naive op sequence, torchvision's "
        "and Paddle's, for N = 2**min .. 2**max; prints a table with ratios and writes JSON and a PNG.",
    )
    bench.add_argument("--min-log2n", type=int, default=10, help="smallest size, log2 (default 10)")
    bench.add_argument("--max-log2n", type=int, default=24, help="largest size, log2 (default 24)")
    bench.add_argument("--step", type=int, default=2, help="log2 step between sizes (default 2)")
    bench.add_argument(
        "--dtype", action="append", choices=("float32", "float64"), help="repeatable; default both"
    )
    bench.add_argument(
        "--budget", type=float, default=1.0, help="seconds of repeats per measurement"
    )
    bench.add_argument("--no-paddle", action="store_true", help="leave Paddle out")
    bench.add_argument(
        "--out", default="benchmarks/results", help="folder for bench.json, bench.png"
    )
    return parser


def _load(path: str, what: str) -> np.ndarray:
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise CliError(f"{what}: no such file: {path}") from None
    except (OSError, ValueError) as exc:
        raise CliError(f"{what}: {path} is not a .npy or .npz array file ({exc})") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            names = list(loaded.files)
            if len(names) != 1:
                raise CliError(
                    f"{what}: {path} must hold exactly one array, but holds {len(names)}"
                )
            return np.asarray(loaded[names[0]])
    return np.asarray(loaded)


def _normalizer(text: str | None, dtype: Any) -> np.ndarray | None:
    if text is None:
        return None
    try:
        return np.asarray(float(text), dtype=dtype)
    except ValueError:
        return _load(text, "--normalizer")


def _library(name: str) -> Library:
    """The table's entry for ``--backend``, installed."""
    try:
        library = by_name(name)
    except ValueError:
        raise CliError(
            f"--backend: unknown backend {name!r}; choose one of {', '.join(BACKENDS)}"
        ) from None
    if not installed(library):
        hint = (
            f'pip install "paddlefocal[{library.extra}]"'
            if library.extra
            else f"pip install {library.module}"
        )
        raise CliError(f"--backend {name}: the library is not installed ({hint})")
    return library


def _compute(args: argparse.Namespace) -> int:
    from ._loss import sigmoid_focal_loss

    logit = _load(args.logit, "--logit")
    label = _load(args.label, "--label")
    normalizer = _normalizer(args.normalizer, logit.dtype)
    library = _library(args.backend)
    arrays = [library.from_numpy(a, "cpu") for a in (logit, label)]
    norm = None if normalizer is None else library.from_numpy(normalizer, "cpu")
    try:
        result = sigmoid_focal_loss(
            arrays[0], arrays[1], norm, args.alpha, args.gamma, args.reduction
        )
    except (TypeError, ValueError) as exc:
        raise CliError(str(exc)) from None
    value = library.to_numpy(result)
    if args.out:
        try:
            np.save(args.out, value)
        except OSError as exc:
            raise CliError(f"--out: cannot write {args.out}: {exc.strerror or exc}") from None
    else:
        print(np.array2string(value, precision=8) if value.ndim else f"{float(value):.8g}")
    return 0


def _backends() -> int:
    from ._info import info

    rows = [row for row in info() if row["installed"]]
    print(f"{'library':<18} {'version':<14} {'path':<10} devices")
    for row in rows:
        devices = ", ".join(row["devices"])
        print(f"{row['library']:<18} {row['version']:<14} {row['path']:<10} {devices}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command in (None, "demo"):
            from ._demo import format_rows, run_seed_example

            print("paddle.nn.functional.sigmoid_focal_loss documented example, expected 0.65782464")
            print(format_rows(run_seed_example()))
            return 0
        if args.command == "compute":
            return _compute(args)
        if args.command == "bench":
            from ._bench import run

            sizes = list(range(args.min_log2n, args.max_log2n + 1, max(args.step, 1)))
            if not sizes:
                raise CliError("bench: --min-log2n must not exceed --max-log2n")
            run(
                sizes,
                args.dtype or ["float32", "float64"],
                args.out,
                args.budget,
                not args.no_paddle,
            )
            return 0
        return _backends()
    except CliError as exc:
        print(f"paddlefocal: error: {exc}", file=sys.stderr)
        return 2
