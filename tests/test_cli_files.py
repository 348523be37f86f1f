"""``paddlefocal compute``'s files: the right answer, or one line on stderr, exit 2, nothing written.

Organised by argument: --logit/--label files (the catalogue of bad files), --normalizer, --out, --backend;
then a property test that feeds the file reader random and mutated bytes.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import one_line_exit_2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paddlefocal._cli.main import main

LOGIT = np.array([[0.97, 0.91, 0.03], [0.55, 0.43, 0.71]], np.float32)
LABEL = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32)
SEED_VALUE = "0.65782464"  # Paddle's documented value, normalizer 2


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npz_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "logit.npy").write_bytes(npy_bytes(LOGIT))
    np.savez(tmp_path / "label.npz", label=LABEL)
    return tmp_path


def compute(files: Path, *extra: str, logit: str = "logit.npy", label: str = "label.npz") -> int:
    return main(["compute", "--logit", str(files / logit), "--label", str(files / label), *extra])


# --- valid files ---------------------------------------------------------------------------------


def test_compute_prints_the_seed_value(files, capsys):
    assert compute(files, "--normalizer", "2") == 0
    assert capsys.readouterr().out.strip() == SEED_VALUE


def test_big_endian_files_are_read_in_native_order_for_torch(files, capsys):
    pytest.importorskip("torch")
    (files / "be_logit.npy").write_bytes(npy_bytes(LOGIT.astype(">f4")))
    (files / "be_label.npy").write_bytes(npy_bytes(LABEL.astype(">f4")))
    code = compute(files, "--normalizer", "2", "--backend", "torch", logit="be_logit.npy")
    assert code == 0
    assert capsys.readouterr().out.strip() == SEED_VALUE
    code = compute(files, "--normalizer", "2", "--backend", "torch", label="be_label.npy")
    assert code == 0
    assert capsys.readouterr().out.strip() == SEED_VALUE


def test_a_compressed_npz_and_a_fortran_order_npy_are_read(files, capsys):
    (files / "c.npz").write_bytes(npz_bytes({"x.npy": npy_bytes(LABEL)}, zipfile.ZIP_DEFLATED))
    (files / "f.npy").write_bytes(npy_bytes(np.asfortranarray(LOGIT)))
    assert compute(files, "--normalizer", "2", logit="f.npy", label="c.npz") == 0
    assert capsys.readouterr().out.strip() == SEED_VALUE


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax", "dask", "array-api-strict", "paddle"])
def test_every_library_prints_the_result_the_same_way(files, capsys, backend):
    from paddlefocal._cli.info import installed
    from paddlefocal._libraries import by_name

    if not installed(by_name(backend)):
        pytest.skip(f"{backend} is not installed")
    assert compute(files, "--normalizer", "2", "--backend", backend) == 0
    assert capsys.readouterr().out.strip() == SEED_VALUE


# --- --logit / --label: the catalogue of bad files ------------------------------------------------

HUGE_HEADER = io.BytesIO()
np.lib.format.write_array_header_1_0(
    HUGE_HEADER, {"descr": "<f4", "fortran_order": False, "shape": (2**40,)}
)
GOOD_NPY = npy_bytes(LOGIT)
BAD_FILES = {
    "empty.npy": (b"", "is empty (0 bytes)"),
    "corrupt.npz": (b"PK\x03\x04" + b"garbage" * 10, "is truncated or corrupt"),
    "truncated_archive.npz": (npz_bytes({"a.npy": GOOD_NPY})[:60], "is truncated or corrupt"),
    "truncated_member.npz": (npz_bytes({"a.npy": GOOD_NPY[:140]}), "is truncated or corrupt"),
    "two.npz": (npz_bytes({"a.npy": GOOD_NPY, "b.npy": GOOD_NPY}), "exactly one array"),
    "not_npy.npz": (npz_bytes({"a.txt": b"1 2 3"}), "not a .npy array"),
    "object.npz": (
        npz_bytes({"a.npy": GOOD_NPY.replace(b"'<f4'", b"'|O' ")}),
        "holds Python objects",
    ),
    # numpy.load names the shape when it cannot allocate it, or cannot fill it from the file.
    "huge.npy": (HUGE_HEADER.getvalue() + b"\0" * 16, "(1099511627776,)"),
    "truncated.npy": (GOOD_NPY[:-5], "is truncated or corrupt"),
    "bad_header.npy": (GOOD_NPY.replace(b"'descr'", b"'dscr' "), "is truncated or corrupt"),
    "text.txt": (b"0.97 0.91 0.03\n0.55 0.43 0.71\n", "is not a .npy or .npz file"),
    "int.npy": (npy_bytes(np.zeros((2, 3), np.int64)), "must have dtype float32 or float64"),
    "wide.npy": (npy_bytes(np.zeros((2, 4), np.float32)), "same shape"),
}


@pytest.mark.parametrize("argument", ["--logit", "--label"])
@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_one_line_naming_the_argument(files, capsys, argument, name):
    data, cause = BAD_FILES[name]
    (files / name).write_bytes(data)
    which = {"logit": name} if argument == "--logit" else {"label": name}
    line = one_line_exit_2(compute(files, "--out", str(files / "out.npy"), **which), capsys)
    assert cause in line
    if name not in ("wide.npy",):  # a shape mismatch is the pair's, reported by the loss's check
        assert argument in line
    assert "allow_pickle" not in line
    assert not (files / "out.npy").exists()


@pytest.mark.parametrize(
    ("path", "cause"),
    [
        ("/dev/null", "is not a regular file"),
        ("{d}", "is a directory"),
        ("{d}/no.npy", "no such file"),
    ],
)
def test_special_paths_are_one_line(files, capsys, path, cause):
    code = main(["compute", "--logit", path.format(d=files), "--label", str(files / "label.npz")])
    line = one_line_exit_2(code, capsys)
    assert line.startswith("paddlefocal: error: --logit: ")
    assert cause in line


# --- --normalizer ----------------------------------------------------------------------------------


def test_normalizer_file(files, capsys):
    (files / "norm.npy").write_bytes(npy_bytes(np.asarray([2.0], np.float32)))
    assert compute(files, "--normalizer", str(files / "norm.npy")) == 0
    assert capsys.readouterr().out.strip() == SEED_VALUE


@pytest.mark.parametrize(
    ("value", "cause"),
    [("nothing", "neither a number nor an existing file"), ("{d}", "is a directory")],
)
def test_bad_normalizer_is_one_line(files, capsys, value, cause):
    line = one_line_exit_2(compute(files, "--normalizer", value.format(d=files)), capsys)
    assert line.startswith("paddlefocal: error: --normalizer: ")
    assert cause in line


# --- --out ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["result.txt", "result", "result.npy"])
def test_out_writes_exactly_the_name_given(files, name):
    assert compute(files, "--reduction", "none", "--out", str(files / name)) == 0
    assert sorted(p.name for p in files.iterdir()) == sorted(["logit.npy", "label.npz", name])
    np.testing.assert_array_equal(np.load(files / name).shape, (2, 3))


@pytest.mark.parametrize(
    ("out", "cause"),
    [("{d}", "is a directory"), ("{d}/no/such/dir/out.npy", "does not exist")],
)
def test_bad_out_is_refused_before_reading_anything(files, capsys, out, cause):
    # The logit is unreadable too: the --out error must come first.
    line = one_line_exit_2(
        compute(files, "--out", out.format(d=files), logit="missing.npy"), capsys
    )
    assert line.startswith("paddlefocal: error: --out: ")
    assert cause in line


def test_unknown_backend_is_one_line(files, capsys):
    line = one_line_exit_2(compute(files, "--backend", "fortran"), capsys)
    assert "unknown backend 'fortran'" in line


# --- the reader against random and mutated bytes -----------------------------------------------

SEEDS = [
    npy_bytes(LOGIT),
    npy_bytes(LOGIT.astype(">f8")),
    npy_bytes(np.float32(2.0).reshape(())),
    npz_bytes({"a.npy": npy_bytes(LOGIT)}),
    npz_bytes({"a.npy": npy_bytes(LOGIT)}, zipfile.ZIP_DEFLATED),
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "header", "random"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "truncate":
            del data[position:]
        elif kind == "flip" and data:
            data[position] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "header":
            # Rewrite a piece of the header text: shapes, dtypes and flags that lie.
            old = draw(st.sampled_from([b"(2, 3)", b"'<f4'", b"False", b"'>f8'", b"()"]))
            new = draw(
                st.sampled_from(
                    [
                        b"(1099511627776,)",
                        b"(-1, 3)",
                        b"'|O'",
                        b"True",
                        b"(2, 3, 0)",
                        b"'<V0'",
                        b"{}",
                        b"'<f2'",
                    ]
                )
            )
            data = bytearray(bytes(data).replace(old, new))
        else:
            data = bytearray(draw(st.binary(max_size=64)))
    return bytes(data)


@settings(
    max_examples=2 * settings.default.max_examples,  # 1000 under the "ci" profile
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=mutated())
def test_reader_gives_a_value_or_one_line_exit_2(tmp_path, capsys, data):
    path = tmp_path / "fuzz.npy"
    path.write_bytes(data)
    out = tmp_path / "out.npy"
    code = main(["compute", "--logit", str(path), "--label", str(path), "--out", str(out)])
    captured = capsys.readouterr()
    if code == 0:
        value = np.load(out)
        assert value.dtype in (np.float32, np.float64)
        out.unlink()
    else:
        assert code == 2
        assert len(captured.err.strip().splitlines()) == 1, captured.err
        assert captured.err.startswith("paddlefocal: error: ")
        assert not out.exists()
