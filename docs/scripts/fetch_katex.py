"""Bundle KaTeX into the site: ``python docs/scripts/fetch_katex.py``.

Takes the pinned ``katex`` package from the npm registry (``npm pack``) and copies its minified script,
stylesheet, auto-render extension and fonts to ``docs/assets/katex/`` (ignored by git), so that the built
site renders its mathematics with no network at all.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "0.16.22"
DEST = Path(__file__).resolve().parent.parent / "assets" / "katex"
WANTED = ("dist/katex.min.js", "dist/katex.min.css", "dist/contrib/auto-render.min.js")


def main() -> int:
    if (DEST / "katex.min.js").exists() and (DEST / "VERSION").read_text().strip() == VERSION:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run(
                ["npm", "pack", f"katex@{VERSION}", "--pack-destination", tmp, "--silent"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"fetch_katex: npm pack katex@{VERSION} failed: {exc}", file=sys.stderr)
            return 1
        (tarball,) = Path(tmp).glob("katex-*.tgz")
        if DEST.exists():
            shutil.rmtree(DEST)
        (DEST / "fonts").mkdir(parents=True)
        with tarfile.open(tarball) as tar:
            for member in tar.getmembers():
                name = member.name.removeprefix("package/")
                if name in WANTED:
                    target = DEST / Path(name).name
                elif name.startswith("dist/fonts/") and name.endswith(".woff2"):
                    target = DEST / "fonts" / Path(name).name
                else:
                    continue
                source = tar.extractfile(member)
                assert source is not None
                target.write_bytes(source.read())
    (DEST / "VERSION").write_text(VERSION + "\n")
    print(f"KaTeX {VERSION} in {DEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
