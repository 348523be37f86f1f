"""The command line's array files: ``numpy.load(..., allow_pickle=False)`` behind the checks that give
a clear one-line error (a ``CliError`` naming the argument, the file and what was expected)."""

from __future__ import annotations

import os
import stat
import tempfile
import warnings
from typing import Any

import numpy as np

#: What a .npy file and an .npz archive (a zip, or an empty one) start with.
_MAGIC = (b"\x93NUMPY", b"PK\x03\x04", b"PK\x05\x06")


class CliError(Exception):
    """A user error: printed as one line on stderr, exit status 2."""


def _reason(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _load(path: str, where: str) -> Any:
    """``numpy.load``'s one array of the file (an .npz member that is not .npy comes as bytes)."""
    loaded = np.load(path, allow_pickle=False)
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        if len(loaded.files) != 1:
            raise CliError(f"{where} must hold exactly one array, but holds {len(loaded.files)}")
        return loaded[loaded.files[0]]


def read_array(path: str, what: str) -> np.ndarray:
    """The one array stored in the .npy or .npz file ``path`` (``what``: its option), in native
    byte order; a ``CliError`` for anything else."""
    where = f"{what}: {path}"
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISREG(mode):  # only: a pipe would block the open
            with open(path, "rb") as stream:
                start = stream.read(6)
    except FileNotFoundError:
        raise CliError(f"{what}: no such file: {path}") from None
    except OSError as exc:
        raise CliError(f"{where} cannot be read: {exc.strerror or _reason(exc)}") from None
    if stat.S_ISDIR(mode):
        raise CliError(f"{where} is a directory, not a .npy or .npz file")
    if not stat.S_ISREG(mode):
        raise CliError(f"{where} is not a regular file (a device, pipe or socket)")
    if not start:
        raise CliError(f"{where} is empty (0 bytes), not a .npy or .npz file")
    if not start.startswith(_MAGIC):
        # numpy.load would try it as a pickle and suggest allow_pickle: never the advice to give.
        raise CliError(f"{where} is not a .npy or .npz file (write arrays with numpy.save)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a damaged header can make numpy's parser warn
            array = _load(path, where)
    except CliError:
        raise
    except Exception as exc:  # numpy and zipfile raise a different exception for each damage
        if "allow_pickle" in str(exc):
            raise CliError(f"{where} holds Python objects (pickled), not numbers") from None
        raise CliError(f"{where} is truncated or corrupt ({_reason(exc)})") from None
    if not isinstance(array, np.ndarray):
        raise CliError(f"{where} holds an .npz member that is not a .npy array")
    # torch refuses non-native byte order; every library computes on native numbers.
    return array.astype(array.dtype.newbyteorder("="), copy=False)


def check_float(array: np.ndarray, what: str, path: str) -> None:
    if array.dtype not in (np.float32, np.float64):
        raise CliError(
            f"{what}: must have dtype float32 or float64, but {path} holds {array.dtype}"
        )


def normalizer_argument(text: str | None) -> np.ndarray | float | None:
    """``--normalizer``: a number, a file's array, or None."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        if not os.path.exists(text):
            message = f"--normalizer: {text!r} is neither a number nor an existing file"
            raise CliError(message) from None
    return read_array(text, "--normalizer")


def check_out_file(path: str) -> None:
    """Refuse, before any work, an output file that could not be written."""
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CliError(f"--out: {path} is a directory; give a file name")
    if not os.path.isdir(parent):
        raise CliError(f"--out: the folder {parent} does not exist")
    writable = os.access(path if os.path.exists(path) else parent, os.W_OK)
    if not writable or not os.access(parent, os.X_OK):
        raise CliError(f"--out: {path} is not writable")


def check_out_dir(path: str) -> None:
    """Refuse, before any work, an output folder that could not be created or written.

    It is tried by creating (and removing) a temporary folder in it, or in the nearest existing folder
    above it: ``os.access`` says yes to root everywhere, /proc included.
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise CliError(f"--out: {path} exists and is not a folder; give a folder for the results")
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise CliError(f"--out: {existing} is not a folder, so {path} cannot be created in it")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".paddlefocal-", dir=existing))
    except OSError as exc:
        raise CliError(f"--out: cannot write in the folder {existing}: {exc.strerror}") from None


def write_array(path: str, value: Any) -> None:
    """Save ``value`` as .npy under exactly ``path`` (``numpy.save`` would append ``.npy``)."""
    try:
        with open(path, "wb") as stream:
            np.save(stream, value)
    except OSError as exc:
        raise CliError(f"--out: cannot write {path}: {exc.strerror or _reason(exc)}") from None
