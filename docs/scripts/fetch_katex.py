"""Bundle KaTeX into the site: ``python docs/scripts/fetch_katex.py`` (needs npm, once).

Takes the pinned ``katex`` package from the npm registry (``npm pack``), checks the tarball against the
pinned SHA-512, and copies its minified script, stylesheet, auto-render extension and fonts to
``docs/assets/katex/`` (ignored by git), so that the built site renders its mathematics with no network
at all. The site's build hook (``docs/hooks.py``) runs this before every build and stops the build if
KaTeX is neither there nor fetchable: a site must never ship its formulas as raw TeX.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "0.16.22"
#: ``npm view katex@0.16.22 dist.integrity``: the registry's own checksum of the tarball.
INTEGRITY = "sha512-XCHRdUw4lf3SKBaJe4EvgqIuWwkPSo9XoeO8GjQW94Bp7TWv9hNhzZjZ+OH9yf1UmLygb7DIT5GSFQiyt16zYg=="
DEST = Path(__file__).resolve().parent.parent / "assets" / "katex"
WANTED = ("dist/katex.min.js", "dist/katex.min.css", "dist/contrib/auto-render.min.js")
COMMAND = "python docs/scripts/fetch_katex.py"


class KatexError(RuntimeError):
    """KaTeX is missing and could not be fetched; the message is one line."""


def problem(dest: Path = DEST) -> str | None:
    """Why the bundle in ``dest`` is not usable (missing, another version, a font missing), or None."""
    version = dest / "VERSION"
    if not version.exists():
        return f"KaTeX is not in {dest}"
    if version.read_text().strip() != VERSION:
        return f"{dest} holds KaTeX {version.read_text().strip()}, not {VERSION}"
    for name in WANTED:
        if not (dest / Path(name).name).is_file():
            return f"{dest} lacks {Path(name).name}"
    css = (dest / "katex.min.css").read_text(encoding="utf-8")
    fonts = set(re.findall(r"url\((fonts/[^)]+\.woff2)\)", css))
    if not fonts:
        return f"{dest / 'katex.min.css'} names no fonts"
    missing = sorted(f for f in fonts if not (dest / f).is_file())
    if missing:
        return f"{dest} lacks {missing[0]}"
    return None


def fetch(dest: Path = DEST) -> None:
    """Download, verify and unpack KaTeX into ``dest``; raises KatexError with a one-line reason."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run(
                ["npm", "pack", f"katex@{VERSION}", "--pack-destination", tmp, "--silent"],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        except FileNotFoundError:
            raise KatexError("npm is not installed") from None
        except subprocess.CalledProcessError as exc:
            last = (exc.stderr or "").strip().splitlines()[-1:] or ["no message"]
            raise KatexError(f"npm pack katex@{VERSION} failed: {last[0]}") from None
        (tarball,) = Path(tmp).glob("katex-*.tgz")
        digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if f"sha512-{digest}" != INTEGRITY:
            raise KatexError(f"{tarball.name} does not match the pinned SHA-512 of KaTeX {VERSION}")
        if dest.exists():
            shutil.rmtree(dest)
        (dest / "fonts").mkdir(parents=True)
        with tarfile.open(tarball) as tar:
            for member in tar.getmembers():
                name = member.name.removeprefix("package/")
                if name in WANTED:
                    target = dest / Path(name).name
                elif name.startswith("dist/fonts/") and name.endswith(".woff2"):
                    target = dest / "fonts" / Path(name).name
                else:
                    continue
                source = tar.extractfile(member)
                assert source is not None
                target.write_bytes(source.read())
    (dest / "VERSION").write_text(VERSION + "\n")
    reason = problem(dest)
    if reason:
        raise KatexError(f"the KaTeX {VERSION} package is incomplete: {reason}")


def ensure(dest: Path = DEST) -> bool:
    """Make sure a verified KaTeX is in ``dest``; True if it had to be fetched."""
    if problem(dest) is None:
        return False
    fetch(dest)
    return True


def main() -> int:
    try:
        fetched = ensure()
    except KatexError as exc:
        print(f"fetch_katex: {exc}", file=sys.stderr)
        return 1
    print(f"KaTeX {VERSION} {'fetched into' if fetched else 'already in'} {DEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
