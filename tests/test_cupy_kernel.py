"""The CuPy kernel's CUDA C source, compiled without CuPy or a GPU: by the host C++ compiler against
mpmath, and by ``nvcc`` to PTX where it is installed.

The string compiled is ``paddlefocal.backends._cupy_kernel.SOURCE`` itself; the harness only defines
``__device__`` away and loops over the elements. What this does not cover: CuPy's own code generation
around the body (``ElementwiseKernel``/``ReductionKernel`` parameters, the float64 reduction) and the
GPU's math library (CUDA's exp/log1p are within 1-2 ulps, as glibc's are).
"""

from __future__ import annotations

import ctypes
import itertools
import re
import shutil
import subprocess

import mp_reference as mpr
import mpmath as mp
import numpy as np
import pytest
from paddlefocal.backends._cupy_kernel import SOURCE

from paddlefocal._derivatives import focal_elementwise_grads
from paddlefocal._reference import focal_elementwise

HARNESS = r"""
#include <cmath>
using std::exp; using std::fabs; using std::fmax; using std::fmin; using std::log; using std::log1p;
#define __device__
%s
template <typename T>
static void run(const T* x, const T* y, T alpha, T gamma, T* loss, T* dlogit, long n) {
    for (long i = 0; i < n; ++i) loss[i] = focal_loss_grad<T>(x[i], y[i], alpha, gamma, dlogit + i);
}
extern "C" void run_f32(const float* x, const float* y, float a, float g, float* l, float* d, long n) {
    run<float>(x, y, a, g, l, d, n);
}
extern "C" void run_f64(const double* x, const double* y, double a, double g, double* l, double* d,
                        long n) {
    run<double>(x, y, a, g, l, d, n);
}
"""

GPU_HARNESS = r"""
%s
template <typename T>
__global__ void focal(const T* x, const T* y, T alpha, T gamma, T* loss, T* dlogit, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) loss[i] = focal_loss_grad<T>(x[i], y[i], alpha, gamma, dlogit + i);
}
template __global__ void focal<float>(const float*, const float*, float, float, float*, float*, int);
template __global__ void focal<double>(const double*, const double*, double, double, double*,
                                       double*, int);
"""


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    compiler = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")
    if compiler is None:
        pytest.skip("no C++ compiler")
    folder = tmp_path_factory.mktemp("cupy-source")
    source = folder / "focal.cpp"
    source.write_text(HARNESS % SOURCE)
    shared = folder / "focal.so"
    # IEEE arithmetic as nvcc compiles it without --use_fast_math: no flushing, contraction allowed.
    subprocess.run(
        [compiler, "-O2", "-shared", "-fPIC", "-ffp-contract=fast", str(source), "-o", str(shared)],
        check=True,
    )
    return ctypes.CDLL(str(shared))


def _run(library, x: np.ndarray, y: np.ndarray, alpha: float, gamma: float):
    loss, grad = np.full_like(x, 7.0), np.full_like(x, 7.0)
    ctype = ctypes.c_float if x.dtype == np.float32 else ctypes.c_double
    fn = library.run_f32 if x.dtype == np.float32 else library.run_f64
    pointer = ctypes.POINTER(ctype)
    fn.argtypes = [pointer, pointer, ctype, ctype, pointer, pointer, ctypes.c_long]
    fn(
        *(a.ctypes.data_as(pointer) for a in (x, y)),
        ctype(alpha),
        ctype(gamma),
        *(a.ctypes.data_as(pointer) for a in (loss, grad)),
        x.size,
    )
    return loss, grad


ALPHA = 0.25
LABELS = [0.0, 1.0, 0.3, -100.0, 1.5, -0.2]
GAMMAS = [0.0, 0.5, 1.0, 2.0, 3.7]
MAGNITUDES = {
    np.float32: [0.0, 1e-30, 1e-8, 0.3, 1.0, 5.0, 20.0, 40.0, 89.0, 100.0],
    np.float64: [0.0, 1e-30, 1e-8, 0.3, 1.0, 5.0, 20.0, 40.0, 89.0, 700.0, 710.0, 740.0],
}
ULPS = {np.float32: 8, np.float64: 64}


def _truth(x: float, y: float, gamma: float):
    """(loss, d/dlogit) to 50 digits, or None where the reference decides (not a real number, or an
    infinite logit with a label outside [0, 1])."""
    if y == -100.0:
        return 0.0, 0.0
    a, g = mp.mpf(ALPHA), mp.mpf(gamma)
    if np.isinf(x):
        if not 0.0 <= y <= 1.0:
            return None
        return (
            mpr._loss_limit_at_infinity(x, y, ALPHA, gamma),
            mpr._limit_at_infinity(mpr.d_logit, x, mp.mpf(y), a, g),
        )
    mx, my = mp.mpf(x), mp.mpf(y)
    if mpr._pieces(mx, my)[3] < 0 and gamma != int(gamma):
        return None
    return float(mpr.loss(mx, my, a, g)), float(mpr.d_logit(mx, my, a, g))


