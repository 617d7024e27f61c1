"""Few-shot episodes: N classes, K labelled examples (support) and Q queries of each."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from cl_lessons._checks import check_class_ids, check_generator, check_int, check_positive_int
from cl_lessons.data._random import _rand
from cl_lessons.data.sampling import _ClassIndex

_CHUNK_ELEMENTS = 1 << 22
"""Random numbers drawn at once (32 MiB in float64): episodes are sampled in chunks."""


class Episodes(NamedTuple):
    """N-way K-shot episodes as index tensors (see :func:`few_shot_episodes`).

    Attributes:
        support: ``(E, N, K)`` indices; ``support[e, n]`` are the K examples of class n.
        query: ``(E, N, Q)`` indices; ``query[e, n]`` are the Q queries of class n.
        classes: ``(E, N)`` the original label of each of the N classes.
    """

    support: Tensor
    query: Tensor
    classes: Tensor


def few_shot_episodes(
    labels,
    n_way: int,
    k_shot: int,
    n_query: int,
    num_episodes: int,
    generator: torch.Generator | None = None,
) -> Episodes:
    """Draw N-way K-shot episodes: the evaluation protocol of few-shot classification.

    Each episode picks ``n_way`` distinct classes uniformly among those with at least
    ``k_shot + n_query`` samples, then ``k_shot + n_query`` distinct samples of each class without
    replacement: the first ``k_shot`` are the labelled *support* set, the rest the *queries* to
    classify. Within an episode, class ``n`` (position along the second axis) is the answer for
    ``query[e, n]``; the original labels are in ``classes``. Support and query never share a
    sample. Matching Networks, Vinyals et al. 2016, https://arxiv.org/abs/1606.04080; Prototypical
    Networks, Snell et al. 2017, https://arxiv.org/abs/1703.05175.

    Args:
        labels: integer class ids of the pool (usually classes never seen in training).
        n_way: classes per episode (>= 2).
        k_shot: labelled examples per class (>= 1).
        n_query: queries per class (>= 1).
        num_episodes: number of episodes (>= 1).
        generator: random generator; ``None`` uses torch's global one.

    Returns:
        :class:`Episodes` ``(support, query, classes)`` of int64 tensors.

    Shape:
        ``labels``: ``(M,)`` -> ``support`` ``(E, N, K)``, ``query`` ``(E, N, Q)``,
        ``classes`` ``(E, N)``.

    Raises:
        ValueError: labels not 1-D integers, a bad count, or fewer than ``n_way`` classes with
            ``k_shot + n_query`` samples.
    """
    labels = check_class_ids(labels, "labels")
    n_way = check_int(n_way, "n_way", 2)
    k_shot = check_positive_int(k_shot, "k_shot")
    n_query = check_positive_int(n_query, "n_query")
    num_episodes = check_positive_int(num_episodes, "num_episodes")
    check_generator(generator)
    index = _ClassIndex(labels.cpu())
    per_class = k_shot + n_query
    eligible = torch.nonzero(index.count >= per_class).squeeze(1)  # (C',) class positions
    if len(eligible) < n_way:
        raise ValueError(
            f"n_way = {n_way} needs {n_way} classes with k_shot + n_query = {per_class} samples "
            f"each; labels has {len(eligible)} such classes (of {len(index.count)})"
        )
    width = int(index.count[eligible].max())  # the largest eligible class
    step = max(1, _CHUNK_ELEMENTS // (n_way * width + len(eligible)))
    parts = []
    for s in range(0, num_episodes, step):
        e = min(s + step, num_episodes)
        pick = _rand((e - s, len(eligible)), generator, "cpu", torch.float64).argsort(1)
        cls = eligible[pick[:, :n_way]]  # (B, N) class positions
        u = _rand((e - s, n_way, width), generator, "cpu", torch.float64)  # (B, N, W)
        u.masked_fill_(torch.arange(width) >= index.count[cls][..., None], 2.0)  # no such slot
        slots = u.argsort(2)[..., :per_class]  # (B, N, K + Q) distinct members
        parts.append((index.order[index.start[cls][..., None] + slots], cls))
    members = torch.cat([p[0] for p in parts])  # (E, N, K + Q)
    cls = torch.cat([p[1] for p in parts])  # (E, N)
    return Episodes(
        support=members[..., :k_shot].contiguous(),
        query=members[..., k_shot:].contiguous(),
        classes=index.classes[cls],
    )
