"""``grad_cache_step``: the gradient of a huge contrastive batch with the memory of a small one."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from cl_lessons._checks import check_int

__all__ = ["grad_cache_step"]


def _check_inputs(encoder, x1, x2, loss_fn) -> None:
    if not isinstance(encoder, nn.Module):
        raise ValueError(f"encoder must be a torch.nn.Module, got {type(encoder).__name__}")
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    for name, x in (("x1", x1), ("x2", x2)):
        if not isinstance(x, Tensor) or x.ndim == 0 or x.shape[0] == 0:
            raise ValueError(f"{name} must be a non-empty batch tensor, got {x!r:.60}")
    if x1.shape[0] != x2.shape[0]:
        raise ValueError(
            f"x1 and x2 must hold the same number of samples, got {x1.shape[0]} and {x2.shape[0]}"
        )


def _rng_state(device: torch.device) -> tuple:
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), cuda


def _set_rng_state(state: tuple, device: torch.device) -> None:
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)


def grad_cache_step(
    encoder: nn.Module,
    x1: Tensor,
    x2: Tensor,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    micro_batch: int,
) -> Tensor:
    """Accumulate into ``encoder``'s ``.grad`` the gradient of ``loss_fn(encoder(x1),
    encoder(x2))`` on the whole batch, holding the activations of one micro-batch at a time.

    GradCache (Gao et al. 2021): a contrastive loss couples every sample to every other, so the
    batch cannot simply be split into independent pieces (gradient accumulation would shrink the
    set of negatives). But the loss only needs the *embeddings*, which are small:

    1. embed the batch in micro-batches without a graph (no activations kept);
    2. compute the loss on all the embeddings and its gradient ``g = dL/dz`` (the "cache");
    3. re-embed each micro-batch with a graph and back-propagate ``g`` of its rows
       (``z.backward(g)``), which adds its share of ``dL/dtheta``; then free its activations.

    The cost is a second forward pass; memory is that of one micro-batch plus the ``(2N, D)``
    embeddings (and the loss's own, e.g. ``info_nce_chunked``). The random state is replayed
    for step 3, so dropout draws the same masks twice.

    The parameter gradients equal those of the full-batch step only for an encoder whose output
    for a sample does not depend on the other samples of its forward call. **BatchNorm** in
    training mode breaks this: its statistics come from the micro-batch, not the batch (and the
    running statistics are updated twice). BatchNorm also leaks information between the samples
    of one forward call, which in-batch negatives can exploit to "cheat"; MoCo shuffles the
    batch across GPUs before its key encoder's BN for this reason (He et al. 2020). Use an
    encoder without batch statistics (LayerNorm, GroupNorm, none), or BN in eval mode.

    Args:
        encoder: the model; its parameters' ``.grad`` are accumulated (zero them before).
        x1: first views of the batch.
        x2: second views, row ``k`` the partner of ``x1[k]``.
        loss_fn: ``(z1, z2) -> scalar``, e.g. ``cl.losses.info_nce``.
        micro_batch: samples per forward pass, >= 1.

    Returns:
        The loss of the whole batch (detached).

    Shape:
        ``x1``, ``x2``: ``(N, *)``; ``encoder`` maps ``(n, *) -> (n, D)``.

    Raises:
        ValueError: ``encoder`` not a module, ``loss_fn`` not callable, empty or mismatched
            batches, ``micro_batch`` not an integer >= 1.

    Reference:
        L. Gao, Y. Zhang, J. Han, J. Callan (2021). Scaling deep contrastive learning batch size
        under memory limited setup. https://arxiv.org/abs/2101.06983
    """
    _check_inputs(encoder, x1, x2, loss_fn)
    mb = check_int(micro_batch, "micro_batch", 1)
    pieces = [x[s : s + mb] for x in (x1, x2) for s in range(0, x.shape[0], mb)]
    states, cached = [], []
    with torch.no_grad():  # step 1: embeddings, no activations kept
        for piece in pieces:
            states.append(_rng_state(piece.device))
            cached.append(encoder(piece))
    z = torch.cat(cached).detach().requires_grad_()  # (2N, D)
    loss = loss_fn(*z.chunk(2))  # step 2: the loss on the whole batch
    (grad,) = torch.autograd.grad(loss, z)  # (2N, D) the gradient cache
    start = 0
    for piece, state in zip(pieces, states, strict=True):  # step 3: one micro-batch at a time
        _set_rng_state(state, piece.device)
        out = encoder(piece)  # (n, D)
        out.backward(grad[start : start + out.shape[0]])
        start += out.shape[0]
    return loss.detach()
