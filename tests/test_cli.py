"""The command line: the demo (the README's run command), compute, backends, bench, and their errors."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from helpers import one_line_exit_2

from paddlefocal._cli.demo import format_value
from paddlefocal._cli.info import installed
from paddlefocal._cli.main import main
from paddlefocal._libraries import LIBRARIES


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "paddlefocal", *args], capture_output=True, text=True, timeout=300
    )


MISSING = [lib for lib in LIBRARIES if not installed(lib)]


def test_demo_prints_the_documented_value_on_every_library_without_warnings():
    result = run()
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # Paddle's import-time UserWarnings are not ours to print
    lines = result.stdout.splitlines()
    assert set(lines[2]) == {"-", " "}  # the separator row under the header
    rows = [line.split() for line in lines[3:] if not line.startswith(("not installed", "add a"))]
    assert [row[0] for row in rows][:1] == ["numpy"]
    assert all(row[2:4] == ["float32", "0.65782464"] for row in rows)
    assert "plug-in" in lines[-1]


def test_backends_has_a_separator_one_device_spelling_and_no_warnings():
    result = run("backends")
    assert result.returncode == 0
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["library", "version", "path", "devices"]
    assert set(lines[1]) == {"-", " "}
    rows = [line.split() for line in lines[2:] if not line.startswith(("not installed", "add a"))]
    assert ["numpy", np.__version__, "numpy", "cpu"] in rows
    for row in rows:
        for device in " ".join(row[3:]).split(", "):
            assert device == "cpu" or device.startswith("cuda:"), row
    assert "plug-in" in lines[-1]


def test_missing_libraries_are_listed_with_their_extra(capsys):
    from paddlefocal._cli.main import _missing_lines

    lines = _missing_lines(["cupy", "jax", "paddle"])
    assert lines[0] == 'not installed: cupy (pip install "paddlefocal[cupy]")'
    assert lines[1] == 'not installed: jax (pip install "paddlefocal[jax]")'
    assert lines[2] == 'not installed: paddle (pip install "paddlefocal[paddle]")'
    assert "docs/backends.md" in lines[3]
    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    for lib in MISSING:
        assert f"not installed: {lib.name} (" in out


@pytest.mark.parametrize("command", ["compute", "bench"])
def test_help_shows_every_default(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    options = {
        "compute": ["--normalizer", "--alpha", "--gamma", "--reduction", "--backend", "--out"],
        "bench": ["--min-log2n", "--max-log2n", "--step", "--dtype", "--budget", "--out"],
    }[command]
    for option in options:
        after = text.split(f" {option} ", 1)[1].split(" --", 1)[0]
        assert "(default: " in after, (option, after)


def test_top_level_help_lists_the_commands():
    result = run("--help")
    assert result.returncode == 0
    for command in ("demo", "compute", "backends", "bench"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-log2n", "40"], "--max-log2n: must be between 0 and 30"),
        (["--min-log2n", "-1"], "--min-log2n: must be between 0 and 30"),
        (["--budget", "-1"], "--budget: must be seconds in (0, 60]"),
        (["--budget", "0"], "--budget: must be seconds in (0, 60]"),
        (["--budget", "nan"], "--budget: must be seconds in (0, 60]"),
        (["--min-log2n", "14", "--max-log2n", "12"], "--min-log2n (14) must not exceed"),
        (["--step", "0"], "--step: must be a positive number"),
        (["--out", "{file}"], "exists and is not a folder"),
        (["--out", "{file}/sub"], "is not a folder, so"),
        (["--out", "/proc/paddlefocal-bench"], "--out: cannot write in the folder /proc"),
    ],
)
def test_bench_arguments_are_checked_before_any_work(args, message, tmp_path, capsys, monkeypatch):
    from paddlefocal._cli import bench as _bench

    monkeypatch.setattr(_bench, "run", lambda **kw: pytest.fail("the bench ran"))
    existing = tmp_path / "existing.txt"
    existing.write_text("keep me")
    code = main(["bench", *[a.format(file=existing) for a in args]])
    assert message in one_line_exit_2(code, capsys)
    assert existing.read_text() == "keep me"


def test_format_value_gives_8_digits_in_float32_and_17_in_float64():
    assert format_value(np.asarray(0.31746447, np.float32)) == "0.31746447"
    assert format_value(np.asarray(0.1, np.float64)) == "0.10000000000000001"
    assert format_value(np.asarray([0.25, 1 / 3], np.float32)) == "[0.25, 0.33333334]"


def test_bench_runs_and_writes_its_files(tmp_path, capsys):
    out = tmp_path / "results"
    code = main(
        [
            *("bench", "--min-log2n", "10", "--max-log2n", "10", "--budget", "0.01"),
            *("--no-compile", "--no-paddle", "--out", str(out)),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "ours / floor" in text
    assert "front-end checks us" in text
    assert "x faster than" in text and "faster than us" not in text
    assert "held 0.00x" not in text and "% of one input" not in text
    assert "spread" in text
    assert {p.name for p in out.iterdir()} >= {"bench.json", "bench.md"}
    rows = json.loads((out / "bench.json").read_text())["rows"]
    timed = [r for r in rows if r["seconds"] is not None]
    assert timed and all(r["seconds_min"] <= r["seconds"] <= r["seconds_max"] for r in timed)
    assert "`2**10`" in (out / "bench.md").read_text()


def test_a_float_result_with_an_integer_value_prints_as_a_float():
    assert format_value(np.asarray(1081954.0, np.float32)) == "1081954.0"
    assert format_value(np.asarray([2.0, 0.5], np.float64)) == "[2.0, 0.5]"
    assert format_value(np.asarray(np.inf, np.float32)) == "inf"


@pytest.mark.parametrize("command", ["demo", "backends"])
def test_demo_and_backends_help_have_a_description(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(f"usage: paddlefocal {command}")
    assert len(lines[2]) > 40, lines  # the description under the usage line


@pytest.fixture
def seed_files(tmp_path):
    np.save(tmp_path / "x.npy", np.array([[0.97, 0.91, 0.03], [0.55, 0.43, 0.71]], np.float32))
    np.save(tmp_path / "y.npy", np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32))
    return ["compute", "--logit", str(tmp_path / "x.npy"), "--label", str(tmp_path / "y.npy")]


def test_a_negative_gamma_in_exponent_notation_is_read_like_the_decimal_one(seed_files, capsys):
    assert main([*seed_files, "--gamma", "-0.5"]) == 0
    decimal = capsys.readouterr().out
    assert main([*seed_files, "--gamma", "-5e-1"]) == 0
    assert capsys.readouterr().out == decimal
    assert main([*seed_files, "--alpha", "-2.5e-1", "--normalizer", "-2e0"]) == 0


def _closed_reader(args: list[str]) -> subprocess.CompletedProcess:
    """Runs the CLI with stdout a pipe whose read end is closed before it writes anything."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "paddlefocal", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    finally:
        os.close(write)


