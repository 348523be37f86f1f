"""The side-by-side benchmark (the same as ``python -m paddlefocal bench``); see ``--help``."""

from __future__ import annotations

import sys

from paddlefocal._cli.main import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
