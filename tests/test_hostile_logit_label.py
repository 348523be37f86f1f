"""Odd but real ``logit`` and ``label`` arrays: the right answer, or a clear error naming the cause."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import paddlefocal.nn.functional as F
from paddlefocal import backends

LOGIT = np.array([[0.97, 0.91, 0.03], [0.55, 0.43, 0.71]], np.float32)
LABEL = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32)
PLAIN = F.sigmoid_focal_loss(LOGIT, LABEL, reduction="none")


class Tagged(np.ndarray):
    """A third party's ndarray subclass."""


def _memmap(tmp_path, values):
    mm = np.memmap(tmp_path / "a.bin", dtype=values.dtype, mode="w+", shape=values.shape)
    mm[...] = values
    return mm


# --- NumPy subclasses are NumPy arrays --------------------------------------------------------------


def test_memmap_logit_with_plain_label_equals_plain_arrays(tmp_path):
    logit = _memmap(tmp_path, LOGIT)
    out = F.sigmoid_focal_loss(logit, LABEL, reduction="none")
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, PLAIN)
    assert backends.path_name(logit) == "numpy"


@pytest.mark.parametrize(
    "make",
    [
        lambda a, tmp: _memmap(tmp, a),
        lambda a, tmp: a.view(np.recarray),
        lambda a, tmp: a.view(Tagged),
    ],
    ids=["memmap", "recarray", "subclass"],
)
def test_ndarray_subclass_label_is_the_same_library(tmp_path, make):
    label = make(LABEL.copy(), tmp_path)
    out = F.sigmoid_focal_loss(LOGIT, label, reduction="none")
    np.testing.assert_array_equal(np.asarray(out), PLAIN)
    total = F.sigmoid_focal_loss(LOGIT, label)
    assert type(total) is np.ndarray and total.shape == ()


def test_matrix_is_refused_because_it_is_always_2d():
    for argname, args in [
        ("logit", (np.matrix(LOGIT), LABEL)),
        ("label", (LOGIT, np.matrix(LABEL))),
    ]:
        with pytest.raises(
            TypeError, match=rf"'{argname}' must not be a NumPy matrix.*np\.asarray"
        ):
            F.sigmoid_focal_loss(*args)


def test_masked_arrays_stay_refused_for_every_argument():
    masked = np.ma.masked_array(LOGIT, mask=LOGIT > 0.9)
    for kwargs in [
        {"logit": masked, "label": LABEL},
        {"logit": LOGIT, "label": masked},
        {"logit": LOGIT, "label": LABEL, "normalizer": np.ma.masked_array(2.0)},
    ]:
        with pytest.raises(TypeError, match="masked array"):
            F.sigmoid_focal_loss(**kwargs)


# --- Dask ---------------------------------------------------------------------------------------------


def test_dask_masked_chunks_are_refused_like_numpy_masked_arrays():
    da = pytest.importorskip("dask.array")
    x = da.from_array(LOGIT, chunks=(1, 3))
    masked = da.ma.masked_array(x, mask=x > 0.9)
    with pytest.raises(TypeError, match="'logit' must not be a Dask array of NumPy masked arrays"):
        F.sigmoid_focal_loss(masked, da.from_array(LABEL, chunks=(1, 3)))


def test_dask_unknown_chunk_sizes_name_the_cause_and_the_cure():
    da = pytest.importorskip("dask.array")
    x = da.from_array(LOGIT.ravel(), chunks=2)
    y = da.from_array(LABEL.ravel(), chunks=2)
    keep = x > 0.5
    logit, label = x[keep], y[keep]
    with pytest.raises(
        ValueError, match=r"'logit' must have a known shape.*compute_chunk_sizes\(\)"
    ):
        F.sigmoid_focal_loss(logit, label)
    logit.compute_chunk_sizes()
    label.compute_chunk_sizes()
    got = F.sigmoid_focal_loss(logit, label, reduction="none").compute()
    chosen = LOGIT.ravel() > 0.5
    want = F.sigmoid_focal_loss(LOGIT.ravel()[chosen], LABEL.ravel()[chosen], reduction="none")
    np.testing.assert_allclose(got, want, rtol=1e-6)


