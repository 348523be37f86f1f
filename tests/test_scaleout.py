"""Scale-out: a dask.distributed cluster of 2 processes, torch DDP with gloo, both on loopback."""

from __future__ import annotations

import socket

import ddp_worker
import numpy as np
import pytest

import paddlefocal.nn.functional as F


@pytest.mark.slow
def test_dask_cluster_2_workers_2_28_elements_equals_numpy_within_memory_limit():
    pytest.importorskip("distributed")
    import dask_cluster  # benchmarks/dask_cluster.py, importable through pytest's pythonpath

    result = dask_cluster.run(log2n=28, memory_limit="1.5GiB")
    expected = dask_cluster.numpy_value(28)
    np.testing.assert_allclose(result["value"], expected, rtol=1e-6)
    assert result["restarts"] == 0
    # Each worker held a few chunks, never the 1 GiB arrays.
    assert max(result["worker_peak_rss_mib"]) < 1024
    print(
        f"\ndask cluster: {result['elements_per_second'] / 1e6:.1f} M elements/s, worker peak RSS "
        f"{result['worker_peak_rss_mib']} MiB"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_torch_ddp_gloo_equals_one_process_on_the_whole_batch(tmp_path):
    torch = pytest.importorskip("torch")
    import torch.multiprocessing as mp

    out = str(tmp_path / "ddp.npz")
    # The worker lives in a module of its own: a spawned process imports it by name.
    mp.spawn(ddp_worker.run, args=(2, _free_port(), out), nprocs=2, join=True)
    got = np.load(out)
    features, label, weight = ddp_worker.batch()
    model = torch.nn.Linear(5, 4, bias=False, dtype=torch.float64)
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(weight.T))
    y = torch.from_numpy(label)
    normalizer = torch.clamp((y >= 1).sum().to(torch.float64), min=1.0)
    loss = F.sigmoid_focal_loss(model(torch.from_numpy(features)), y, normalizer=normalizer)
    loss.backward()
    np.testing.assert_allclose(got["loss"], loss.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["grad"], model.weight.grad.numpy(), rtol=1e-12)
