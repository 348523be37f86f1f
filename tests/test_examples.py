"""Every ```python block of README.md and docs/*.md runs as a script, exactly as shown.

Each block is written to a file of its own and run by a fresh interpreter, in an empty folder, with a
timeout. A line ``print(...)  # prints: TEXT`` promises output: TEXT must appear in what the block
prints, in the order of the promises. A block that imports an optional library that is not installed
is skipped, naming the library and the extra that installs it. A block that is not a script (a file of
a plug-in, say) is fenced with its own language (```toml) or preceded by ``<!-- not a script: why -->``.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from paddlefocal._cli.facts import facts
from paddlefocal._libraries import LIBRARIES

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TIMEOUT_S = 300
#: Optional modules an example may import, with the extra that installs each: the array libraries of
#: the library table, and the tools that are not array libraries.
EXTRAS = {
    **{lib.module: facts(lib).extra for lib in LIBRARIES if facts(lib).extra},
    "distributed": "distributed",
    "matplotlib": "docs",
}
FENCE = re.compile(r"^(?P<indent> *)```(?P<info>[^\n`]*)$")
NOT_A_SCRIPT = re.compile(r"<!--\s*not a script:.*-->")
PROMISE = re.compile(r"#\s*prints:\s*(?P<text>.+?)\s*$")


class Example(NamedTuple):
    where: str  # "docs/index.md:17", the line of the opening fence
    code: str


def _examples(path: Path, root: Path = ROOT) -> tuple[list[Example], list[str]]:
    """The ```python blocks of one Markdown file, and the openings of fences left unclosed."""
    examples: list[Example] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    relative = path.relative_to(root).as_posix()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent = len(opening["indent"])
        language = opening["info"].strip().split(" ")[0].lower()
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][indent:])
            i += 1
        if i == len(lines):
            return examples, [f"{relative}:{start + 1}"]
        i += 1
        marked = start > 0 and NOT_A_SCRIPT.search(lines[start - 1])
        if language in ("python", "py") and not marked:
            examples.append(Example(f"{relative}:{start + 1}", "\n".join(body) + "\n"))
    return examples, []


def _collect() -> list[Example]:
    found: list[Example] = []
    for path in SOURCES:
        examples, unclosed = _examples(path)
        assert not unclosed, f"unclosed code fence at {unclosed[0]}"
        found.extend(examples)
    return found


EXAMPLES = _collect()


def _missing_libraries(code: str) -> list[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module.split(".")[0])
    return sorted(m for m in modules & EXTRAS.keys() if importlib.util.find_spec(m) is None)


def test_the_docs_hold_examples():
    # The runner must find what the documentation shows: README's, Home's, and the Backends page's.
    places = {example.where.split(":")[0] for example in EXAMPLES}
    assert {"README.md", "docs/index.md", "docs/backends.md", "docs/porting.md"} <= places, places


def test_extraction_finds_blocks_and_skips_marked_ones(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "text\n```python\nprint(1)\n```\n<!-- not a script: a plug-in's file -->\n```python\nx\n```\n"
        "```toml\n[a]\n```\n  ```py\n  print(2)\n  ```\n",
        encoding="utf-8",
    )
    examples, unclosed = _examples(page, root=tmp_path)
    assert unclosed == []
    assert [e.code for e in examples] == ["print(1)\n", "print(2)\n"]
    assert [e.where for e in examples] == ["page.md:2", "page.md:12"]


def test_a_missing_optional_library_is_named(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "distributed" else real(name)
    )
    code = "import numpy\nimport dask.array as da\nfrom distributed import Client\n"
    assert _missing_libraries(code) == ["distributed"]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.where for e in EXAMPLES])
def test_example_runs_as_a_script(example: Example, tmp_path: Path):
    missing = _missing_libraries(example.code)
    if missing:
        pytest.skip(", ".join(f"needs {m} (pip install -e '.[{EXTRAS[m]}]')" for m in missing))
    script = tmp_path / "example.py"
    script.write_text(example.code, encoding="utf-8")
    # The folder of the script, not the checkout, is the working directory: the example must not lean
    # on files that only a checkout has.
    try:
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{example.where}: still running after {TIMEOUT_S} s")
    assert done.returncode == 0, f"{example.where} failed:\n{done.stderr[-3000:]}"
    position = 0
    for line in example.code.splitlines():
        promise = PROMISE.search(line)
        if promise:
            found = done.stdout.find(promise["text"], position)
            assert found >= 0, (
                f"{example.where}: promised {promise['text']!r} after position {position} of its "
                f"output:\n{done.stdout}"
            )
            position = found + len(promise["text"])
