"""Objective builders: a loss from :mod:`cl_lessons.losses` -> ``loss_fn(model, batch)``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LossFn = Callable[[nn.Module, Sequence[Tensor]], Tensor]


def _embed_fn(model: nn.Module) -> Callable[[Tensor], Tensor]:
    embed = getattr(model, "embed", None)
    return embed if callable(embed) else model


def _unpack(batch, n: int, what: str) -> Sequence[Tensor]:
    if isinstance(batch, Tensor):
        batch = (batch,)
    if len(batch) < n:
        raise ValueError(f"{what} expects batches of at least {n} tensors, got {len(batch)}")
    return batch


def pair_objective(criterion: Callable[..., Tensor], **kwargs) -> LossFn:
    """Loss for pair batches ``(x1, x2, y)`` with ``y = 1`` similar, ``0`` dissimilar.

    Calls ``z1, z2 = model(x1, x2)`` (a Siamese or pseudo-Siamese network) and returns
    ``criterion(z1, z2, y.float(), **kwargs)``, e.g. ``pair_objective(contrastive_loss, margin=1)``.

    Args:
        criterion: a pair loss ``(z1, z2, y) -> scalar`` (function or ``nn.Module``).
        **kwargs: extra keyword arguments for ``criterion``.

    Returns:
        ``loss_fn(model, batch)`` for :func:`fit`.
    """

    def loss_fn(model: nn.Module, batch) -> Tensor:
        x1, x2, y = _unpack(batch, 3, "pair_objective")[:3]
        z1, z2 = model(x1, x2)  # (B, D) each
        return criterion(z1, z2, y.float(), **kwargs)

    return loss_fn


def triplet_objective(criterion: Callable[..., Tensor], **kwargs) -> LossFn:
    """Loss for triplet batches ``(anchor, positive, negative)``.

    The three inputs go through the encoder in one pass (``embed(cat([xa, xp, xn]))``), then
    ``criterion(za, zp, zn, **kwargs)``, e.g. ``triplet_objective(triplet_loss, margin=0.5)``.

    Args:
        criterion: a triplet loss ``(za, zp, zn) -> scalar``.
        **kwargs: extra keyword arguments for ``criterion``.

    Returns:
        ``loss_fn(model, batch)`` for :func:`fit`.
    """

    def loss_fn(model: nn.Module, batch) -> Tensor:
        xa, xp, xn = _unpack(batch, 3, "triplet_objective")[:3]
        z = _embed_fn(model)(torch.cat([xa, xp, xn]))  # (3B, D)
        za, zp, zn = z.split(xa.shape[0])  # (B, D) each
        return criterion(za, zp, zn, **kwargs)

    return loss_fn


def labeled_objective(criterion: Callable[..., Tensor], **kwargs) -> LossFn:
    """Loss for labelled batches ``(x, labels)``: batch-mining triplet losses, SupCon, ...

    Returns ``criterion(embed(x), labels, **kwargs)``, e.g.
    ``labeled_objective(batch_triplet_loss, margin=0.2, mining="hard")`` with :class:`PKBatches`.

    Args:
        criterion: a loss ``(embeddings, labels) -> scalar``.
        **kwargs: extra keyword arguments for ``criterion``.

    Returns:
        ``loss_fn(model, batch)`` for :func:`fit`.
    """

    def loss_fn(model: nn.Module, batch) -> Tensor:
        x, labels = _unpack(batch, 2, "labeled_objective")[:2]
        return criterion(_embed_fn(model)(x), labels, **kwargs)

    return loss_fn


def two_view_objective(
    criterion: Callable[..., Tensor],
    augment_fn: Callable[[Tensor], Tensor],
    use_labels: bool = False,
    **kwargs,
) -> LossFn:
    """Self-supervised loss on two random views of each input (SimCLR, Chen et al. 2020).

    For a batch ``(x,)`` (or ``(x, labels)``, labels ignored unless ``use_labels``) it draws
    ``v1 = augment_fn(x)`` and ``v2 = augment_fn(x)``, embeds both in one pass (so batch-norm sees
    all ``2B`` views) and returns ``criterion(z1, z2, **kwargs)``, e.g.
    ``two_view_objective(info_nce, augment, temperature=0.2)``. With ``use_labels=True`` it returns
    ``criterion(cat([z1, z2]), cat([labels, labels]), **kwargs)`` instead (SupCon, Khosla et al.
    2020). Randomness inside ``augment_fn`` comes from PyTorch's global generator unless
    ``augment_fn`` holds its own, so ``fit(seed=...)`` makes runs repeatable.

    Args:
        criterion: ``(z1, z2) -> scalar`` (``info_nce``), or ``(z, labels)`` with ``use_labels``.
        augment_fn: ``x -> one random view of x`` (same shape), applied twice per batch.
        use_labels: pass the labels of the batch to ``criterion`` (supervised contrastive).
        **kwargs: extra keyword arguments for ``criterion``.

    Returns:
        ``loss_fn(model, batch)`` for :func:`fit`.
    """
    if not callable(augment_fn):
        raise ValueError(f"augment_fn must be callable, got {type(augment_fn).__name__}")

    def loss_fn(model: nn.Module, batch) -> Tensor:
        batch = _unpack(batch, 2 if use_labels else 1, "two_view_objective")
        x = batch[0]
        v = torch.cat([augment_fn(x), augment_fn(x)])  # (2B, *)
        z = _embed_fn(model)(v)  # (2B, D)
        if use_labels:
            labels = batch[1]
            return criterion(z, torch.cat([labels, labels]), **kwargs)
        z1, z2 = z.chunk(2)  # (B, D) each
        return criterion(z1, z2, **kwargs)

    return loss_fn


def pair_classifier_objective(pos_weight: float | None = None) -> LossFn:
    """Binary cross-entropy for a :class:`~cl_lessons.models.SiameseClassifier` on ``(x1, x2, y)``.

    ``model(x1, x2)`` returns logits; ``F.binary_cross_entropy_with_logits`` applies the sigmoid
    inside, which stays accurate where ``sigmoid`` then ``log`` would underflow.

    Args:
        pos_weight: weight of the positive (``y = 1``) pairs, for unbalanced pair sets.

    Returns:
        ``loss_fn(model, batch)`` for :func:`fit`.
    """
    if pos_weight is not None and not pos_weight > 0:
        raise ValueError(f"pos_weight must be > 0, got {pos_weight}")

    def loss_fn(model: nn.Module, batch) -> Tensor:
        x1, x2, y = _unpack(batch, 3, "pair_classifier_objective")[:3]
        logits = model(x1, x2)  # (B,)
        pw = None if pos_weight is None else torch.tensor(pos_weight, device=logits.device)
        return F.binary_cross_entropy_with_logits(logits, y.to(logits.dtype), pos_weight=pw)

    return loss_fn
