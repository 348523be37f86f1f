"""The command line: ``paddlefocal`` and ``python -m paddlefocal``.

Every argument and output path is checked before any work; a user error is one line on stderr and exit
status 2, with nothing written.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence

import numpy as np

from .. import __version__, _libraries
from .._libraries import Library, by_name
from .facts import facts
from .files import (
    CliError,
    check_float,
    check_out_file,
    normalizer_argument,
    read_array,
    write_array,
)
from .info import install_hint, installed, quiet_imports

DESCRIPTION = """\
Paddle's sigmoid_focal_loss for NumPy, torch, JAX, Dask and any Array API library.

Without a command, runs Paddle's documented example on every installed library and prints the value
(0.65782464 in float32) with the time per call."""


def _names() -> list[str]:
    """The table's library names (read at call time: the table is the only list)."""
    return [library.name for library in _libraries.LIBRARIES]


PLUGIN_NOTE = 'add a library of your own: a plug-in, see "Plug-ins" in docs/backends.md'
#: The largest bench size: 2**30 float64 elements are 8 GiB per input, and the naive sequences the bench
#: runs beside ours hold several arrays of that size.
MAX_LOG2N = 30
#: Where ``bench`` writes unless told: the temporary folder, never a folder of the working directory.
DEFAULT_OUT = os.path.join(tempfile.gettempdir(), "paddlefocal-bench")
#: Options whose value may be a negative number: argparse reads ``-5e-1`` as an option otherwise.
_NUMBER_OPTIONS = ("--alpha", "--gamma", "--normalizer", "--budget")


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every default; options without one say what their absence means in their help."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or isinstance(action, argparse._StoreTrueAction):
            return action.help
        return super()._get_help_string(action)


class _MainFormatter(_Formatter, argparse.RawDescriptionHelpFormatter):
    """The top-level description keeps its line breaks."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paddlefocal", description=DESCRIPTION, formatter_class=_MainFormatter
    )
    parser.add_argument("--version", action="version", version=f"paddlefocal {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "demo",
        help="the documented example on every installed library (default)",
        description="Run Paddle's documented 2x3 example on every installed array library and device; "
        "print each value (0.65782464 in float32) with the time per call, then how to install the "
        "missing libraries.",
        formatter_class=_Formatter,
    )

    compute = commands.add_parser(
        "compute",
        help="the loss of arrays stored in .npy/.npz files",
        description="Compute the loss of logits and labels read from .npy or .npz files (an .npz "
        "must hold exactly one array). Prints the result, or writes it as .npy with --out.",
        formatter_class=_Formatter,
    )
    compute.add_argument("--logit", required=True, metavar="FILE", help="logits (.npy/.npz)")
    compute.add_argument("--label", required=True, metavar="FILE", help="labels (.npy/.npz)")
    compute.add_argument(
        "--normalizer",
        metavar="NUMBER|FILE",
        help="a number, or a .npy/.npz file of shape [] or [1] (default: none, no division)",
    )
    compute.add_argument("--alpha", type=float, default=0.25, help="weight of the positives")
    compute.add_argument("--gamma", type=float, default=2.0, help="focusing exponent")
    compute.add_argument(
        "--reduction",
        choices=("sum", "mean", "none"),
        default="sum",
        help="how the per-element losses are combined",
    )
    compute.add_argument(
        "--backend",
        default="numpy",
        metavar="{" + ",".join(_names()) + "}",
        help="the array library to compute with, on the cpu",
    )
    compute.add_argument(
        "--out",
        metavar="FILE",
        help="write the result as .npy to exactly this file name (default: print it)",
    )

    commands.add_parser(
        "backends",
        help="which path serves each library, and how to install the missing ones",
        description="List every array library paddlefocal knows: for installed ones the version, the "
        "path that serves its arrays and its devices; for missing ones the command that installs it.",
        formatter_class=_Formatter,
    )

    bench = commands.add_parser(
        "bench",
        help="side-by-side benchmark: NumPy against its floor, torch against torchvision, per call",
        description="Time our paths beside one exp and one log pass, the naive op sequence, "
        "torchvision's and Paddle's, for N = 2**min .. 2**max and on the documented 2x3 example; "
        "prints tables of ratios and writes bench.json, bench.md (the tables) and bench.png.",
        formatter_class=_Formatter,
    )
    bench.add_argument("--min-log2n", type=int, default=10, help="smallest size, log2")
    bench.add_argument(
        "--max-log2n", type=int, default=24, help=f"largest size, log2 (at most {MAX_LOG2N})"
    )
    bench.add_argument("--step", type=int, default=2, help="log2 step between sizes")
    bench.add_argument(
        "--dtype",
        action="append",
        choices=("float32", "float64"),
        help="repeatable (default: float32)",
    )
    bench.add_argument(
        "--budget", type=float, default=1.0, help="seconds of repeats per measurement"
    )
    bench.add_argument("--no-paddle", action="store_true", help="leave Paddle out")
    bench.add_argument(
        "--no-compile",
        action="store_true",
        help="leave torch.compile out (it compiles for seconds)",
    )
    bench.add_argument(
        "--out", default=DEFAULT_OUT, help="folder for bench.json, bench.md, bench.png"
    )
    return parser


def _library(name: str) -> Library:
    """The table's entry for ``--backend``, installed."""
    try:
        library = by_name(name)
    except ValueError:
        raise CliError(
            f"--backend: unknown backend {name!r}; choose one of {', '.join(_names())}"
        ) from None
    if not installed(library):
        raise CliError(f"--backend {name}: the library is not installed ({install_hint(library)})")
    return library


