"""The catalogue of bad calls: each raises the documented exception type, from the front-end, with a
message naming the argument. Organised by argument; each library runs the rows that apply to it."""

from __future__ import annotations

import traceback
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from helpers import lib, selected_libs

import paddlefocal
import paddlefocal.nn.functional as F

PACKAGE = Path(paddlefocal.__file__).resolve().parent
FRONT_END = {PACKAGE / name for name in ("_validation.py", "_kinds.py", "_errors.py", "_loss.py")}


class Pretender:
    """Claims to be an array, but its namespace is broken."""

    shape = (2, 3)
    dtype = np.float32
    ndim = 2

    def __array_namespace__(self, api_version=None):
        raise RuntimeError("no namespace here")


class Liar:
    """Claims to be an array and returns something that is not a namespace."""

    shape = (2, 3)
    ndim = 2
    dtype = "float32"

    def __array_namespace__(self, api_version=None):
        return 42


class NoDtype:
    """Has ``__array_namespace__`` (NumPy's) and a shape, but no dtype."""

    shape = (2, 3)
    ndim = 2

    def __array_namespace__(self, api_version=None):
        return np


def _rows_reduction(x, y):
    return [
        ("reduction-None", (x, y), {"reduction": None}, ValueError, "'reduction'"),
        ("reduction-SUM", (x, y), {"reduction": "SUM"}, ValueError, "'reduction'"),
        ("reduction-avg", (x, y), {"reduction": "avg"}, ValueError, "'reduction'"),
        ("reduction-int", (x, y), {"reduction": 1}, ValueError, "'reduction'"),
        ("reduction-empty", (x, y), {"reduction": ""}, ValueError, "'reduction'"),
    ]


def _rows_logit_label(a, x, y):
    return [
        ("logit-list", ([[0.0] * 3] * 2, y), {}, TypeError, "'logit'"),
        ("logit-None", (None, y), {}, TypeError, "'logit'"),
        ("logit-str", ("logit", y), {}, TypeError, "'logit'"),
        ("logit-float", (0.5, y), {}, TypeError, "'logit'"),
        ("logit-numpy-scalar", (np.float32(0.5), y), {}, TypeError, "'logit'"),
        ("label-list", (x, [[1.0] * 3] * 2), {}, TypeError, "'label'"),
        ("label-None", (x, None), {}, TypeError, "'label'"),
        ("logit-int32", (a(np.zeros((2, 3)), np.int32), y), {}, TypeError, "'logit'"),
        ("logit-bool", (a(np.zeros((2, 3)), bool), y), {}, TypeError, "'logit'"),
        ("logit-float16", (a(np.zeros((2, 3)), np.float16), y), {}, TypeError, "'logit'"),
        ("logit-complex", (a(np.zeros((2, 3)), np.complex64), y), {}, TypeError, "'logit'"),
        ("label-int64", (x, a(np.ones((2, 3)), np.int64)), {}, TypeError, "'label'"),
        ("label-float64", (x, a(np.ones((2, 3)), np.float64)), {}, TypeError, "'label'"),
        ("label-transposed-shape", (x, a(np.ones((3, 2)))), {}, ValueError, "'label'"),
        ("label-extra-dim", (x, a(np.ones((2, 3, 1)))), {}, ValueError, "'label'"),
        ("label-broadcastable", (x, a(np.ones((1, 3)))), {}, ValueError, "'label'"),
        ("label-0d", (x, a(1.0)), {}, ValueError, "'label'"),
        ("pretender-logit", (Pretender(), y), {}, TypeError, "'logit'"),
        ("liar-logit", (Liar(), y), {}, TypeError, "'logit'"),
        ("pretender-label", (x, Pretender()), {}, TypeError, "'label'"),
        ("no-dtype-logit", (NoDtype(), y), {}, TypeError, "'logit'"),
        ("no-dtype-label", (x, NoDtype()), {}, TypeError, "'label'"),
    ]


