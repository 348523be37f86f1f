"""Fast paths per array library, and the public registry that chooses among them.

Installed as ``paddlefocal.backends``; the registry itself lives in ``paddlefocal._registry`` so that
the documentation tools, which read ``paddlefocal/`` from source, find it.
"""

from paddlefocal._registry import (
    ENTRY_POINT_GROUP,
    REFERENCE,
    Backend,
    Implementation,
    info,
    namespace_for,
    path_name,
    register,
    registered,
    resolve,
    use,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "REFERENCE",
    "Backend",
    "Implementation",
    "info",
    "namespace_for",
    "path_name",
    "register",
    "registered",
    "resolve",
    "use",
]
