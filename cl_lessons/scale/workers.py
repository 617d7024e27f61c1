"""Worker functions for :func:`run_distributed` (importable, so ``spawn`` can find them).

``ddp_step`` is one optimisation step of a small encoder under DistributedDataParallel with
:func:`distributed_info_nce`; ``full_batch_step`` is the same step in one process on the whole
batch, the reference it must equal. ``probe`` is a tiny worker that reports its process id and
can fail or hang on purpose, to show (and test) what the launcher does then.
"""

from __future__ import annotations

import os
import time

import torch
import torch.distributed as dist
from torch import Tensor, nn

__all__ = ["ddp_step", "full_batch_step", "probe"]


def _setup(world_size: int, rows: int, seed: int) -> tuple[nn.Module, Tensor, Tensor]:
    """The same encoder (no batch statistics) and global batch of two views, from ``seed``."""
    from cl_lessons.models import MLPEncoder

    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(world_size * rows, 16, generator=gen)  # (W*n, 16)
    x1 = x + 0.3 * torch.randn(x.shape, generator=gen)  # two noisy views of each sample
    x2 = x + 0.3 * torch.randn(x.shape, generator=gen)
    torch.manual_seed(seed)
    return MLPEncoder(16, [32], 8), x1, x2


def _grads(model: nn.Module) -> list[Tensor]:
    return [p.grad.detach().clone() for p in model.parameters()]


def full_batch_step(world_size: int, rows: int, seed: int = 0, temperature: float = 0.2) -> dict:
    """One process, the whole batch of ``world_size * rows`` pairs: ``info_nce`` and its
    gradient. Returns ``{"loss": float, "grads": [tensor per parameter]}``."""
    from cl_lessons.losses import info_nce

    model, x1, x2 = _setup(world_size, rows, seed)
    z1, z2 = model(torch.cat([x1, x2])).chunk(2)
    loss = info_nce(z1, z2, temperature)
    loss.backward()
    return {"loss": loss.item(), "grads": _grads(model)}


def ddp_step(
    rank: int, world_size: int, rows: int, seed: int = 0, temperature: float = 0.2
) -> dict:
    """One DDP step, twice from the same start: each rank embeds its ``rows`` pairs of the
    global batch and computes :func:`distributed_info_nce` with the negatives of all ranks,
    gathered by :func:`gather_with_grad` and by the plain ``all_gather``.

    Returns ``{"gather_with_grad": {...}, "all_gather": {...}}``, each ``{"loss": mean of the
    ranks' losses, "grads": DDP's averaged gradient of every parameter}``, the same on every
    rank: compare them with :func:`full_batch_step`.
    """
    from torch.nn.parallel import DistributedDataParallel

    from cl_lessons.scale.collectives import distributed_info_nce

    out = {}
    for name, gradient in (("gather_with_grad", True), ("all_gather", False)):
        model, x1, x2 = _setup(world_size, rows, seed)
        mine = slice(rank * rows, (rank + 1) * rows)  # this rank's share of the global batch
        ddp = DistributedDataParallel(model)
        z1, z2 = ddp(torch.cat([x1[mine], x2[mine]])).chunk(2)  # one forward call per step
        loss = distributed_info_nce(z1, z2, temperature, gradient=gradient)
        loss.backward()  # DDP averages the parameter gradients over the ranks
        total = loss.detach().clone()
        dist.all_reduce(total)
        out[name] = {"loss": total.item() / world_size, "grads": _grads(model)}
    return out


def probe(rank: int, world_size: int, action: str = "ok", pid_dir: str | None = None) -> dict:
    """Write this process's id to ``pid_dir/rank<r>.pid``, then: ``"ok"`` sums the ranks with an
    all-reduce and returns ``{"rank", "pid", "sum"}``; ``"raise"`` raises on rank 0 (the others
    wait in a collective); ``"hang"`` sleeps for an hour on every rank."""
    if pid_dir is not None:
        with open(os.path.join(pid_dir, f"rank{rank}.pid"), "w") as f:
            f.write(str(os.getpid()))
    if action == "raise" and rank == 0:
        raise ValueError("rank 0 failed on purpose")
    if action == "hang":
        time.sleep(3600)
    total = torch.tensor([float(rank)])
    dist.all_reduce(total)
    return {"rank": rank, "pid": os.getpid(), "sum": total.item()}