def _rows_normalizer(a, x, y):
    return [
        ("normalizer-float", (x, y), {"normalizer": 2.0}, TypeError, "'normalizer'"),
        ("normalizer-int", (x, y), {"normalizer": 2}, TypeError, "'normalizer'"),
        ("normalizer-str", (x, y), {"normalizer": "2"}, TypeError, "'normalizer'"),
        ("normalizer-list", (x, y), {"normalizer": [2.0]}, TypeError, "'normalizer'"),
        ("normalizer-2d", (x, y), {"normalizer": a([[2.0]])}, ValueError, "normalizer"),
        ("normalizer-shape-3", (x, y), {"normalizer": a([1.0, 2.0, 3.0])}, ValueError, "'normalizer'"),
        ("normalizer-shape-0", (x, y), {"normalizer": a(np.zeros(0))}, ValueError, "'normalizer'"),
        ("normalizer-int-dtype-1", (x, y), {"normalizer": a([2], np.int64)}, TypeError, "'normalizer'"),
        ("normalizer-bool-dtype-1", (x, y), {"normalizer": a([True], bool)}, TypeError, "'normalizer'"),
        ("normalizer-no-dtype", (x, y), {"normalizer": NoDtype()}, TypeError, "'normalizer'"),
    ]  # fmt: skip


def _rows_alpha_gamma(a, x, y):
    return [
        ("alpha-True", (x, y), {"alpha": True}, TypeError, "'alpha'"),
        ("alpha-None", (x, y), {"alpha": None}, TypeError, "'alpha'"),
        ("alpha-str", (x, y), {"alpha": "0.25"}, TypeError, "'alpha'"),
        ("alpha-nan", (x, y), {"alpha": float("nan")}, ValueError, "'alpha'"),
        ("alpha-inf", (x, y), {"alpha": float("inf")}, ValueError, "'alpha'"),
        ("alpha-10**400", (x, y), {"alpha": 10**400}, ValueError, "'alpha'"),
        ("alpha-1e300-in-float32", (x, y), {"alpha": 1e300}, ValueError, "'alpha'"),
        ("alpha-0d-nan", (x, y), {"alpha": a(np.nan)}, ValueError, "'alpha'"),
        ("alpha-0d-1e300-float64-in-float32", (x, y), {"alpha": a(1e300, np.float64)}, ValueError, "'alpha'"),
        ("alpha-1d-array", (x, y), {"alpha": a([0.25, 0.5])}, ValueError, "'alpha'"),
        ("alpha-bool-array", (x, y), {"alpha": a(True, bool)}, TypeError, "'alpha'"),
        ("gamma-False", (x, y), {"gamma": False}, TypeError, "'gamma'"),
        ("gamma-nan", (x, y), {"gamma": float("nan")}, ValueError, "'gamma'"),
        ("gamma--inf", (x, y), {"gamma": -float("inf")}, ValueError, "'gamma'"),
        ("gamma-Fraction(10**400,3)", (x, y), {"gamma": Fraction(10**400, 3)}, ValueError, "'gamma'"),
        ("gamma-0d-inf", (x, y), {"gamma": a(np.inf)}, ValueError, "'gamma'"),
        ("gamma-complex", (x, y), {"gamma": 2 + 0j}, TypeError, "'gamma'"),
        ("gamma-list", (x, y), {"gamma": [2.0]}, TypeError, "'gamma'"),
        ("gamma-bool-numpy", (x, y), {"gamma": np.bool_(True)}, TypeError, "'gamma'"),
    ]  # fmt: skip


def _rows_signature(x, y):
    return [
        ("unknown-keyword", (x, y), {"weight": 1.0}, TypeError, "'weight'"),
        ("too-many-positional", (x, y, None, 0.25, 2.0, "sum", None, 1), {}, TypeError, "positional"),
    ]  # fmt: skip


def _rows_numpy(x, y):
    masked = np.ma.masked_array(np.zeros((2, 3), np.float32))
    matrix = np.matrix(np.zeros((2, 3), np.float32))
    return [
        ("masked-logit", (masked, y), {}, TypeError, "'logit'"),
        ("masked-label", (x, masked), {}, TypeError, "'label'"),
        ("masked-normalizer", (x, y), {"normalizer": np.ma.masked_array(2.0)}, TypeError, "'normalizer'"),
        ("matrix-logit", (matrix, y), {}, TypeError, "'logit'"),
        ("matrix-label", (x, matrix), {}, TypeError, "'label'"),
        ("normalizer-numpy-complex-scalar", (x, y), {"normalizer": np.complex64(2)}, TypeError, "'normalizer'"),
    ]  # fmt: skip