# --- torch layouts ------------------------------------------------------------------------------------


def test_torch_sparse_and_nested_tensors_are_type_errors_with_the_cure():
    torch = pytest.importorskip("torch")
    x, y = torch.from_numpy(LOGIT), torch.from_numpy(LABEL)
    with pytest.raises(TypeError, match=r"layout torch.sparse_coo.*\.to_dense\(\)"):
        F.sigmoid_focal_loss(x.to_sparse(), y)
    with pytest.raises(TypeError, match=r"'label'.*layout torch.sparse_csr"):
        F.sigmoid_focal_loss(x, y.to_sparse_csr())
    jagged = torch.nested.nested_tensor([torch.zeros(3), torch.zeros(2)], layout=torch.jagged)
    with pytest.raises(TypeError, match=r"'logit'.*nested tensor.*to_padded_tensor"):
        F.sigmoid_focal_loss(jagged, jagged)


# --- array-api-strict, every version of the standard ----------------------------------------------------


@pytest.fixture
def strict():
    xp = pytest.importorskip("array_api_strict")
    yield xp
    xp.reset_array_api_strict_flags()


@pytest.mark.parametrize("version", ["2021.12", "2022.12", "2023.12", "2024.12"])
@pytest.mark.parametrize("reduction", ["sum", "none"])
def test_array_api_strict_works_on_every_version(strict, version, reduction):
    # Infinite logits, an ignored label and soft labels take every branch of the reference.
    x = np.array([[0.3, -2.0, np.inf, -np.inf, 40.0, 0.0]], np.float64)
    y = np.array([[1.0, 0.0, 1.0, 1.0, 1.0, -100.0]], np.float64)
    y[0, 1] = 0.25
    with backends.use("reference"), np.errstate(all="ignore"):
        want = F.sigmoid_focal_loss(x, y, np.asarray(2.0), 0.4, 0.5, reduction)
    strict.set_array_api_strict_flags(api_version=version)
    args = [strict.asarray(v) for v in (x, y, np.asarray(2.0), np.asarray(0.4), np.asarray(0.5))]
    got = F.sigmoid_focal_loss(*args, reduction)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12)
    got_numbers = F.sigmoid_focal_loss(args[0], args[1], args[2], 0.4, 0.5, reduction)
    np.testing.assert_allclose(np.asarray(got_numbers), want, rtol=1e-12)


# --- JAX: one device set ---------------------------------------------------------------------------------

_SHARDED = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import paddlefocal.nn.functional as F

    devices = jax.devices()
    assert len(devices) == 2, devices
    mesh = Mesh(np.array(devices), ("d",))
    x = np.linspace(-3, 3, 8, dtype=np.float32).reshape(2, 4)
    y = (np.arange(8) % 2).astype(np.float32).reshape(2, 4)
    want = np.asarray(F.sigmoid_focal_loss(x, y, reduction="none"))
    logit = jax.device_put(x, NamedSharding(mesh, P(None, "d")))
    for spec in (P("d", None), P()):
        label = jax.device_put(y, NamedSharding(mesh, spec))
        got = F.sigmoid_focal_loss(logit, label, reduction="none")
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)
    try:
        F.sigmoid_focal_loss(jax.device_put(x, devices[0]), jax.device_put(y, devices[1]))
    except ValueError as exc:
        assert "all arrays must be on one device" in str(exc), exc
    else:
        raise AssertionError("arrays on two single devices were accepted")
    print("ok")
    """
)


def test_jax_arrays_over_one_device_set_are_one_device_whatever_their_sharding():
    pytest.importorskip("jax")
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    env["JAX_PLATFORMS"] = "cpu"
    done = subprocess.run(
        [sys.executable, "-c", _SHARDED], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
