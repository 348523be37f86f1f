"""A built wheel adds the single import name ``paddlefocal``; ``backends/`` lives inside it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
    )
    (found,) = out.glob("paddlefocal-*.whl")
    return found


def test_wheel_holds_only_paddlefocal(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"paddlefocal"}
    for expected in (
        "paddlefocal/__init__.py",
        "paddlefocal/py.typed",
        "paddlefocal/nn/functional.py",
        "paddlefocal/backends/__init__.py",
        "paddlefocal/backends/torch.py",
    ):
        assert expected in names
    assert not any(name.startswith(("tests/", "backends/", "docs/")) for name in names)


def test_installed_copy_imports_backends_only_as_paddlefocal_backends(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    code = (
        "import importlib.util, numpy as np, paddlefocal, paddlefocal.backends as b\n"
        f"assert paddlefocal.__file__.startswith({str(target)!r}), paddlefocal.__file__\n"
        f"assert b.__file__.startswith({str(target)!r}), b.__file__\n"
        "assert importlib.util.find_spec('backends') is None\n"
        "out = paddlefocal.sigmoid_focal_loss(np.zeros((2, 3)), np.ones((2, 3)))\n"
        "assert b.path_name(np.zeros(1)) == 'numpy'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, env=env)


def test_docs_differences_table_is_the_readmes():
    readme = (ROOT / "README.md").read_text()
    docs = (ROOT / "docs" / "differences.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| ")]
    table = [line for line in rows if "Paddle 3.3.1 |" in line or line.count("|") == 5]
    assert table, "the README has a differences table"
    for line in table:
        assert line in docs, line


def test_ci_runs_the_readmes_test_command_verbatim():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("Test it", 1)[1].split("```", 2)[1]
    (command,) = [line for line in block.splitlines() if line.strip()]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert command in ci, f"{command!r} is not a line of .ci/run"


@pytest.mark.slow
def test_every_cli_command_works_from_the_installed_wheel(wheel, tmp_path):
    """A fresh venv with the wheel (not this checkout) installed: demo, backends, compute and a tiny
    bench each exit 0 with their output; the ``paddlefocal`` console script runs too."""
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
        check=True,
    )
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
    )
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def cli(*args: str) -> str:
        done = subprocess.run(
            [str(python), "-m", "paddlefocal", *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, (args, done.stderr)
        return done.stdout

    where = subprocess.run(
        [str(python), "-c", "import paddlefocal; print(paddlefocal.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(venv)), where
    assert "0.65782464" in cli("demo")
    assert "numpy" in cli("backends").splitlines()[2]
    np.save(work / "x.npy", np.array([[0.97, 0.91, 0.03], [0.55, 0.43, 0.71]], np.float32))
    np.save(work / "y.npy", np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32))
    args = ("--logit", "x.npy", "--label", "y.npy", "--normalizer", "2")
    assert cli("compute", *args).strip() == "0.65782464"
    bench = cli(
        *("bench", "--min-log2n", "8", "--max-log2n", "8", "--budget", "0.01"),
        *("--no-compile", "--no-paddle", "--out", str(work / "bench")),
    )
    assert "ours / floor" in bench and "spread" in bench
    assert (work / "bench" / "bench.json").exists()
    script = subprocess.run(
        [str(venv / "bin" / "paddlefocal"), "compute", *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert script.stdout.strip() == "0.65782464", script.stderr
