"""Fast paths per array library, and the registry that chooses among them.

This package is installed as ``paddlefocal.backends``: one module per library's fast path
(``numpy``, ``torch``, ``jax``, ``dask``, ``paddle``), imported only when the caller passes that
library's arrays, and the public registry below. The registry's code lives in the core
(``paddlefocal._registry``) because the front-end uses it on every call and the fast paths import the
core, not the other way round; this module is its public face.

A path is a function ``path(call) -> array`` taking one validated ``Call`` (path interface version
``PATH_API``). A new argument of the loss becomes a new ``Call`` field with a default, so a backend
written for version 1 keeps working.

Examples
--------
>>> import numpy as np
>>> from paddlefocal import backends
>>> backends.path_name(np.zeros(3, np.float32))
'numpy'
"""

from paddlefocal._call import PATH_API, Call
from paddlefocal._cli.info import info
from paddlefocal._driver import Kernel, kernel_path
from paddlefocal._plugin import ENTRY_POINT_GROUP, Backend, Path
from paddlefocal._registry import (
    REFERENCE,
    namespace_for,
    path_name,
    register,
    registered,
    resolve,
    use,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "PATH_API",
    "REFERENCE",
    "Backend",
    "Call",
    "Kernel",
    "Path",
    "info",
    "kernel_path",
    "namespace_for",
    "path_name",
    "register",
    "registered",
    "resolve",
    "use",
]