def _compute(args: argparse.Namespace) -> int:
    from .._loss import sigmoid_focal_loss
    from .demo import format_value

    library = _library(args.backend)
    if args.out is not None:
        check_out_file(args.out)
    logit = read_array(args.logit, "--logit")
    label = read_array(args.label, "--label")
    normalizer = normalizer_argument(args.normalizer)
    check_float(logit, "--logit", args.logit)
    check_float(label, "--label", args.label)
    if isinstance(normalizer, float):
        normalizer = np.asarray(normalizer, logit.dtype)
    elif normalizer is not None:
        check_float(normalizer, "--normalizer", args.normalizer)
    convert = facts(library)
    with quiet_imports():
        x, y = convert.from_numpy(logit, "cpu"), convert.from_numpy(label, "cpu")
        norm = None if normalizer is None else convert.from_numpy(normalizer, "cpu")
    try:
        result = sigmoid_focal_loss(x, y, norm, args.alpha, args.gamma, args.reduction)
    except (TypeError, ValueError) as exc:
        raise CliError(" ".join(str(exc).split())) from None
    value = convert.to_numpy(result)
    if args.out is not None:
        write_array(args.out, value)
    else:
        print(format_value(value))
    return 0


def _missing_lines(names: list[str]) -> list[str]:
    """For each library of the table that is not installed, how to install it; then the plug-in line."""
    lines = [f"not installed: {name} ({install_hint(by_name(name))})" for name in names]
    return [*lines, PLUGIN_NOTE]


def _backends() -> int:
    from .demo import format_table
    from .info import info

    rows = info()
    body = [
        (row["library"], row["version"], row["path"], ", ".join(row["devices"]))
        for row in rows
        if row["installed"]
    ]
    print(format_table(("library", "version", "path", "devices"), body))
    print("\n".join(_missing_lines([row["library"] for row in rows if not row["installed"]])))
    return 0


def _demo() -> int:
    from .demo import format_rows, run_seed_example

    print("paddle.nn.functional.sigmoid_focal_loss documented example, expected 0.65782464")
    print(format_rows(run_seed_example()))
    print(
        "\n".join(_missing_lines([lib.name for lib in _libraries.LIBRARIES if not installed(lib)]))
    )
    return 0


def _numbers_joined(argv: Sequence[str]) -> list[str]:
    """``--gamma -5e-1`` as ``--gamma=-5e-1``: argparse takes only ``-0.5``-like values after an option."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in _NUMBER_OPTIONS and arg.startswith("-") and _is_number(arg):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    A reader that has gone (``paddlefocal | head -n 1``) ends the run quietly with status 141, as a
    process killed by SIGPIPE would; an output that cannot be written at all fails with a message.
    """
    args = _parser().parse_args(_numbers_joined(sys.argv[1:] if argv is None else argv))
    prints = not (args.command == "compute" and args.out is not None)
    if prints and sys.stdout is None:
        print(
            "paddlefocal: error: standard output is closed; nothing could be printed",
            file=sys.stderr,
        )
        return 2
    try:
        status = _run(args)
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        # Python's advice: point stdout at devnull so the flush at exit raises nothing more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as exc:
        print(
            f"paddlefocal: error: cannot write the output: {exc.strerror or exc}", file=sys.stderr
        )
        return 1
    return status


def _run(args: argparse.Namespace) -> int:
    try:
        if args.command in (None, "demo"):
            return _demo()
        if args.command == "compute":
            return _compute(args)
        if args.command == "bench":
            from .bench import options, run

            run(**options(args, MAX_LOG2N))
            return 0
        return _backends()
    except CliError as exc:
        print(f"paddlefocal: error: {exc}", file=sys.stderr)
        return 2
