"""Pairs, triplets, P x K batches and k labelled examples per class, drawn from labelled data."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from cl_lessons._checks import (
    check_class_ids,
    check_fraction,
    check_generator,
    check_int,
    check_seed,
)
from cl_lessons.data._random import _rand


class _ClassIndex:
    """Indices grouped by class: ``order`` sorts samples by label, class ``c`` owns the slice
    ``order[start[c] : start[c] + count[c]]``; ``rank[i]`` is sample i's position in its slice."""

    def __init__(self, labels: Tensor):
        self.classes, inverse, self.count = torch.unique(
            labels, return_inverse=True, return_counts=True
        )
        self.cls = inverse  # (N,) class position 0..C-1 of each sample
        self.order = torch.argsort(inverse, stable=True)  # (N,)
        self.start = torch.cumsum(self.count, 0) - self.count  # (C,)
        self.rank = torch.empty_like(self.order)
        self.rank[self.order] = torch.arange(len(labels)) - self.start[inverse[self.order]]

    def positives_for(self, anchors: Tensor, generator) -> Tensor:
        """For each anchor, a uniformly drawn other sample of its class (class size >= 2)."""
        c = self.cls[anchors]  # (M,)
        u = (_rand(len(anchors), generator, "cpu", torch.float64) * (self.count[c] - 1)).long()
        u = u + (u >= self.rank[anchors]).long()  # skip the anchor's own slot
        return self.order[self.start[c] + u]

    def negatives_for(self, anchors: Tensor, generator) -> Tensor:
        """For each anchor, a uniformly drawn sample of any other class."""
        c = self.cls[anchors]  # (M,)
        n_other = len(self.order) - self.count[c]  # (M,)
        u = (_rand(len(anchors), generator, "cpu", torch.float64) * n_other).long()
        u = u + (u >= self.start[c]).long() * self.count[c]  # jump over the anchor's class block
        return self.order[u]

    def samples_with_partner(self) -> Tensor:
        """Indices of samples whose class has at least two members (possible positive anchors)."""
        return torch.nonzero(self.count[self.cls] >= 2).squeeze(1)


def _draw(pool: Tensor, num: int, generator) -> Tensor:
    pick = (_rand(num, generator, "cpu", torch.float64) * len(pool)).long()
    return pool[pick]


