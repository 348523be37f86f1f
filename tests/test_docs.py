"""The documentation site: builds with --strict, renders its math offline, and its search finds the API.

Opened in headless Chromium (Debian's ``chromium``, which ``.ci/run`` installs), driven by Playwright over
a local HTTP server; screenshots go to ``$PADDLEFOCAL_SCREENSHOTS`` (default: the test's tmp folder).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def _require(condition: bool, why: str) -> None:
    # In CI the site test must run: a missing browser or tool is a failure there, a skip elsewhere.
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    _require(shutil.which("mkdocs") is not None, "mkdocs is not installed (the docs extra)")
    subprocess.run([sys.executable, str(ROOT / "docs" / "scripts" / "fetch_katex.py")], check=True)
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    subprocess.run(
        ["mkdocs", "build", "--strict", "-q", "-d", str(out)], cwd=ROOT, check=True, env=env
    )
    return out


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    _require(CHROMIUM is not None, "Chromium is not installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PADDLEFOCAL_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_site_builds_and_has_every_page(site):
    for page in (
        "index.html",
        "getting-started",
        "api",
        "porting",
        "differences",
        "backends",
        "numerics",
        "performance",
    ):
        assert (site / page).exists(), page
    assert (site / "assets" / "generated" / "loss_against_pt.png").stat().st_size > 10_000
    assert (site / "assets" / "katex" / "katex.min.js").exists()
    for html in site.rglob("*.html"):
        text = html.read_text()
        assert "fonts.googleapis" not in text and "cdn.jsdelivr" not in text, html


@pytest.mark.parametrize("page", ["", "api/", "differences/", "numerics/"])
def test_page_loads_offline_with_rendered_math(server, browser, page, tmp_path):
    tab = browser.new_page(viewport={"width": 1280, "height": 1000})
    failed = []
    tab.on("requestfailed", lambda r: failed.append(r.url))
    tab.goto(f"{server}/{page}")
    tab.wait_for_load_state("networkidle")
    tab.screenshot(path=str(_shots(tmp_path) / f"{page.strip('/') or 'home'}.png"))
    html = tab.content()
    tab.close()
    assert failed == []
    assert "<h1" in html
    # KaTeX keeps the TeX source in <annotation> for accessibility; anywhere else it is unrendered.
    visible = re.sub(r"<annotation.*?</annotation>", "", html, flags=re.S)
    assert "\\frac" not in visible and "\\alpha" not in visible and "\\sigma" not in visible
    if page in ("", "api/", "numerics/"):
        assert 'class="katex"' in html


def test_search_finds_the_api_page_for_normalizer(server, browser, tmp_path):
    tab = browser.new_page(viewport={"width": 1280, "height": 1000})
    tab.goto(f"{server}/")
    tab.wait_for_load_state("networkidle")
    tab.focus("input.md-search__input")
    tab.keyboard.type("normalizer")
    tab.wait_for_selector(".md-search-result__link", timeout=15_000)
    links = [a.get_attribute("href") for a in tab.query_selector_all(".md-search-result__link")]
    tab.screenshot(path=str(_shots(tmp_path) / "search.png"))
    tab.close()
    assert any(link and link.rstrip("/").endswith("/api") for link in links), links
