"""One rank of the DDP test (tests/test_scaleout.py): a module of its own, so that a spawned process
can import it by name."""

from __future__ import annotations

import os

import numpy as np

import paddlefocal.nn.functional as F


def batch():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(16, 5))
    label = (rng.uniform(size=(16, 4)) < 0.2).astype(np.float64)
    weight = rng.normal(size=(5, 4))
    return features, label, weight


def run(rank: int, world: int, port: int, out: str) -> None:
    import torch
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    features, label, weight = batch()
    model = torch.nn.Linear(5, 4, bias=False, dtype=torch.float64)
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(weight.T))
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    shard = slice(rank * 8, rank * 8 + 8)
    x = torch.from_numpy(features[shard])
    y = torch.from_numpy(label[shard])
    # PaddleDetection's pattern: positives all-reduced across ranks, divided by the world size.
    num_pos = (y >= 1).sum().to(torch.float64)
    dist.all_reduce(num_pos)
    normalizer = torch.clamp(num_pos / world, min=1.0)
    loss = F.sigmoid_focal_loss(ddp(x), y, normalizer=normalizer, reduction="sum")
    loss.backward()
    total = loss.detach().clone()
    dist.all_reduce(total)
    if rank == 0:
        np.savez(out, loss=(total / world).numpy(), grad=model.weight.grad.numpy())
    # Both ranks leave together: a rank that tears gloo down while its peer is still busy can make the
    # peer's transport threads abort the process.
    dist.barrier()
    dist.destroy_process_group()