@pytest.mark.parametrize("command", ["backends", "compute"])
def test_a_reader_that_has_gone_ends_the_run_quietly(command, seed_files):
    result = _closed_reader(seed_files if command == "compute" else [command])
    assert result.returncode == 141
    assert result.stderr == ""


def test_top_level_output_into_head_exits_without_a_traceback():
    result = subprocess.run(
        f"{sys.executable} -m paddlefocal | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
    assert result.stdout.startswith("paddle.nn.functional.sigmoid_focal_loss documented example")


def test_a_closed_stdout_fails_loudly_instead_of_losing_the_result(seed_files):
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "paddlefocal", *seed_files])
    result = subprocess.run(
        f"{command} >&-", shell=True, capture_output=True, text=True, timeout=300
    )
    assert result.returncode != 0
    assert "standard output is closed" in result.stderr


def test_bench_accepts_the_largest_size_and_refuses_one_more(capsys, monkeypatch, tmp_path):
    from paddlefocal._cli import bench as _bench

    seen = {}
    monkeypatch.setattr(_bench, "run", lambda **kw: seen.update(kw))
    out = str(tmp_path / "b")
    assert main(["bench", "--min-log2n", "30", "--max-log2n", "30", "--out", out]) == 0
    assert seen["log2ns"] == [30]
    assert "--max-log2n: must be between 0 and 30" in one_line_exit_2(
        main(["bench", "--max-log2n", "31", "--out", out]), capsys
    )


def test_bench_writes_by_default_into_the_temporary_folder_said_in_help(capsys):
    from paddlefocal._cli.main import DEFAULT_OUT

    assert DEFAULT_OUT.startswith(tempfile.gettempdir())
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    assert DEFAULT_OUT in " ".join(capsys.readouterr().out.split())


def test_bench_rows_carry_min_median_max_and_a_wide_spread_is_flagged():
    from paddlefocal._cli.bench import _report
    from paddlefocal._cli.bench._measure import Measurement
    from paddlefocal._cli.timing import Timing

    steady = Measurement.timed("numpy", "ours", 10, "float32", Timing((1.0, 1.1, 1.2)))
    assert (steady.seconds_min, steady.seconds, steady.seconds_max) == (1.0, 1.1, 1.2)
    noisy = Measurement.timed("numpy", "exp+log floor", 10, "float32", Timing((1.0, 1.0, 1.6)))
    table = _report.numpy_table([steady, noisy], "float32")
    assert table.rows[0][-1] == "1.60 !"
    assert _report.flagged([table]) == 1
    assert _report.numpy_table([steady], "float32").rows[0][-1] == "1.20"


def test_install_hints_work_on_a_cpu_machine():
    from paddlefocal._cli.info import install_hint
    from paddlefocal._libraries import by_name

    torch_hint = install_hint(by_name("torch"))
    assert "--index-url https://download.pytorch.org/whl/cpu" in torch_hint
    assert torch_hint.index("whl/cpu") < torch_hint.index('"paddlefocal[torch]"')
    assert install_hint(by_name("jax")) == 'pip install "paddlefocal[jax]"'


def test_runtime_table_holds_only_what_the_runtime_reads():
    import dataclasses

    from paddlefocal._cli.facts import FACTS
    from paddlefocal._libraries import LIBRARIES, Library

    fields = [f.name for f in dataclasses.fields(Library)]
    assert fields == [
        "name",
        "module",
        "is_array",
        "path",
        "namespace",
        "namespace_per_type",
        "kind",
        "forced",
    ]
    assert set(FACTS) == {library.name for library in LIBRARIES}
