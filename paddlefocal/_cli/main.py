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
from . import files
from .facts import facts
from .files import CliError
from .info import install_hint, installed, quiet_imports

DESCRIPTION = """\
Paddle's sigmoid_focal_loss for NumPy, torch, JAX, Dask and any Array API library.

Without a command, runs Paddle's documented example on every installed library and prints the value
(0.65782464 in float32) with the time per call."""
PLUGIN_NOTE = 'add a library of your own: a plug-in, see "Plug-ins" in docs/backends.md'
#: The largest bench size: 2**30 float64 elements are 8 GiB per input, and the naive sequences the bench
#: runs beside ours hold several arrays of that size.
MAX_LOG2N = 30
#: Where ``bench`` writes unless told: the temporary folder, never a folder of the working directory.
DEFAULT_OUT = os.path.join(tempfile.gettempdir(), "paddlefocal-bench")
#: Options whose value may be a negative number: argparse reads ``-5e-1`` as an option otherwise.
_NUMBER_OPTIONS = ("--alpha", "--gamma", "--normalizer", "--budget")


def _names() -> list[str]:
    """The table's library names (read at call time: the table is the only list)."""
    return [library.name for library in _libraries.LIBRARIES]


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
        "paddlefocal", None, DESCRIPTION, formatter_class=_MainFormatter
    )
    parser.add_argument("--version", action="version", version=f"paddlefocal {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        add = commands.add_parser
        return add(name, help=summary, description=description, formatter_class=_Formatter)

    command(
        "demo",
        "the documented example on every installed library (default)",
        "Run Paddle's documented 2x3 example on every installed array library and device; print each "
        "value (0.65782464 in float32) with the time per call, then how to install the missing libraries.",
    )
    compute = command(
        "compute",
        "the loss of arrays stored in .npy/.npz files",
        "Compute the loss of logits and labels read from .npy or .npz files (an .npz must hold exactly "
        "one array). Prints the result, or writes it as .npy with --out.",
    )
    arg = compute.add_argument
    arg("--logit", required=True, metavar="FILE", help="logits (.npy/.npz)")
    arg("--label", required=True, metavar="FILE", help="labels (.npy/.npz)")
    normalizer = "a number, or a .npy/.npz file of shape [] or [1] (default: none, no division)"
    arg("--normalizer", metavar="NUMBER|FILE", help=normalizer)
    arg("--alpha", type=float, default=0.25, help="weight of the positives")
    arg("--gamma", type=float, default=2.0, help="focusing exponent")
    arg(
        "--reduction", choices=("sum", "mean", "none"), default="sum", help="how the losses combine"
    )
    names = "{" + ",".join(_names()) + "}"
    arg("--backend", default="numpy", metavar=names, help="the array library to use, on the cpu")
    arg(
        "--out",
        metavar="FILE",
        help="write the result as .npy to exactly this file (default: print)",
    )
    command(
        "backends",
        "which path serves each library, and how to install the missing ones",
        "List every array library paddlefocal knows: for installed ones the version, the path that "
        "serves its arrays and its devices; for missing ones the command that installs it.",
    )
    bench = command(
        "bench",
        "side-by-side benchmark: NumPy against its floor, torch against torchvision, per call",
        "Time our paths beside one exp and one log pass, the naive op sequence, torchvision's and "
        "Paddle's, for N = 2**min .. 2**max and on the documented 2x3 example; print tables of ratios "
        "with the spread of the repeats and write bench.json, bench.md (the tables) and bench.png.",
    )
    arg = bench.add_argument
    arg("--min-log2n", type=int, default=10, help="smallest size, log2")
    arg("--max-log2n", type=int, default=24, help=f"largest size, log2 (at most {MAX_LOG2N})")
    arg("--step", type=int, default=2, help="log2 step between sizes")
    dtypes = ("float32", "float64")
    arg("--dtype", action="append", choices=dtypes, help="repeatable (default: float32)")
    arg("--budget", type=float, default=1.0, help="seconds of repeats per measurement")
    arg("--no-paddle", action="store_true", help="leave Paddle out")
    arg("--no-compile", action="store_true", help="leave torch.compile out (seconds to compile)")
    arg("--out", default=DEFAULT_OUT, help="folder for bench.json, bench.md, bench.png")
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
        files.check_out_file(args.out)
    logit, label = files.read_array(args.logit, "--logit"), files.read_array(args.label, "--label")
    normalizer = files.normalizer_argument(args.normalizer)
    files.check_float(logit, "--logit", args.logit)
    files.check_float(label, "--label", args.label)
    if isinstance(normalizer, float):
        normalizer = np.asarray(normalizer, logit.dtype)
    elif normalizer is not None:
        files.check_float(normalizer, "--normalizer", args.normalizer)
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
        files.write_array(args.out, value)
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
    have = [r for r in rows if r["installed"]]
    body = [(r["library"], r["version"], r["path"], ", ".join(r["devices"])) for r in have]
    print(format_table(("library", "version", "path", "devices"), body))
    print("\n".join(_missing_lines([r["library"] for r in rows if not r["installed"]])))
    return 0


def _demo() -> int:
    from .demo import SEED_EXPECTED, format_table, run_seed_example

    print(f"paddle.nn.functional.sigmoid_focal_loss documented example, expected {SEED_EXPECTED}")
    print(format_table(("library", "device", "dtype", "value", "us/call"), run_seed_example()))
    missing = [library.name for library in _libraries.LIBRARIES if not installed(library)]
    print("\n".join(_missing_lines(missing)))
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
    if sys.stdout is None and not (args.command == "compute" and args.out is not None):
        return _error("standard output is closed; nothing could be printed", 2)
    try:
        status = _run(args)
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        # Python's advice: point stdout at devnull so the flush at exit raises nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:
        return _error(f"cannot write the output: {exc.strerror or exc}", 1)
    return status


def _run(args: argparse.Namespace) -> int:
    try:
        if args.command == "compute":
            return _compute(args)
        if args.command == "backends":
            return _backends()
        if args.command == "bench":
            from .bench import options, run

            run(**options(args, MAX_LOG2N))
            return 0
        return _demo()
    except CliError as exc:
        return _error(str(exc), 2)


def _error(message: str, status: int) -> int:
    """One line on stderr; the exit status."""
    print(f"paddlefocal: error: {message}", file=sys.stderr)
    return status
