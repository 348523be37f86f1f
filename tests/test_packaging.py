"""A built wheel adds the single import name ``paddlefocal``; ``backends/`` lives inside it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

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