def _rows_torch(x, y):
    import torch

    def nested(layout):
        return torch.nested.nested_tensor([torch.zeros(3), torch.zeros(2)], layout=layout)

    norm = torch.tensor([2.0])
    return [
        ("meta-device", (x.to("meta"), y.to("meta")), {}, ValueError, "'logit'"),
        ("bfloat16", (x.bfloat16(), y.bfloat16()), {}, TypeError, "'logit'"),
        ("sparse-coo-logit", (x.to_sparse(), y), {}, TypeError, "'logit'"),
        ("sparse-coo-label", (x, y.to_sparse()), {}, TypeError, "'label'"),
        ("sparse-csr-logit", (x.to_sparse_csr(), y), {}, TypeError, "'logit'"),
        ("sparse-csr-label", (x, y.to_sparse_csr()), {}, TypeError, "'label'"),
        ("sparse-coo-normalizer", (x, y), {"normalizer": norm.to_sparse()}, TypeError, "'normalizer'"),
        ("nested-strided-logit", (nested(torch.strided), nested(torch.strided)), {}, TypeError, "'logit'"),
        ("nested-jagged-logit", (nested(torch.jagged), nested(torch.jagged)), {}, TypeError, "'logit'"),
        ("nested-jagged-label", (x, nested(torch.jagged)), {}, TypeError, "'label'"),
        ("numpy-scalar-normalizer-with-torch", (x, y), {"normalizer": np.float32(2.0)}, TypeError, "'normalizer'"),
    ]  # fmt: skip


def _rows_other_library(lb, x, y):
    other = "torch" if lb.name != "torch" else "numpy"
    if other not in selected_libs() and other != "numpy":
        return []
    other_lib = lib(other)
    return [
        ("label-other-library", (x, other_lib.from_numpy(np.zeros((2, 3), np.float32))), {}, TypeError, "'label'"),
        ("normalizer-other-library", (x, y), {"normalizer": other_lib.from_numpy(np.asarray(2.0, np.float32))}, TypeError, "'normalizer'"),
    ]  # fmt: skip


def _rows_dask():
    import dask.array as da

    x = da.from_array(np.array([[0.5, -1.0, 2.0]], np.float32))
    masked = da.ma.masked_array(x, mask=x > 0)
    unknown = x[x > 0]
    return [
        ("dask-masked-logit", (masked, x), {}, TypeError, "'logit'"),
        ("dask-masked-label", (x, masked), {}, TypeError, "'label'"),
        ("dask-unknown-chunks-logit", (unknown, unknown), {}, ValueError, "compute_chunk_sizes"),
        ("dask-unknown-chunks-label", (x[0], unknown), {}, ValueError, "'label'"),
    ]


def _catalogue(name):
    """(id, args, kwargs, exception, fragment the message must hold) for library ``name``."""
    if name == "dask":
        return _rows_dask()
    lb = lib(name)
    a = lambda v, dt=np.float32: lb.from_numpy(np.asarray(v, dt))  # noqa: E731
    x, y = a(np.zeros((2, 3))), a(np.ones((2, 3)))
    rows = _rows_reduction(x, y) + _rows_logit_label(a, x, y) + _rows_normalizer(a, x, y)
    rows += _rows_alpha_gamma(a, x, y) + _rows_signature(x, y) + _rows_other_library(lb, x, y)
    if name == "numpy":
        rows += _rows_numpy(x, y)
    if name == "torch":
        rows += _rows_torch(x, y)
    return rows


CATALOGUE_LIBS = [n for n in ("numpy", "torch", "jax", "dask") if n in selected_libs()]


def _catalogue_ids():
    return [(name, row[0]) for name in CATALOGUE_LIBS for row in _catalogue(name)]


@pytest.mark.parametrize(("lib_name", "case"), _catalogue_ids())
def test_bad_call_raises_a_documented_error_from_the_front_end(lib_name, case):
    row = next(r for r in _catalogue(lib_name) if r[0] == case)
    _, args, kwargs, exc_type, fragment = row
    with pytest.raises(exc_type) as info:
        F.sigmoid_focal_loss(*args, **kwargs)
    assert fragment in str(info.value)
    frames = traceback.extract_tb(info.value.__traceback__)
    # Raised by our front-end (or by Python's own argument binding), never deep inside a backend.
    last = Path(frames[-1].filename).resolve()
    assert last in FRONT_END or len(frames) == 1, frames[-1]


def test_catalogue_has_at_least_40_distinct_bad_calls_per_library():
    for name in ("numpy", "torch", "jax"):
        if name in CATALOGUE_LIBS:
            assert len({row[0] for row in _catalogue(name)}) >= 40


def distinct_bad_calls():
    """The number of distinct bad calls in the catalogue, over every library it runs on."""
    return len({row[0] for name in CATALOGUE_LIBS for row in _catalogue(name)})