def _units(ours: float, true: float, dtype) -> float:
    """Error in ulps where the true value is normal, in smallest subnormals below; inf for a nan, a
    wrong sign or a wrong infinity (against the true value rounded into the dtype)."""
    info = np.finfo(dtype)
    rounded = float(dtype(true))
    if ours == true or ours == rounded:
        return 0.0
    if np.isnan(ours) or np.sign(ours) != np.sign(rounded) or np.isinf(ours) != np.isinf(rounded):
        return np.inf
    if abs(true) >= float(info.tiny):
        return abs(ours - true) / abs(true) / float(info.eps)
    return abs(ours - true) / float(info.smallest_subnormal)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_source_compiled_on_the_cpu_equals_mpmath_to_a_few_ulps(library, dtype):
    logits = [*MAGNITUDES[dtype], *(-m for m in MAGNITUDES[dtype] if m), np.inf, -np.inf]
    points = list(itertools.product(logits, LABELS))
    x = np.array([p[0] for p in points], dtype)
    y = np.array([p[1] for p in points], dtype)
    worst = {"loss": 0.0, "d/dlogit": 0.0, "subnormal": 0.0}
    for gamma in GAMMAS:
        loss, grad = _run(library, x, y, ALPHA, gamma)
        with np.errstate(all="ignore"):
            ref = focal_elementwise(np, x, y, ALPHA, gamma)
            ref_grad = focal_elementwise_grads(np, x, y, ALPHA, gamma).logit
        for i in range(len(points)):
            truth = _truth(float(x[i]), float(y[i]), gamma)
            if truth is None:
                np.testing.assert_array_equal(loss[i], ref[i])
                assert np.isnan(grad[i]) == np.isnan(ref_grad[i])
                continue
            for name, ours, true in (("loss", loss[i], truth[0]), ("d/dlogit", grad[i], truth[1])):
                normal = abs(true) >= float(np.finfo(dtype).tiny) or true == 0 or np.isinf(true)
                units = _units(float(ours), true, dtype)
                assert units <= (ULPS[dtype] if normal else 4), (
                    f"{name} at logit {x[i]!r} label {y[i]!r} gamma {gamma}: ours {ours!r}, true {true!r}"
                )
                key = name if normal else "subnormal"
                worst[key] = max(worst[key], units)
    print(f"\nFIGURE CuPy source on the CPU, max error vs mpmath {np.dtype(dtype).name}: {worst}")


@pytest.mark.parametrize(
    "dtype, logit, expected", [(np.float32, -89.0, 1.67e-39), (np.float64, -710.0, 3.36e-309)]
)
def test_source_keeps_a_subnormal_loss(library, dtype, logit, expected):
    loss, _ = _run(library, np.array([logit], dtype), np.array([0.0], dtype), ALPHA, 0.0)
    assert abs(float(loss[0]) - expected) < 0.01 * expected


def test_source_gives_zero_and_zero_gradient_at_the_ignore_label(library):
    x = np.array([-1000.0, -20.0, -1.0, 0.0, 1.0, 20.0, np.inf, -np.inf], np.float32)
    for gamma in (0.5, 1.5, 2.5):
        loss, grad = _run(library, x, np.full_like(x, -100.0), ALPHA, gamma)
        assert (loss == 0).all() and (grad == 0).all()


def test_source_compiles_to_ptx_with_nvcc_without_spills_or_flushing(tmp_path):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not installed")
    source = tmp_path / "focal.cu"
    source.write_text(GPU_HARNESS % SOURCE)
    for arch in ("sm_80", "sm_90"):
        ptx = tmp_path / f"focal_{arch}.ptx"
        subprocess.run([nvcc, "-ptx", f"-arch={arch}", str(source), "-o", str(ptx)], check=True)
        text = ptx.read_text()
        assert text.count(".entry") == 2  # float and double
        assert "ld.local" not in text and "st.local" not in text
        # Arithmetic keeps subnormals (CUDA's expf reduces its argument and scales the result of an
        # ex2.approx.ftz on the reduced one: that intermediate is never subnormal).
        assert not re.search(r"\b(?:add|sub|mul|fma|div|rcp|sqrt)(?:\.\w+)*\.ftz\.f32", text)
        # One load per input element and one store per output element, in each entry.
        for entry in re.split(r"\.entry", text)[1:]:
            assert len(re.findall(r"\bld\.global\.\w+", entry)) == 2
            assert len(re.findall(r"\bst\.global\.\w+", entry)) == 2
