"""Reading and writing the command line's array files (.npy, .npz), refusing bad ones in one line.

``numpy.load`` would allocate whatever a header claims (a 60-byte file can claim 2**40 elements), suggest
``allow_pickle`` for a text file, and raise a different exception for every kind of damage. Here the header
is read first and the size it claims is compared with the bytes the file holds before anything is
allocated; every failure is a ``CliError`` naming the argument, the file and the cause.
"""

from __future__ import annotations

import math
import os
import stat
import tempfile
import tokenize
import zipfile
import zlib
from typing import IO, Any

import numpy as np

__all__ = [
    "CliError",
    "check_float",
    "check_out_dir",
    "check_out_file",
    "normalizer_argument",
    "read_array",
    "write_array",
]

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
#: Deflate cannot expand data by more than about 1032:1; a member that claims more is corrupt.
_DEFLATE_MAX_RATIO = 1100
#: What damaged data raises in zipfile, zlib and NumPy's header parser (which tokenizes the header).
_DAMAGE = (
    ValueError,
    TypeError,
    OSError,
    EOFError,
    zipfile.BadZipFile,
    zlib.error,
    KeyError,
    SyntaxError,
    tokenize.TokenError,
)


class CliError(Exception):
    """A user error: printed as one line on stderr, exit status 2."""


def _one_line(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _regular_file_size(path: str, what: str) -> int:
    """The size of ``path``, which must be a non-empty regular file."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise CliError(f"{what}: no such file: {path}") from None
    except OSError as exc:
        raise CliError(f"{what}: cannot read {path}: {exc.strerror or _one_line(exc)}") from None
    if stat.S_ISDIR(info.st_mode):
        raise CliError(f"{what}: {path} is a directory, not a .npy or .npz file")
    if not stat.S_ISREG(info.st_mode):
        raise CliError(f"{what}: {path} is not a regular file (a device, pipe or socket)")
    if info.st_size == 0:
        raise CliError(f"{what}: {path} is empty (0 bytes), not a .npy or .npz file")
    return info.st_size


def _read_npy(stream: IO[bytes], size: int, where: str) -> np.ndarray:
    """The array of a .npy stream of ``size`` bytes; ``where`` names it in messages."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise CliError(f"{where} has .npy format version {version}; 1.0 and 2.0 are read")
    except _DAMAGE as exc:
        raise CliError(f"{where} has a corrupt .npy header ({_one_line(exc)})") from None
    if dtype.hasobject:
        raise CliError(f"{where} holds Python objects (dtype {dtype}), not numbers")
    if any(d < 0 for d in shape):
        raise CliError(f"{where} has a corrupt .npy header (negative dimension in shape {shape})")
    count = math.prod(shape)
    need = count * dtype.itemsize
    left = size - stream.tell()
    if need > left:
        raise CliError(
            f"{where} is truncated or corrupt: its header claims shape {shape} of {dtype} "
            f"({need:,} bytes), but {left:,} bytes follow the header"
        )
    if dtype.itemsize == 0 and count:
        raise CliError(f"{where} holds elements of size 0 (dtype {dtype}), not numbers")
    buffer = bytearray(need)
    try:
        got = stream.readinto(buffer)  # type: ignore[attr-defined]
    except _DAMAGE as exc:
        raise CliError(f"{where} is corrupt ({_one_line(exc)})") from None
    if got != need:
        raise CliError(f"{where} is truncated: {need:,} data bytes expected, {got:,} read")
    array = np.frombuffer(buffer, dtype=dtype, count=count).reshape(
        shape, order="F" if fortran else "C"
    )
    # torch refuses non-native byte order; every library computes on native numbers.
    return array.astype(dtype.newbyteorder("="), copy=False)


def _read_npz(path: str, where: str) -> np.ndarray:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) != 1:
                raise CliError(f"{where} must hold exactly one array, but holds {len(members)}")
            member = members[0]
            if not member.filename.endswith(".npy"):
                raise CliError(f"{where} holds {member.filename!r}, not a .npy array")
            ratio = _DEFLATE_MAX_RATIO if member.compress_type != zipfile.ZIP_STORED else 1
            if member.file_size > max(member.compress_size, 1) * ratio:
                raise CliError(
                    f"{where} is corrupt: {member.filename} claims {member.file_size:,} bytes "
                    f"from {member.compress_size:,} stored"
                )
            with archive.open(member) as stream:
                return _read_npy(stream, member.file_size, f"{where} ({member.filename})")
    except CliError:
        raise
    except (*_DAMAGE, NotImplementedError, RuntimeError) as exc:
        raise CliError(f"{where} is not a readable .npz file ({_one_line(exc)})") from None


def read_array(path: str, what: str) -> np.ndarray:
    """The one array stored in the .npy or .npz file ``path``, in native byte order.

    Parameters
    ----------
    path : str
        The file.
    what : str
        The option that named it (``"--logit"``), for messages.

    Raises
    ------
    CliError
        For a missing, empty, special, damaged, oversized or non-array file, in one line.
    """
    size = _regular_file_size(path, what)
    where = f"{what}: {path}"
    try:
        with open(path, "rb") as stream:
            start = stream.read(len(_NPY_MAGIC))
            if start.startswith(_NPY_MAGIC):
                stream.seek(0)
                return _read_npy(stream, size, where)
    except OSError as exc:
        raise CliError(f"{where} cannot be read: {exc.strerror or _one_line(exc)}") from None
    if start.startswith(_ZIP_MAGIC):
        return _read_npz(path, where)
    raise CliError(
        f"{where} is not a .npy or .npz file (it starts with {start!r}; write arrays with numpy.save)"
    )


def check_out_file(path: str, what: str = "--out") -> None:
    """Refuse, before any work, an output file that could not be written."""
    if os.path.isdir(path):
        raise CliError(f"{what}: {path} is a directory; give a file name")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise CliError(f"{what}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CliError(f"{what}: the folder {parent} is not writable")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise CliError(f"{what}: {path} exists and is not writable")


def check_out_dir(path: str) -> None:
    """Refuse, before any work, an output folder that could not be created or written.

    A folder is tried by creating (and removing) a temporary entry in it, or in the nearest existing
    folder above it: ``os.access`` says yes to root everywhere, /proc included.
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
        raise CliError(
            f"--out: cannot write in the folder {existing}: {exc.strerror or exc}"
        ) from None


def write_array(path: str, value: Any, what: str = "--out") -> None:
    """Save ``value`` as .npy under exactly ``path`` (``numpy.save`` would append ``.npy``)."""
    try:
        with open(path, "wb") as stream:
            np.save(stream, value)
    except OSError as exc:
        raise CliError(f"{what}: cannot write {path}: {exc.strerror or _one_line(exc)}") from None


def normalizer_argument(text: str | None) -> np.ndarray | float | None:
    """``--normalizer``: a number, a file's array, or None."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    if not os.path.exists(text):
        raise CliError(f"--normalizer: {text!r} is neither a number nor an existing file")
    return read_array(text, "--normalizer")


def check_float(array: np.ndarray, what: str, path: str) -> None:
    if array.dtype not in (np.float32, np.float64):
        raise CliError(
            f"{what}: must have dtype float32 or float64, but {path} holds {array.dtype}"
        )
