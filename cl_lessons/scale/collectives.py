"""``gather_with_grad`` and ``distributed_info_nce``: negatives from every process, gradients back.

``torch.distributed.all_gather`` copies tensors into a list but records nothing for autograd: a
loss computed on the gathered embeddings sends no gradient to the embeddings of other processes,
and PyTorch says nothing. Here the backward pass of the gather sums the gradient that every
process computed for every slice (an all-reduce) and hands each process the slice of its own
embeddings, so DistributedDataParallel's averaging of parameter gradients yields exactly the
gradient of the loss on the whole global batch.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
from torch import Tensor

from cl_lessons._checks import check_bool, check_embeddings, check_positive, check_same_shape
from cl_lessons.distances import _unit

__all__ = ["distributed_info_nce", "gather_with_grad", "plain_all_gather"]


def _world() -> tuple[int, int]:
    """``(rank, world_size)`` of the default process group, ``(0, 1)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _check_equal_rows(x: Tensor, world: int) -> None:
    rows = torch.tensor([x.shape[0]], device=x.device)
    every = [torch.zeros_like(rows) for _ in range(world)]
    dist.all_gather(every, rows)
    sizes = [int(r) for r in every]
    if len(set(sizes)) != 1:
        raise ValueError(
            f"x must have the same number of rows on every process, got {sizes}: drop the last, "
            "smaller batch (DistributedSampler(drop_last=True), DataLoader(drop_last=True))"
        )


class _GatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        rank, world = _world()
        parts = [torch.empty_like(x) for _ in range(world)]
        dist.all_gather(parts, x.contiguous())
        ctx.rank, ctx.rows = rank, x.shape[0]
        return torch.cat(parts)  # (W*B, D)

    @staticmethod
    def backward(ctx, grad: Tensor):
        grad = grad.contiguous().clone()  # (W*B, D) this process's gradient for every slice
        dist.all_reduce(grad)  # summed over the processes
        start = ctx.rank * ctx.rows
        return grad[start : start + ctx.rows]  # (B, D) the slice of this process's x


def gather_with_grad(x: Tensor) -> Tensor:
    """All-gather ``x`` from every process, keeping the gradient of every slice.

    The result is the rows of process 0, then of process 1, ... in the same order on every
    process. Backward: each process's gradient for the whole result is summed over the
    processes (all-reduce), and each process keeps the slice of its own ``x``. Without an
    initialised process group (or with one process) ``x`` is returned unchanged.

    Args:
        x: this process's tensor; the same number of rows on every process.

    Returns:
        The concatenation of every process's ``x``.

    Shape:
        ``(B, *)`` -> ``(W * B, *)``, ``W`` the world size.

    Raises:
        ValueError: ``x`` is not a tensor with at least one dimension, or the number of rows
            differs between processes.
    """
    if not isinstance(x, Tensor) or x.ndim == 0:
        raise ValueError(f"x must be a tensor with at least one dimension, got {type(x).__name__}")
    _, world = _world()
    if world == 1:
        return x
    _check_equal_rows(x, world)
    return _GatherWithGrad.apply(x)


def plain_all_gather(x: Tensor) -> Tensor:
    """The common, *wrong* way: ``torch.distributed.all_gather``, own slice put back.

    This process's rows keep their gradient (they are ``x`` itself), but the other processes'
    rows are constants here, so the gradient that this process's loss sends to them is dropped.
    Kept for the lesson and the tests, to show by numbers what :func:`gather_with_grad` fixes.

    Shape:
        ``(B, *)`` -> ``(W * B, *)``.
    """
    rank, world = _world()
    if world == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(world)]
    dist.all_gather(parts, x.detach().contiguous())
    parts[rank] = x
    return torch.cat(parts)


def distributed_info_nce(
    z1: Tensor, z2: Tensor, temperature: float = 0.1, gradient: bool = True
) -> Tensor:
    """NT-Xent with the negatives of every process: this process's anchors against all views.

    With ``W`` processes holding ``N`` pairs each, the global batch is the ``W*N`` pairs in rank
    order. Each of this process's ``2N`` views is an anchor whose positive is its partner and
    whose negatives are the other ``2WN - 2`` views of *all* processes; the loss returned is the
    mean over this process's anchors. The mean of the ``W`` returned losses is
    ``info_nce`` of the global batch, and, because the gather back-propagates
    (:func:`gather_with_grad`), DistributedDataParallel's average of the parameter gradients is
    exactly the gradient of that global loss. Without a process group it equals ``info_nce``.

    Args:
        z1: this process's embeddings of the first views.
        z2: of the second views, row ``k`` the partner of ``z1[k]``.
        temperature: softmax temperature, > 0.
        gradient: ``False`` uses :func:`plain_all_gather` (the bug, for demonstrations).

    Returns:
        This process's loss, a scalar.

    Shape:
        ``z1``, ``z2``: ``(N, D)``, the same ``N`` on every process -> ``()``.

    Raises:
        ValueError: as :func:`~cl_lessons.losses.info_nce`; ``N`` differs between processes.

    Reference:
        Chen et al. 2020, SimCLR, https://arxiv.org/abs/2002.05709 (negatives from all cores,
        with global batch norm).
    """
    z1 = check_embeddings(z1, "z1")
    z2 = check_embeddings(z2, "z2")
    check_same_shape(z1, z2, "z1", "z2")
    temperature = check_positive(temperature, "temperature")
    gather = gather_with_grad if check_bool(gradient, "gradient") else plain_all_gather
    rank, world = _world()
    n = z1.shape[0]
    u = _unit(torch.cat([z1, z2]))  # (2N, D)
    keys = torch.cat([gather(u[:n]), gather(u[n:])])  # (2WN, D): all first views, all second
    logits = u @ keys.T / temperature  # (2N, 2WN)
    own = rank * n + torch.arange(n, device=u.device)  # (N,) global index of this rank's pairs
    self_col = torch.cat([own, own + world * n])  # (2N,) where each anchor sits among the keys
    partner_col = torch.cat([own + world * n, own])  # (2N,)
    rows = torch.arange(2 * n, device=u.device)
    logits = logits.index_put((rows, self_col), torch.tensor(-math.inf, dtype=logits.dtype))
    losses = torch.logsumexp(logits, 1) - logits[rows, partner_col]  # (2N,)
    return losses.mean()
