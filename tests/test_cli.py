"""The command line: the demo (the README's run command), compute, backends, and its errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from paddlefocal._cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "paddlefocal", *args], capture_output=True, text=True
    )


def test_demo_prints_the_documented_value_for_numpy():
    result = run()
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    numpy_row = next(line for line in lines if line and line[0] == "numpy")
    assert numpy_row[2:4] == ["float32", "0.65782464"]
    assert all(line[3] == "0.65782464" for line in lines[3:] if len(line) == 5)


@pytest.fixture
def files(tmp_path):
    logit = np.array([[0.97, 0.91, 0.03], [0.55, 0.43, 0.71]], np.float32)
    label = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32)
    np.save(tmp_path / "logit.npy", logit)
    np.savez(tmp_path / "label.npz", label=label)
    return tmp_path


def compute(files, *extra: str) -> int:
    """``paddlefocal compute`` in-process on the seed files."""
    logit, label = str(files / "logit.npy"), str(files / "label.npz")
    return main(["compute", "--logit", logit, "--label", label, *extra])


def test_compute_prints_the_seed_value(files, capsys):
    code = compute(files, "--normalizer", "2")
    assert code == 0
    assert capsys.readouterr().out.strip() == "0.65782464"


def test_compute_writes_npy(files):
    out = files / "out.npy"
    code = compute(files, "--reduction", "none", "--out", str(out))
    assert code == 0
    assert np.load(out).shape == (2, 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--logit", "missing.npy", "--label", "{d}/label.npz"], "no such file"),
        (["--logit", "{d}/text.txt", "--label", "{d}/label.npz"], "not a .npy or .npz"),
        (
            ["--logit", "{d}/int.npy", "--label", "{d}/label.npz"],
            "must have dtype float32 or float64",
        ),
        (["--logit", "{d}/wide.npy", "--label", "{d}/label.npz"], "same shape"),
        (["--logit", "{d}/logit.npy", "--label", "{d}/two.npz"], "exactly one array"),
    ],
)
def test_compute_errors_are_one_line_exit_2(files, args, message):
    (files / "text.txt").write_text("not an array")
    np.save(files / "int.npy", np.zeros((2, 3), np.int64))
    np.save(files / "wide.npy", np.zeros((2, 4), np.float32))
    np.savez(files / "two.npz", a=np.zeros(2), b=np.zeros(2))
    result = run("compute", *[a.format(d=files) for a in args])
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_backend_is_exit_2(files):
    result = run(
        "compute",
        "--logit",
        str(files / "logit.npy"),
        "--label",
        str(files / "label.npz"),
        "--backend",
        "fortran",
    )
    assert result.returncode == 2
    assert "unknown backend 'fortran'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_compute_with_torch_backend_and_normalizer_file(files, capsys):
    pytest.importorskip("torch")
    np.save(files / "norm.npy", np.asarray([2.0], np.float32))
    assert compute(files, "--backend", "torch", "--normalizer", str(files / "norm.npy")) == 0
    assert capsys.readouterr().out.strip() == "0.65782464"


def test_help_reads_well():
    result = run("--help")
    assert result.returncode == 0
    for command in ("demo", "compute", "backends", "bench"):
        assert command in result.stdout


def test_backends_lists_paths():
    result = run("backends")
    assert result.returncode == 0
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert ["numpy", np.__version__, "numpy", "cpu"] in rows
