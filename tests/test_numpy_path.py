"""The NumPy path's blocks, threads and thread-count knob: same bits on any thread count, no
oversubscription, odd blocks on the reference formulas, both log1p code paths."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
from helpers import tol
from paddlefocal.backends import numpy as kernel
from paddlefocal.backends import numpy as numpy_path

import paddlefocal
import paddlefocal.nn.functional as F
from paddlefocal import _driver, _threads, backends
from paddlefocal._call import Call
from paddlefocal._reference import focal_elementwise, reference_loss

DTYPES = [np.float32, np.float64]


def _data(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=4, size=n)
    y = rng.uniform(size=n)
    y[::3] = 1.0
    y[1::3] = 0.0
    return x.astype(dtype), y.astype(dtype)


@pytest.fixture
def threads():
    """Set the thread count for one test and put the previous one back."""
    previous = paddlefocal.get_num_threads()
    yield paddlefocal.set_num_threads
    paddlefocal.set_num_threads(previous)


@pytest.fixture
def workers_used(monkeypatch):
    """The number of threads each NumPy call ran on, in call order."""
    used: list[int] = []
    real = _threads.run_all

    def spy(tasks):
        used.append(len(tasks))
        return real(tasks)

    monkeypatch.setattr(_driver, "run_all", spy)
    return used


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_results_are_bit_identical_for_every_thread_count(dtype, reduction, threads, workers_used):
    block = kernel.block_size(np.dtype(dtype))
    x, y = _data(8 * kernel.thread_grain(np.dtype(dtype)) + block + 123, dtype)
    x[block + 5], y[3 * block + 7] = np.inf, -100.0  # two blocks on the reference formulas
    normalizer = np.asarray(3.0, dtype)
    results = {}
    for count in (1, 2, 3, 8):
        threads(count)
        results[count] = F.sigmoid_focal_loss(x, y, normalizer, 0.25, 2.0, reduction)
    assert workers_used == [1, 2, 3, 8]
    for count, result in results.items():
        assert result.dtype == dtype
        assert result.tobytes() == results[1].tobytes(), count


def test_small_inputs_stay_on_the_calling_thread(threads, workers_used):
    threads(8)
    grain = kernel.thread_grain(np.dtype(np.float32))
    # A one-block call (17 elements) runs its kernel without the pool: not counted.
    for n in (17, grain, 2 * grain - 1, 2 * grain, 5 * grain):
        F.sigmoid_focal_loss(*_data(n, np.float32))
    # At most one thread per grain (four blocks), and none for fewer than two grains.
    assert workers_used == [1, 1, 2, 5]


def test_calls_from_eight_caller_threads_are_single_threaded(threads, workers_used):
    threads(4)
    x, y = _data(2**20, np.float32)
    expected = F.sigmoid_focal_loss(x, y)
    assert workers_used == [4]
    results = [None] * 8

    def call(i):
        results[i] = F.sigmoid_focal_loss(x, y)

    pool = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert workers_used[1:] == [1] * 8
    assert all(r.tobytes() == expected.tobytes() for r in results)


def test_dask_tasks_run_the_kernel_single_threaded(threads, workers_used):
    da = pytest.importorskip("dask.array")
    import dask

    threads(4)
    x, y = _data(2**19, np.float32)
    lazy = F.sigmoid_focal_loss(da.from_array(x, chunks=2**17), da.from_array(y, chunks=2**17))
    # A NumPy call inside a task of Dask's threaded scheduler, too.
    direct = dask.delayed(lambda a, b: F.sigmoid_focal_loss(a, b))(x, y)
    value, direct_value = dask.compute(lazy, direct, scheduler="threads")
    assert len(workers_used) == 5
    assert workers_used == [1] * 5
    np.testing.assert_allclose(value, F.sigmoid_focal_loss(x, y), rtol=1e-6)
    assert direct_value.tobytes() == F.sigmoid_focal_loss(x, y).tobytes()


class _LossDataset:
    """A torch dataset whose items report the threads a large NumPy call would get, and its loss."""

    def __len__(self):
        return 2

    def __getitem__(self, i):
        x, y = _data(2**20, np.float32, seed=i)
        workers = _threads.threads_for(x.size, kernel.thread_grain(x.dtype))
        return workers, float(F.sigmoid_focal_loss(x, y))


# Fork, as DataLoader's default on Linux: JAX, imported by other tests of the session, warns of it.
@pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")
def test_torch_dataloader_workers_are_single_threaded(threads):
    torch = pytest.importorskip("torch")
    threads(4)
    dataset = _LossDataset()
    in_main = [dataset[i] for i in range(2)]
    assert [w for w, _ in in_main] == [4, 4]
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=None, num_workers=2, multiprocessing_context="fork"
    )
    in_workers = list(loader)
    assert [int(w) for w, _ in in_workers] == [1, 1]
    assert [float(v) for _, v in in_workers] == [v for _, v in in_main]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.7])
def test_blocks_with_odd_elements_are_the_reference_formulas(dtype, gamma):
    block = kernel.block_size(np.dtype(dtype))
    x, y = _data(7 * block, dtype)
    big = 100.0 if dtype == np.float32 else 800.0  # sigmoid(-big) is subnormal or 0, exp(big) inf
    odd = {
        0: lambda: x.__setitem__(3, np.nan),
        1: lambda: x.__setitem__(block + 4, -np.inf),
        2: lambda: y.__setitem__(2 * block + 5, -100.0),
        3: lambda: y.__setitem__(3 * block + 6, 1.5),
        4: lambda: (x.__setitem__(4 * block + 7, big), y.__setitem__(4 * block + 7, 1.0)),
        5: lambda: (x.__setitem__(5 * block + 8, -big), y.__setitem__(5 * block + 8, 0.3)),
    }
    for make in odd.values():
        make()
    got = F.sigmoid_focal_loss(x, y, None, 0.3, gamma, "none")
    with np.errstate(all="ignore"):
        for i in range(7):
            part = slice(i * block, (i + 1) * block)
            want = focal_elementwise(np, x[part], y[part], 0.3, gamma)
            # Without a focal factor, neither a subnormal 1 - p_t nor exp(big) matters.
            if i in odd and (i < 4 or gamma != 0.0):
                assert got[part].tobytes() == want.tobytes(), i
            else:  # the fused kernel
                np.testing.assert_allclose(got[part], want, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_log_with_correction_equals_the_reference_like_log1p(dtype, reduction, monkeypatch):
    # The branch NumPy's AVX2 code path takes in float32 (where log1p is not vectorized), on any CPU.
    x, y = _data(3 * kernel.block_size(np.dtype(dtype)) + 11, dtype)
    x[:8] = [0.0, 1e-8, -1e-8, 20.0, -20.0, 40.0, -40.0, 15.0]
    with np.errstate(all="ignore"):
        want = reference_loss(Call(x, y, None, 0.25, 2.0, reduction, np))
    for fast in (frozenset(), frozenset({np.dtype(dtype)})):
        monkeypatch.setattr(kernel, "FAST_LOG1P", fast)
        got = F.sigmoid_focal_loss(x, y, None, 0.25, 2.0, reduction)
        t = tol(dtype) if reduction == "none" else {"rtol": 10 * tol(dtype)["rtol"], "atol": 0}
        np.testing.assert_allclose(got, want, **t)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [0, 1, 6, numpy_path.TINY])
def test_tiny_inputs_equal_the_reference(dtype, n):
    x, y = _data(n, dtype, seed=n)
    for reduction in ("sum", "mean", "none"):
        got = F.sigmoid_focal_loss(x, y, np.asarray([2.0], dtype), 0.3, 3.7, reduction)
        with backends.use("reference"), np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's mean of nothing
            want = F.sigmoid_focal_loss(x, y, np.asarray([2.0], dtype), 0.3, 3.7, reduction)
        assert got.dtype == dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, equal_nan=True, **tol(dtype))


@pytest.mark.parametrize("odd", ["nan-logit", "inf-logit", "ignored-label", "subnormal"])
def test_tiny_inputs_with_odd_elements_are_the_reference_formulas(odd):
    x, y = _data(6, np.float64)
    if odd == "nan-logit":
        x[2] = np.nan
    elif odd == "inf-logit":
        x[2] = np.inf
    elif odd == "ignored-label":
        y[2] = -100.0
    else:
        x[2], y[2] = 800.0, 1.0
    got = F.sigmoid_focal_loss(x, y, None, 0.25, 0.5, "none")
    with np.errstate(all="ignore"):
        want = focal_elementwise(np, x, y, 0.25, 0.5)
    assert got.tobytes() == want.tobytes()


def test_negative_gamma_is_the_reference():
    x, y = _data(5000, np.float64)
    for reduction in ("sum", "none"):
        got = F.sigmoid_focal_loss(x, y, None, 0.25, -0.5, reduction)
        with np.errstate(all="ignore"):
            want = reference_loss(Call(x, y, None, 0.25, -0.5, reduction, np))
        assert got.tobytes() == want.tobytes()


def test_set_num_threads_rejects_bad_counts_naming_the_argument(threads):
    with pytest.raises(TypeError, match=r"'n' must be a positive int, but received float 2\.0"):
        paddlefocal.set_num_threads(2.0)
    with pytest.raises(TypeError, match="received bool True"):
        paddlefocal.set_num_threads(True)
    with pytest.raises(ValueError, match="received 0"):
        paddlefocal.set_num_threads(0)
    threads(3)
    assert paddlefocal.get_num_threads() == 3


def _fresh_count(env_value):
    env = {k: v for k, v in os.environ.items() if k != _threads.ENV_VAR}
    if env_value is not None:
        env[_threads.ENV_VAR] = env_value
    code = (
        "import warnings, paddlefocal\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    n = paddlefocal.get_num_threads()\n"
        "print(n, len(w), sep='\\n')\n"
        "print(*(x.message for x in w))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    count, warned, message = out.stdout.split("\n", 2)
    return int(count), int(warned), message


def test_environment_variable_sets_the_count_and_default_is_usable_cpus_up_to_8():
    default = min(len(os.sched_getaffinity(0)), 8)
    assert _fresh_count(None)[:2] == (default, 0)
    assert _fresh_count("3")[:2] == (3, 0)
    count, warned, message = _fresh_count("lots")
    assert (count, warned) == (default, 1)
    assert "PADDLEFOCAL_NUM_THREADS must be a positive integer, but is 'lots'" in message


def test_torch_cpu_tensors_use_no_more_threads_than_torch(threads, workers_used):
    """torch's CPU tensors run NumPy's kernel on paddlefocal's pool, capped by torch's own count."""
    torch = pytest.importorskip("torch")
    threads(8)
    x, y = (torch.from_numpy(a) for a in _data(2**20, np.float32))
    previous = torch.get_num_threads()
    try:
        for count in (1, 3):
            torch.set_num_threads(count)
            F.sigmoid_focal_loss(x, y)
    finally:
        torch.set_num_threads(previous)
    assert workers_used == [1, 3]
