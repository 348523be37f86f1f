"""Fast paths per array library, and the public registry that chooses among them.

Installed as ``paddlefocal.backends``; the registry itself lives in ``paddlefocal._registry`` so that
the documentation tools, which read ``paddlefocal/`` from source, find it.
"""

from paddlefocal._registry import (
    REFERENCE,
    Backend,
    Implementation,
    path_name,
    register,
    registered,
    resolve,
    use,
)

__all__ = [
    "REFERENCE",
    "Backend",
    "Implementation",
    "path_name",
    "register",
    "registered",
    "resolve",
    "use",
]