def make_pairs(
    labels, num_pairs: int, positive_fraction: float = 0.5, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Random index pairs for a Siamese / contrastive-loss model, with an exact share of positives.

    Exactly ``round(num_pairs * positive_fraction)`` pairs are positive (``y = 1``: same label,
    ``i != j``); the rest are negative (``y = 0``: different labels). A positive picks its first
    sample uniformly among samples whose class has a partner, then the partner uniformly in that
    class; a negative picks ``i`` uniformly and ``j`` uniformly among the other classes. Pairs are
    drawn with replacement and returned in shuffled order. Fully vectorised.

    Label convention of the course: ``y = 1`` similar, ``y = 0`` dissimilar.

    Args:
        labels: integer class ids.
        num_pairs: number of pairs (>= 1).
        positive_fraction: share of positive pairs, in [0, 1].
        generator: random generator; ``None`` uses torch's global one.

    Returns:
        ``(i, j, y)``: int64 index tensors into ``labels`` and int64 pair labels in {0, 1}.

    Shape:
        ``labels``: ``(N,)`` -> ``i``, ``j``, ``y``: ``(num_pairs,)``.

    Raises:
        ValueError: bad arguments; positives requested but every class has a single sample;
            negatives requested but there is only one class.
    """
    labels = check_class_ids(labels).cpu()
    num_pairs = check_int(num_pairs, "num_pairs", 1)
    positive_fraction = check_fraction(positive_fraction, "positive_fraction")
    check_generator(generator)
    index = _ClassIndex(labels)
    num_pos = round(num_pairs * positive_fraction)
    num_neg = num_pairs - num_pos
    with_partner = index.samples_with_partner()
    if num_pos > 0 and len(with_partner) == 0:
        raise ValueError(
            "labels: every class has a single sample, so no positive pair (same label, i != j) "
            "exists; use positive_fraction=0 or give some class at least two samples"
        )
    if num_neg > 0 and len(index.classes) < 2:
        raise ValueError(
            "labels: only one class is present, so no negative pair exists; "
            "use positive_fraction=1 or add another class"
        )
    i_pos = _draw(with_partner, num_pos, generator)  # (P,)
    j_pos = index.positives_for(i_pos, generator)  # (P,)
    i_neg = _draw(torch.arange(len(labels)), num_neg, generator)  # (Q,)
    j_neg = index.negatives_for(i_neg, generator)  # (Q,)
    i = torch.cat([i_pos, i_neg])
    j = torch.cat([j_pos, j_neg])
    y = torch.cat([torch.ones(num_pos, dtype=torch.long), torch.zeros(num_neg, dtype=torch.long)])
    perm = torch.argsort(_rand(num_pairs, generator, "cpu"))
    return i[perm], j[perm], y[perm]


def make_triplets(
    labels, num_triplets: int, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Random (anchor, positive, negative) index triplets for the triplet loss.

    The anchor is uniform among samples whose class has a partner, the positive uniform among the
    other samples of its class (``a != p``), the negative uniform among the other classes.
    Drawn with replacement, fully vectorised.

    Args:
        labels: integer class ids.
        num_triplets: number of triplets (>= 1).
        generator: random generator; ``None`` uses torch's global one.

    Returns:
        ``(a, p, n)``: int64 index tensors into ``labels``.

    Shape:
        ``labels``: ``(N,)`` -> ``a``, ``p``, ``n``: ``(num_triplets,)``.

    Raises:
        ValueError: bad arguments, fewer than two classes, or every class has a single sample.
    """
    labels = check_class_ids(labels).cpu()
    num_triplets = check_int(num_triplets, "num_triplets", 1)
    check_generator(generator)
    index = _ClassIndex(labels)
    if len(index.classes) < 2:
        raise ValueError("labels: a triplet needs at least two classes, got one")
    with_partner = index.samples_with_partner()
    if len(with_partner) == 0:
        raise ValueError(
            "labels: every class has a single sample, so no anchor has a positive (a != p)"
        )
    a = _draw(with_partner, num_triplets, generator)
    return a, index.positives_for(a, generator), index.negatives_for(a, generator)


def sample_per_class(labels, k: int, generator: torch.Generator | None = None) -> Tensor:
    """Indices of ``k`` random examples of every class: a small labelled subset.

    The low-label setting of self-supervised learning: many images, few of them labelled. Each
    sample gets one uniform random key from ``generator`` and every class keeps its ``k``
    samples with the smallest keys, so draws from the same generator state are nested: the
    subset for ``k = 1`` lies inside the one for ``k = 10``.

    Args:
        labels: integer class ids.
        k: examples per class (>= 1, at most the size of the smallest class).
        generator: random generator; ``None`` uses torch's global one.

    Returns:
        int64 indices into ``labels``, ascending; exactly ``k`` of each class.

    Shape:
        ``labels``: ``(N,)`` -> ``(k * num_classes,)``.

    Raises:
        ValueError: bad ``labels``, ``k`` or ``generator``, or a class with fewer than ``k``
            examples.
    """
    labels = check_class_ids(labels).cpu()
    k = check_int(k, "k", 1)
    check_generator(generator)
    classes, counts = torch.unique(labels, return_counts=True)
    if int(counts.min()) < k:
        small = int(classes[counts.argmin()])
        raise ValueError(
            f"k must be <= the size of the smallest class, got k={k} but class {small} of "
            f"labels has {int(counts.min())} examples"
        )
    keys = _rand(len(labels), generator, "cpu", torch.float64)  # (N,) one key per sample
    order = torch.argsort(keys)  # (N,) a random order of all samples
    ranked = labels[order]  # (N,) their labels in that order
    picked = [order[ranked == c][:k] for c in classes]  # k per class, smallest keys first
    return torch.sort(torch.cat(picked)).values  # (k * C,)


class PKSampler:
    """Batches of P classes × K samples each, the batch layout of batch-hard triplet training.

    Hermans, Beyer & Leibe 2017, "In Defense of the Triplet Loss for Person Re-Identification",
    https://arxiv.org/abs/1703.07737. Every batch holds exactly ``p`` distinct classes and
    exactly ``k`` indices of each (class by class), so every anchor has ``k - 1`` positives and
    ``(p - 1) * k`` negatives in the batch.

    Classes are visited in a fresh random order each epoch (cycled so that all classes are used
    about equally often). Within a class the ``k`` samples are drawn without replacement; a
    class with fewer than ``k`` samples is sampled *with* replacement, so it repeats indices
    (and a class with one sample gives an anchor whose only positive is itself).

    Iterating again starts a new epoch with a new order. Two samplers built with the same integer
    seed yield the same sequence of epochs. Works as ``DataLoader(ds, batch_sampler=sampler)``.

    Args:
        labels: integer class ids of the dataset.
        p: classes per batch (2 <= p <= number of classes).
        k: samples per class (>= 1).
        num_batches: batches per epoch; default ``max(1, N // (p * k))``.
        generator: an int seed, a ``torch.Generator`` (its state advances as epochs run), or
            ``None`` (draws a seed from torch's global generator).

    Shape:
        each batch: ``(p * k,)`` int64 indices.

    Raises:
        ValueError: bad ``p``, ``k``, ``num_batches``, labels or generator.
    """

    def __init__(
        self,
        labels,
        p: int,
        k: int,
        num_batches: int | None = None,
        generator: torch.Generator | int | None = None,
    ):
        labels = check_class_ids(labels).cpu()
        self.classes, inverse, counts = torch.unique(
            labels, return_inverse=True, return_counts=True
        )
        self.p = check_int(p, "p", 2)
        self.k = check_int(k, "k", 1)
        if self.p > len(self.classes):
            raise ValueError(f"p must be <= the number of classes ({len(self.classes)}), got {p}")
        if num_batches is None:
            num_batches = max(1, len(labels) // (self.p * self.k))
        self.num_batches = check_int(num_batches, "num_batches", 1)
        order = torch.argsort(inverse, stable=True)
        self._members = list(torch.split(order, counts.tolist()))  # indices of each class
        if isinstance(generator, torch.Generator):
            if generator.device.type != "cpu":
                raise ValueError(
                    f"generator must be a CPU generator, got one on {generator.device}"
                )
            self._gen = generator
        elif generator is None:
            self._gen = torch.Generator().manual_seed(int(torch.randint(0, 2**62, ()).item()))
        elif isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
            self._gen = torch.Generator().manual_seed(check_seed(generator, "generator"))
        else:
            raise ValueError(
                f"generator must be an int seed, a torch.Generator or None, got {generator!r}"
            )

    def __len__(self) -> int:
        return self.num_batches

    def _sample_class(self, c: int) -> Tensor:
        members = self._members[c]
        if len(members) >= self.k:
            return members[torch.randperm(len(members), generator=self._gen)[: self.k]]
        return members[torch.randint(len(members), (self.k,), generator=self._gen)]

    def __iter__(self) -> Iterator[Tensor]:
        num_classes = len(self.classes)
        queue: list[int] = []
        for _ in range(self.num_batches):
            chosen: list[int] = []
            while len(chosen) < self.p:
                if not queue:
                    queue = torch.randperm(num_classes, generator=self._gen).tolist()
                c = queue.pop()
                if c in chosen:  # only when a new cycle starts mid-batch; retry at the cycle end
                    queue.insert(0, c)
                    continue
                chosen.append(c)
            yield torch.cat([self._sample_class(c) for c in chosen])
