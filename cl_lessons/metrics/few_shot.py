"""Few-shot classification of episodes: nearest prototype (Snell et al. 2017) or nearest example."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from cl_lessons._checks import check_choice
from cl_lessons.losses._common import DISTANCES
from cl_lessons.metrics._inputs import _as_embeddings

METHODS = ("prototype", "nearest")
"""``"prototype"``: nearest class mean; ``"nearest"``: the class of the nearest support example."""

_BLOCK_ELEMENTS = 1 << 24


def _episode_indices(episodes, n: int) -> tuple[Tensor, Tensor]:
    try:
        support, query = episodes[0], episodes[1]
    except (TypeError, IndexError, KeyError):
        raise ValueError(
            "episodes must be cl.data.few_shot_episodes(...) or a pair (support, query)"
        ) from None
    out = []
    for name, t in (("support", support), ("query", query)):
        t = torch.as_tensor(t)
        if t.ndim != 3 or t.is_floating_point() or t.dtype == torch.bool or t.numel() == 0:
            raise ValueError(f"episodes.{name} must be a non-empty integer (E, N, *) tensor")
        if bool(((t < 0) | (t >= n)).any()):
            raise ValueError(f"episodes.{name} holds indices outside [0, {n}) of embeddings")
        out.append(t.long())
    s, q = out
    if s.shape[:2] != q.shape[:2]:
        raise ValueError(
            f"episodes.support {tuple(s.shape)} and episodes.query {tuple(q.shape)} must share "
            "(E, N)"
        )
    if s.shape[1] < 2:
        raise ValueError(f"episodes need at least 2 classes (N >= 2), got {s.shape[1]}")
    return s, q


def few_shot_accuracy(
    embeddings, episodes, method: str = "prototype", distance: str = "euclidean"
) -> Tensor:
    """Accuracy of each few-shot episode, classifying its queries by their support examples.

    ``"prototype"`` (Prototypical Networks, Snell et al. 2017, https://arxiv.org/abs/1703.05175):
    each class is the mean of its K support embeddings, a query takes the class of the nearest
    mean (by squared Euclidean distance, or cosine distance). ``"nearest"``: a query takes the
    class of its nearest support example (1-NN; the same as prototypes when K = 1). Episodes are
    processed in blocks. Report the mean with a 95 % confidence interval,
    ``1.96 * std / sqrt(E)``, as the few-shot literature does.

    Args:
        embeddings: embeddings of the pool the episodes index into.
        episodes: :func:`cl_lessons.data.few_shot_episodes` output, or ``(support, query)``.
        method: ``"prototype"`` or ``"nearest"``.
        distance: ``"euclidean"`` or ``"cosine"``.

    Returns:
        float64 ``(E,)``: the share of correctly classified queries in each episode.

    Shape:
        ``embeddings``: ``(M, D)``; ``support``: ``(E, N, K)``; ``query``: ``(E, N, Q)``.

    Raises:
        ValueError: bad embeddings, episodes whose indices fall outside them, unknown
            ``method`` or ``distance``.
    """
    x = _as_embeddings(embeddings, "embeddings").detach()
    check_choice(method, "method", METHODS)
    check_choice(distance, "distance", DISTANCES)
    support, query = _episode_indices(episodes, x.shape[0])
    truth = torch.arange(support.shape[1], device=x.device).repeat_interleave(query.shape[2])
    with torch.no_grad():
        pred = _predict(x, support.to(x.device), query.to(x.device), method, distance)
    return (pred == truth).double().mean(1)


def _predict(x: Tensor, support: Tensor, query: Tensor, method: str, distance: str) -> Tensor:
    """``(E, N*Q)``: the predicted class position (0..N-1) of every query, episode by episode;
    query ``j`` belongs to class ``j // Q``. Inputs are trusted (checked by the caller)."""
    if distance == "cosine":
        x = F.normalize(x, dim=1)
    e, n, k = support.shape
    q = query.shape[2]
    step = max(1, _BLOCK_ELEMENTS // (n * (k + q) * x.shape[1] + n * n * k * q))
    out = []
    for s in range(0, e, step):
        sup = x[support[s : s + step]]  # (B, N, K, D)
        qry = x[query[s : s + step]].flatten(1, 2)  # (B, N*Q, D)
        if method == "prototype":
            refs = sup.mean(2)  # (B, N, D) prototypes
            if distance == "cosine":
                refs = F.normalize(refs, dim=2)
        else:
            refs = sup.flatten(1, 2)  # (B, N*K, D) every example
        if distance == "euclidean":
            d = torch.cdist(qry, refs, compute_mode="donot_use_mm_for_euclid_dist")
        else:
            d = -(qry @ refs.transpose(1, 2))  # (B, N*Q, refs)
        pred = d.argmin(2)  # (B, N*Q)
        out.append(pred // k if method == "nearest" else pred)  # example -> its class
    return torch.cat(out)
