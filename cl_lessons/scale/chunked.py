"""``info_nce_chunked``: NT-Xent in row blocks, so the ``(2N, 2N)`` matrix never exists."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from cl_lessons._checks import check_embeddings, check_int, check_positive, check_same_shape
from cl_lessons.distances import _unit
from cl_lessons.losses.infonce import _FAST_EXPONENT

__all__ = ["info_nce_chunked"]


class _ChunkedNTXent(torch.autograd.Function):
    """NT-Xent on unit rows, one block of ``chunk`` anchor rows at a time.

    The gradient of :class:`cl_lessons.losses.infonce._NTXent` is
    ``dL/dz = ((P + P^T) z - 2 z_partner) / (2N T)``. Both products are sums over blocks of rows
    of ``P``: ``(P z)[blk] = P[blk] @ z`` and ``P^T z = sum_blk P[blk]^T @ z[blk]``. So the forward
    pass, while it holds one block of probabilities, also adds that block's share of the
    gradient; nothing of size ``(2N, 2N)`` is kept, and the backward pass only scales the
    ``(2N, D)`` result. The work is that of ``info_nce``: one product for the logits, two for
    the gradient.
    """

    @staticmethod
    def forward(ctx, z: Tensor, temperature: float, chunk: int, need_grad: bool) -> Tensor:
        n2, dim = z.shape
        inv_t = 1.0 / temperature
        partner = torch.arange(n2, device=z.device).roll(n2 // 2)  # (2N,)
        pos = (z * z[partner]).sum(1) * inv_t  # (2N,) positive logits
        fast = 2.0 * inv_t <= _FAST_EXPONENT.get(z.dtype, 0.0)
        losses = z.new_empty(n2)  # (2N,)
        pz = z.new_zeros(n2, dim) if need_grad else None  # (2N, D) P z
        ptz = z.new_zeros(n2, dim) if need_grad else None  # (2N, D) P^T z
        zs = z * inv_t  # (2N, D)
        for s in range(0, n2, chunk):
            e = min(s + chunk, n2)
            block = torch.mm(zs[s:e], z.T)  # (c, 2N) logits of anchors s..e
            if fast:
                block.sub_(inv_t).exp_()  # E = exp(s - 1/T)
                block.diagonal(s).fill_(0.0)  # an anchor is not its own negative
                rowsum = block.sum(1)  # (c,)
                losses[s:e] = rowsum.log() + inv_t - pos[s:e]
                if need_grad:
                    block.div_(rowsum[:, None])  # (c, 2N) P[blk]
            else:
                block.diagonal(s).fill_(-math.inf)
                block = torch.log_softmax(block, 1)  # (c, 2N)
                losses[s:e] = -block.gather(1, partner[s:e, None]).squeeze(1)
                if need_grad:  # as info_nce: no subnormal probabilities
                    block.clamp_(min=math.log(torch.finfo(block.dtype).tiny) + 1.0).exp_()
            if need_grad:
                pz[s:e] = block @ z  # (c, D)
                ptz.addmm_(block.T, z[s:e])  # (2N, D)
            del block
        if need_grad:
            grad = pz.add_(ptz).sub_(z.roll(n2 // 2, 0), alpha=2.0)  # (2N, D)
            ctx.save_for_backward(grad.mul_(inv_t / n2))
        return losses.mean()

    @staticmethod
    def backward(ctx, grad: Tensor):
        if torch.is_grad_enabled():
            raise RuntimeError("info_nce_chunked has no second derivative (double backward)")
        (gz,) = ctx.saved_tensors
        return gz * grad, None, None, None


def info_nce_chunked(
    z1: Tensor, z2: Tensor, temperature: float = 0.1, chunk_size: int = 1024
) -> Tensor:
    """NT-Xent (SimCLR's InfoNCE) in blocks of ``chunk_size`` anchors: the value and gradient of
    :func:`cl_lessons.losses.info_nce`, in ``O(N*D + chunk_size*N)`` memory.

    ``info_nce`` keeps the whole ``(2N, 2N)`` similarity matrix (``16 N^2`` bytes in float32:
    4 GiB at N = 16,384, 64 GiB at N = 65,536). Here one block of ``chunk_size`` rows of it
    exists at a time: the forward pass computes each block's losses and, when a gradient is
    needed, the block's share of the gradient with respect to the unit embeddings, so the
    backward pass needs no second sweep. The time is about that of ``info_nce`` (the same three
    matrix products); a very small ``chunk_size`` is slower (many small products).

    Args:
        z1: embeddings of the first views.
        z2: embeddings of the second views, row ``k`` the partner of ``z1[k]``.
        temperature: softmax temperature, > 0.
        chunk_size: anchors per block, >= 1 (1,024 to 4,096 suit CPUs and GPUs).

    Returns:
        The loss, a scalar (float32 for float16/bfloat16 inputs).

    Shape:
        ``z1``, ``z2``: ``(N, D)`` -> ``()``.

    Raises:
        ValueError: as :func:`~cl_lessons.losses.info_nce`, and ``chunk_size`` not an
            integer >= 1.

    Reference:
        Chen et al. 2020, SimCLR, https://arxiv.org/abs/2002.05709; the blockwise idea as in
        Gao et al. 2021, https://arxiv.org/abs/2101.06983.
    """
    z1 = check_embeddings(z1, "z1")
    z2 = check_embeddings(z2, "z2")
    check_same_shape(z1, z2, "z1", "z2")
    temperature = check_positive(temperature, "temperature")
    chunk = check_int(chunk_size, "chunk_size", 1)
    z = _unit(torch.cat([z1, z2]))  # (2N, D) on the unit sphere (zero rows stay 0)
    need_grad = torch.is_grad_enabled() and z.requires_grad
    return _ChunkedNTXent.apply(z, temperature, chunk, need_grad)
