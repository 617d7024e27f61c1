"""Evaluation glue: embed a dataset, score pairs, verification and retrieval reports."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from cl_lessons._checks import (
    all_finite,
    as_tensor_1d,
    check_embeddings,
    check_finite,
    check_positive_int,
)
from cl_lessons.distances import cosine_similarity, euclidean, manhattan
from cl_lessons.runtime import resolve_device
from cl_lessons.training.batches import _as_tensor
from cl_lessons.training.objectives import _embed_fn


@torch.no_grad()
def embed_dataset(
    model: nn.Module,
    X,
    batch_size: int = 512,
    device: torch.device | str | None = None,
) -> Tensor:
    """Embeddings of a whole data set, in eval mode, without gradients, returned on the CPU.

    Uses ``model.embed`` when the model has one (a Siamese network's shared encoder), else
    ``model(x)``. The model's train/eval mode is restored afterwards.

    Args:
        model: an encoder or a model with ``.embed``.
        X: inputs (tensor or NumPy array; float64 becomes float32).
        batch_size: rows per forward pass (bounds the memory used).
        device: where to run (the model is moved there); ``None`` uses the device of the
            model's parameters.

    Returns:
        The embeddings as a float CPU tensor.

    Shape:
        ``X``: ``(N, *)`` -> ``(N, D)``.

    Raises:
        ValueError: ``X`` is empty or not an array, or ``batch_size`` is not positive.
    """
    X = _as_tensor(X, "X")
    if X.ndim == 0 or X.shape[0] == 0:
        raise ValueError(f"X must hold at least one sample, got shape {tuple(X.shape)}")
    if X.is_floating_point() and not all_finite(X):
        raise ValueError("X contains NaN or Inf values")
    batch_size = check_positive_int(batch_size, "batch_size")
    if device is None:
        params = list(model.parameters())
        device = params[0].device if params else torch.device("cpu")
    else:
        device = resolve_device(device, "device")
    model.to(device)
    was_training = model.training
    model.eval()
    embed = _embed_fn(model)
    try:
        out = [
            embed(X[s : s + batch_size].to(device)).float().cpu()
            for s in range(0, X.shape[0], batch_size)
        ]
    finally:
        model.train(was_training)
    return torch.cat(out)  # (N, D)


def _pair_index(values, name: str, device) -> Tensor:
    """1-D integer indices (never floats, which would be truncated silently) as ``long``."""
    t = as_tensor_1d(values, name, None, None)
    if t.numel() and (t.is_floating_point() or t.is_complex() or t.dtype == torch.bool):
        raise ValueError(f"{name} must hold integer indices, got dtype {t.dtype}")
    return t.to(device=device, dtype=torch.long)


def pair_scores(embeddings: Tensor, i, j, distance: str = "euclidean") -> Tensor:
    """Similarity scores of the pairs ``(i[k], j[k])``: higher means "more likely the same".

    ``"euclidean"`` gives ``-||z_i - z_j||``, ``"l1"`` gives ``-||z_i - z_j||_1`` and ``"cosine"``
    gives ``cos(z_i, z_j)``, so every choice feeds :func:`verification_report` directly. For a
    :class:`~cl_lessons.models.SiameseClassifier` use
    ``torch.sigmoid(model.logits_from_embeddings(z[i], z[j]))`` instead.

    Args:
        embeddings: ``(N, D)`` embeddings, e.g. from :func:`embed_dataset`.
        i: first index of each pair, ``(P,)`` (tensor, array or list).
        j: second index of each pair, ``(P,)``.
        distance: ``"euclidean"``, ``"cosine"`` or ``"l1"``.

    Returns:
        The scores.

    Shape:
        ``(N, D)``, ``(P,)``, ``(P,)`` -> ``(P,)``.

    Raises:
        ValueError: unknown ``distance``, mismatched index lengths, or indices out of range.
    """
    z = check_embeddings(_as_tensor(embeddings, "embeddings"), "embeddings")
    i, j = _pair_index(i, "i", z.device), _pair_index(j, "j", z.device)
    if i.shape != j.shape:
        raise ValueError(f"i and j must have one length, got {len(i)} and {len(j)}")
    n = z.shape[0]
    if len(i) and (min(i.min(), j.min()) < 0 or max(i.max(), j.max()) >= n):
        raise ValueError(f"pair indices must be in [0, {n}), the number of embeddings")
    a, b = z[i], z[j]  # (P, D) each
    if distance == "euclidean":
        return -euclidean(a, b)
    if distance == "l1":
        return -manhattan(a, b)
    if distance == "cosine":
        return cosine_similarity(a, b)
    raise ValueError(f"distance must be 'euclidean', 'cosine' or 'l1', got {distance!r}")


def verification_report(scores, same, threshold: float | None = None) -> dict[str, float]:
    """ROC-AUC, equal error rate and accuracy at a threshold, for pair verification.

    Args:
        scores: one score per pair, higher = more likely "same" (e.g. :func:`pair_scores`).
        same: 1 (or True) where the pair really is the same identity/class, else 0.
        threshold: decide "same" where ``score >= threshold``. ``None`` uses the EER threshold
            of these very pairs, which is slightly optimistic; for an honest accuracy choose the
            threshold on validation pairs and pass it here (lesson 10).

    Returns:
        ``{"auc", "eer", "threshold", "accuracy"}`` as floats.

    Raises:
        ValueError: from :mod:`cl_lessons.metrics` for bad inputs (lengths, a single class), or
            a threshold that is not a finite number.
    """
    from cl_lessons import metrics

    scores_np = np.asarray(torch.as_tensor(scores).detach().cpu(), dtype=np.float64)
    same_np = np.asarray(torch.as_tensor(same).detach().cpu()).astype(np.float64)
    auc = float(metrics.roc_auc(scores_np, same_np))
    eer, eer_threshold = metrics.equal_error_rate(scores_np, same_np)
    t = float(eer_threshold) if threshold is None else check_finite(threshold, "threshold")
    accuracy = float(((scores_np >= t) == (same_np > 0.5)).mean())
    return {"auc": auc, "eer": float(eer), "threshold": t, "accuracy": accuracy}


def retrieval_report(embeddings, labels, ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """Recall@k of leave-one-out retrieval: each sample queries all the others.

    Recall@k is the fraction of queries whose ``k`` nearest neighbours (Euclidean, the query
    itself excluded) contain at least one sample of the query's label.

    Args:
        embeddings: ``(N, D)`` embeddings of held-out samples.
        labels: ``(N,)`` integer labels.
        ks: the values of ``k``.

    Returns:
        ``{"recall@1": ..., "recall@5": ..., "recall@10": ...}`` (one key per ``k``).

    Raises:
        ValueError: from :func:`cl_lessons.metrics.recall_at_k` for bad inputs.
    """
    from cl_lessons import metrics

    result = metrics.recall_at_k(embeddings, labels, k=list(ks))
    out = {}
    for k in ks:
        value = result.get(k, result.get(f"recall@{k}")) if isinstance(result, dict) else None
        if value is None:
            raise ValueError(f"metrics.recall_at_k returned no value for k={k}: {result!r}")
        out[f"recall@{k}"] = float(value)
    return out
