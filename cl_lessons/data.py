"""Data for the lessons: toy 2-D sets, digits, splits, pairs and triplets, P×K batches,
augmentations, transformed digits and a synthetic-faces set with many identities.

Everything here is generated locally or ships with scikit-learn, so no lesson needs the internet.
Randomness is always passed in: toy sets and datasets take ``seed=``, samplers and augmentations
take ``generator=`` (a ``torch.Generator``; ``None`` means torch's global generator, which
``cl.seed_everything`` seeds). Nothing is generated at import time.

Optional loaders for real data (MNIST, Fashion-MNIST, Olivetti faces, LFW pairs) download only
when asked and, offline, raise a ``RuntimeError`` that names the synthetic alternative.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "FACE_PARAM_NAMES",
    "PKSampler",
    "SyntheticFaces",
    "TransformedDigits",
    "add_noise",
    "augment",
    "load_digits",
    "load_lfw_pairs",
    "load_mnist",
    "load_olivetti_faces",
    "make_blobs",
    "make_moons",
    "make_pairs",
    "make_rings",
    "make_spirals",
    "make_triplets",
    "random_affine",
    "random_erasing",
    "random_intensity",
    "render_faces",
    "split_by_class",
    "stratified_split",
    "two_views",
]


# --------------------------------------------------------------------------- validation helpers


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_nonneg(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return float(value)


def _check_fraction(value, name: str, low_open: bool = False, high_open: bool = False) -> float:
    value = _check_nonneg(value, name)
    if value > 1 or (low_open and value == 0) or (high_open and value == 1):
        lo = "(0" if low_open else "[0"
        hi = "1)" if high_open else "1]"
        raise ValueError(f"{name} must be in {lo}, {hi}, got {value}")
    return value


def _check_range(value, name: str, low: float = 0.0) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}") from None
    if not (math.isfinite(a) and math.isfinite(b)) or a < low or a > b:
        raise ValueError(f"{name} must satisfy {low} <= low <= high, got {value!r}")
    return a, b


def _as_labels(labels, name: str = "labels") -> Tensor:
    t = torch.as_tensor(labels)
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D (N,), got shape {tuple(t.shape)}")
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer class ids, got dtype {t.dtype}")
    if t.numel() == 0:
        raise ValueError(f"{name} must not be empty")
    return t.long()


def _check_images(images, name: str = "images") -> None:
    if not isinstance(images, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4:
        raise ValueError(f"{name} must be 4-D (N, C, H, W), got shape {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {images.dtype}")


def _check_generator(generator) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator or None, got {generator!r}")


def _rand(shape, generator, device, dtype=torch.float32) -> Tensor:
    """Uniform [0, 1) numbers drawn from ``generator`` (on its own device), moved to ``device``."""
    gen_device = generator.device if generator is not None else device
    return torch.rand(shape, generator=generator, device=gen_device, dtype=dtype).to(device)


def _randn(shape, generator, device, dtype=torch.float32) -> Tensor:
    gen_device = generator.device if generator is not None else device
    return torch.randn(shape, generator=generator, device=gen_device, dtype=dtype).to(device)


def _uniform(shape, low: float, high: float, generator, device) -> Tensor:
    return low + (high - low) * _rand(shape, generator, device)


# --------------------------------------------------------------------------- toy 2-D sets


def _class_sizes(n: int, num_classes: int) -> list[int]:
    base, extra = divmod(n, num_classes)
    return [base + (c < extra) for c in range(num_classes)]


def _balanced_labels(n: int, num_classes: int) -> Tensor:
    return torch.repeat_interleave(
        torch.arange(num_classes), torch.tensor(_class_sizes(n, num_classes))
    )


def _shuffle(X: Tensor, y: Tensor, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    order = torch.randperm(len(y), generator=gen)
    return X[order].float().contiguous(), y[order].long().contiguous()


def _check_toy(n, num_classes, seed) -> None:
    _check_int(num_classes, "num_classes", 2)
    _check_int(n, "n", num_classes)
    _check_int(seed, "seed", 0)


def make_blobs(
    n: int = 300, num_classes: int = 3, spread: float = 0.5, seed: int = 0
) -> tuple[Tensor, Tensor]:
    """Gaussian blobs whose centres sit evenly on a circle of radius 2.

    Args:
        n: number of points, split as evenly as possible over the classes.
        num_classes: number of blobs (>= 2).
        spread: standard deviation of each blob.
        seed: random seed.

    Returns:
        ``(X, y)``: points (float32) and class ids (int64), in shuffled order.

    Shape:
        ``X``: ``(n, 2)``, ``y``: ``(n,)``.

    Raises:
        ValueError: ``n < num_classes``, ``num_classes < 2``, ``spread < 0`` or a bad ``seed``.
    """
    _check_toy(n, num_classes, seed)
    spread = _check_nonneg(spread, "spread")
    gen = torch.Generator().manual_seed(seed)
    y = _balanced_labels(n, num_classes)  # (n,)
    angle = 2 * math.pi * torch.arange(num_classes) / num_classes + math.pi / 2  # (C,)
    centres = 2.0 * torch.stack([angle.cos(), angle.sin()], 1)  # (C, 2)
    X = centres[y] + spread * torch.randn(n, 2, generator=gen)  # (n, 2)
    return _shuffle(X, y, gen)


def make_moons(n: int = 300, noise: float = 0.1, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Two interleaving half circles (class 0 on top, class 1 below), the classic non-linear set.

    Args:
        n: number of points (class 0 gets the extra one when ``n`` is odd).
        noise: standard deviation of the Gaussian noise added to every coordinate.
        seed: random seed.

    Returns:
        ``(X, y)``: points (float32) and class ids (int64), in shuffled order.

    Shape:
        ``X``: ``(n, 2)``, ``y``: ``(n,)``.

    Raises:
        ValueError: ``n < 2``, ``noise < 0`` or a bad ``seed``.
    """
    _check_toy(n, 2, seed)
    noise = _check_nonneg(noise, "noise")
    gen = torch.Generator().manual_seed(seed)
    n0, n1 = _class_sizes(n, 2)
    t0 = torch.linspace(0, math.pi, n0)
    t1 = torch.linspace(0, math.pi, n1)
    upper = torch.stack([t0.cos(), t0.sin()], 1)  # (n0, 2)
    lower = torch.stack([1 - t1.cos(), 0.5 - t1.sin()], 1)  # (n1, 2)
    X = torch.cat([upper, lower]) + noise * torch.randn(n, 2, generator=gen)  # (n, 2)
    y = torch.cat([torch.zeros(n0), torch.ones(n1)])
    return _shuffle(X, y, gen)


def make_rings(
    n: int = 300, num_classes: int = 2, noise: float = 0.08, seed: int = 0
) -> tuple[Tensor, Tensor]:
    """Concentric rings: class ``c`` lies on the circle of radius ``c + 1``, plus radial noise.

    No line separates them; a network must learn the radius. Points are spread evenly in
    angle around each ring, with a random phase.

    Args:
        n: number of points, split as evenly as possible over the rings.
        num_classes: number of rings (>= 2).
        noise: standard deviation of the radial noise (in units of ring spacing).
        seed: random seed.

    Returns:
        ``(X, y)``: points (float32) and class ids (int64), in shuffled order.

    Shape:
        ``X``: ``(n, 2)``, ``y``: ``(n,)``.

    Raises:
        ValueError: ``n < num_classes``, ``num_classes < 2``, ``noise < 0`` or a bad ``seed``.
    """
    _check_toy(n, num_classes, seed)
    noise = _check_nonneg(noise, "noise")
    gen = torch.Generator().manual_seed(seed)
    y = _balanced_labels(n, num_classes)  # (n,)
    angle = 2 * math.pi * torch.rand(n, generator=gen)  # (n,)
    radius = (y + 1).float() + noise * torch.randn(n, generator=gen)  # (n,)
    X = radius.unsqueeze(1) * torch.stack([angle.cos(), angle.sin()], 1)  # (n, 2)
    return _shuffle(X, y, gen)


def make_spirals(
    n: int = 300, num_classes: int = 3, noise: float = 0.2, seed: int = 0
) -> tuple[Tensor, Tensor]:
    """Interleaved spiral arms, one per class (the CS231n classic), radius growing from 0 to 1.

    Args:
        n: number of points, split as evenly as possible over the arms.
        num_classes: number of arms (>= 2).
        noise: standard deviation of the noise added to the angle (radians).
        seed: random seed.

    Returns:
        ``(X, y)``: points (float32) and class ids (int64), in shuffled order.

    Shape:
        ``X``: ``(n, 2)``, ``y``: ``(n,)``.

    Raises:
        ValueError: ``n < num_classes``, ``num_classes < 2``, ``noise < 0`` or a bad ``seed``.
    """
    _check_toy(n, num_classes, seed)
    noise = _check_nonneg(noise, "noise")
    gen = torch.Generator().manual_seed(seed)
    sizes = _class_sizes(n, num_classes)
    y = torch.repeat_interleave(torch.arange(num_classes), torch.tensor(sizes))
    radius = torch.cat([torch.linspace(0.05, 1.0, s) for s in sizes])  # (n,)
    angle = 2 * math.pi * y / num_classes + 4.0 * radius  # (n,) each arm turns ~2/3 of a circle
    angle = angle + noise * torch.randn(n, generator=gen)
    X = radius.unsqueeze(1) * torch.stack([angle.cos(), angle.sin()], 1)  # (n, 2)
    return _shuffle(X, y, gen)


# --------------------------------------------------------------------------- digits and splits


def load_digits(as_images: bool = False) -> tuple[Tensor, Tensor]:
    """scikit-learn's 1,797 handwritten digits (8x8, 10 classes), pixel values scaled to [0, 1].

    Ships with scikit-learn, so it works offline.

    Args:
        as_images: return images ``(N, 1, 8, 8)`` instead of flat vectors ``(N, 64)``.

    Returns:
        ``(X, y)``: float32 pixels in [0, 1] and int64 labels 0-9.

    Shape:
        ``X``: ``(1797, 64)`` or ``(1797, 1, 8, 8)``, ``y``: ``(1797,)``.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    X = torch.as_tensor(bunch.data, dtype=torch.float32) / 16.0  # (1797, 64), raw values 0..16
    y = torch.as_tensor(bunch.target, dtype=torch.int64)
    if as_images:
        X = X.reshape(-1, 1, 8, 8)
    return X, y


def split_by_class(X, y, held_out) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Split a labelled set by class: the ``held_out`` classes go to the unseen part.

    This is the split for verification on classes never seen in training; no class appears in
    both parts.

    Args:
        X: samples (any tensor whose first dimension is N).
        y: integer labels.
        held_out: a class id or a sequence of class ids, all present in ``y``.

    Returns:
        ``(X_seen, y_seen, X_unseen, y_unseen)``, each keeping the original order.

    Shape:
        ``X``: ``(N, ...)``, ``y``: ``(N,)`` -> ``(N_seen, ...)``, ``(N_seen,)``,
        ``(N_unseen, ...)``, ``(N_unseen,)``.

    Raises:
        ValueError: lengths differ, ``held_out`` is empty, names a class absent from ``y``,
            or holds out every class.
    """
    y = _as_labels(y, "y")
    X = torch.as_tensor(X)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same length, got {X.shape[0]} and {y.shape[0]}")
    held = torch.as_tensor(held_out).reshape(-1)
    if held.numel() == 0:
        raise ValueError("held_out must name at least one class")
    if held.is_floating_point():
        raise ValueError(f"held_out must hold integer class ids, got {held_out!r}")
    classes = torch.unique(y)
    missing = [int(c) for c in held if not bool((classes == c).any())]
    if missing:
        raise ValueError(
            f"held_out classes {missing} are not in y (classes present: {classes.tolist()})"
        )
    unseen = torch.isin(y, held.to(y.device))  # (N,)
    if bool(unseen.all()):
        raise ValueError("held_out holds out every class; leave at least one class seen")
    return X[~unseen], y[~unseen], X[unseen], y[unseen]


def stratified_split(
    X, y, test_fraction: float = 0.25, seed: int = 0
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Random train/test split that keeps every class's share (a stratified split).

    Each class with ``n_c >= 2`` samples puts ``round(test_fraction * n_c)`` of them in the test
    part, clamped to ``[1, n_c - 1]`` so both parts see the class; a class with one sample stays
    in train. Both parts keep the original order.

    Args:
        X: samples (any tensor whose first dimension is N).
        y: integer labels.
        test_fraction: share of each class in the test part, in (0, 1).
        seed: random seed.

    Returns:
        ``(X_train, y_train, X_test, y_test)``.

    Shape:
        ``X``: ``(N, ...)``, ``y``: ``(N,)`` -> ``(N_train, ...)``, ``(N_train,)``,
        ``(N_test, ...)``, ``(N_test,)``.

    Raises:
        ValueError: lengths differ, ``test_fraction`` is outside (0, 1), or a bad ``seed``.
    """
    y = _as_labels(y, "y")
    X = torch.as_tensor(X)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same length, got {X.shape[0]} and {y.shape[0]}")
    test_fraction = _check_fraction(test_fraction, "test_fraction", low_open=True, high_open=True)
    _check_int(seed, "seed", 0)
    gen = torch.Generator().manual_seed(seed)
    is_test = torch.zeros(len(y), dtype=torch.bool)
    y_cpu = y.cpu()
    for c in torch.unique(y_cpu):
        idx = torch.nonzero(y_cpu == c).squeeze(1)
        if len(idx) < 2:
            continue
        n_test = min(max(round(test_fraction * len(idx)), 1), len(idx) - 1)
        pick = idx[torch.randperm(len(idx), generator=gen)[:n_test]]
        is_test[pick] = True
    is_test = is_test.to(y.device)
    return X[~is_test], y[~is_test], X[is_test], y[is_test]


# --------------------------------------------------------------------------- pairs and triplets


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
    labels = _as_labels(labels).cpu()
    num_pairs = _check_int(num_pairs, "num_pairs", 1)
    positive_fraction = _check_fraction(positive_fraction, "positive_fraction")
    _check_generator(generator)
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
    labels = _as_labels(labels).cpu()
    num_triplets = _check_int(num_triplets, "num_triplets", 1)
    _check_generator(generator)
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
        labels = _as_labels(labels).cpu()
        self.classes, inverse, counts = torch.unique(
            labels, return_inverse=True, return_counts=True
        )
        self.p = _check_int(p, "p", 2)
        self.k = _check_int(k, "k", 1)
        if self.p > len(self.classes):
            raise ValueError(f"p must be <= the number of classes ({len(self.classes)}), got {p}")
        if num_batches is None:
            num_batches = max(1, len(labels) // (self.p * self.k))
        self.num_batches = _check_int(num_batches, "num_batches", 1)
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
            self._gen = torch.Generator().manual_seed(_check_int(generator, "generator", 0))
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


# --------------------------------------------------------------------------- augmentations


def random_affine(
    images: Tensor,
    max_shift: float = 0.1,
    max_rotation_deg: float = 15.0,
    scale_range: tuple[float, float] = (0.9, 1.1),
    generator: torch.Generator | None = None,
    padding_mode: str = "zeros",
) -> Tensor:
    """Random shift, rotation and zoom of every image in a batch, in one ``grid_sample`` call.

    Each image gets its own uniform shift in ``[-max_shift, max_shift]`` (a fraction of the image
    side) on both axes, rotation in ``[-max_rotation_deg, max_rotation_deg]`` degrees and scale in
    ``scale_range`` (``> 1`` zooms in, i.e. a random crop). Bilinear sampling; pixels from outside
    the image are 0 (black) with ``padding_mode="zeros"``. Rotations are exact for square images
    (``affine_grid`` works in coordinates normalised per axis).

    Args:
        images: batch of images, values in [0, 1].
        max_shift: largest shift as a fraction of the side (0.1 = 10 %).
        max_rotation_deg: largest rotation in degrees.
        scale_range: ``(low, high)`` zoom factors, ``0 < low <= high``.
        generator: random generator; ``None`` uses torch's global one.
        padding_mode: ``"zeros"``, ``"border"`` or ``"reflection"`` (as ``F.grid_sample``).

    Returns:
        The transformed batch, same shape, dtype and device.

    Shape:
        ``(N, C, H, W)`` -> ``(N, C, H, W)``.

    Raises:
        ValueError: images not a 4-D float tensor, negative amounts, a bad ``scale_range``.
    """
    _check_images(images)
    max_shift = _check_nonneg(max_shift, "max_shift")
    max_rotation_deg = _check_nonneg(max_rotation_deg, "max_rotation_deg")
    lo, hi = _check_range(scale_range, "scale_range")
    if lo <= 0:
        raise ValueError(f"scale_range must be positive, got {scale_range!r}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"padding_mode must be zeros, border or reflection, got {padding_mode!r}")
    _check_generator(generator)
    n, device = images.shape[0], images.device
    u = _rand((n, 4), generator, device)  # (N, 4)
    angle = math.radians(max_rotation_deg) * (2 * u[:, 0] - 1)  # (N,)
    scale = lo + (hi - lo) * u[:, 1]  # (N,)
    shift = 2 * max_shift * (2 * u[:, 2:] - 1)  # (N, 2), grid coordinates span 2 per side
    return _warp(images, angle, scale, shift, padding_mode)


def _warp(images: Tensor, angle: Tensor, scale: Tensor, shift: Tensor, padding_mode: str) -> Tensor:
    """Rotate by ``angle``, zoom by ``scale`` and move by ``shift`` (grid units) each image."""
    cos, sin = angle.cos() / scale, angle.sin() / scale  # (N,) inverse map: output -> input
    theta = torch.stack(
        [
            torch.stack([cos, -sin, -(cos * shift[:, 0] - sin * shift[:, 1])], 1),
            torch.stack([sin, cos, -(sin * shift[:, 0] + cos * shift[:, 1])], 1),
        ],
        1,
    ).to(images.dtype)  # (N, 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)  # (N, H, W, 2)
    return F.grid_sample(
        images, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False
    )


def random_intensity(
    images: Tensor,
    brightness: float = 0.2,
    contrast: float = 0.2,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Random brightness and contrast per image, clamped to [0, 1].

    ``x' = clamp((x - mean) * c + mean + b, 0, 1)`` with ``c ~ U[1 - contrast, 1 + contrast]``
    and ``b ~ U[-brightness, brightness]``, drawn per image; ``mean`` is the image's mean.

    Args:
        images: batch of images, values in [0, 1].
        brightness: largest additive change.
        contrast: largest relative change of contrast (< 1 keeps ``c`` positive).
        generator: random generator; ``None`` uses torch's global one.

    Returns:
        The adjusted batch, same shape.

    Shape:
        ``(N, C, H, W)`` -> ``(N, C, H, W)``.

    Raises:
        ValueError: images not a 4-D float tensor, ``brightness < 0``, ``contrast`` outside [0, 1).
    """
    _check_images(images)
    brightness = _check_nonneg(brightness, "brightness")
    contrast = _check_fraction(contrast, "contrast", high_open=True)
    _check_generator(generator)
    n, device = images.shape[0], images.device
    u = _rand((n, 2, 1, 1, 1), generator, device).to(images.dtype)  # (N, 2, 1, 1, 1)
    c = 1 + contrast * (2 * u[:, 0] - 1)  # (N, 1, 1, 1)
    b = brightness * (2 * u[:, 1] - 1)  # (N, 1, 1, 1)
    mean = images.mean(dim=(1, 2, 3), keepdim=True)  # (N, 1, 1, 1)
    return ((images - mean) * c + mean + b).clamp(0.0, 1.0)


def add_noise(
    images: Tensor, std: float = 0.05, generator: torch.Generator | None = None
) -> Tensor:
    """Add Gaussian pixel noise of standard deviation ``std`` and clamp to [0, 1].

    Args:
        images: batch of images, values in [0, 1].
        std: noise standard deviation.
        generator: random generator; ``None`` uses torch's global one.

    Returns:
        The noisy batch, same shape.

    Shape:
        ``(N, C, H, W)`` -> ``(N, C, H, W)``.

    Raises:
        ValueError: images not a 4-D float tensor or ``std < 0``.
    """
    _check_images(images)
    std = _check_nonneg(std, "std")
    _check_generator(generator)
    noise = _randn(images.shape, generator, images.device).to(images.dtype)  # (N, C, H, W)
    return (images + std * noise).clamp(0.0, 1.0)


def random_erasing(
    images: Tensor,
    p: float = 0.5,
    area_range: tuple[float, float] = (0.02, 0.2),
    value: float = 0.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Random Erasing (Zhong et al. 2020, https://arxiv.org/abs/1708.04896), vectorised.

    With probability ``p`` per image, a rectangle covering a fraction of the image drawn from
    ``area_range``, with aspect ratio between 1/2 and 2 and a random centre (clipped at the
    border), is set to ``value``.

    Args:
        images: batch of images, values in [0, 1].
        p: probability that an image is erased, in [0, 1].
        area_range: ``(low, high)`` share of the image area, within [0, 1].
        value: fill value.
        generator: random generator; ``None`` uses torch's global one.

    Returns:
        The batch with erased rectangles, same shape.

    Shape:
        ``(N, C, H, W)`` -> ``(N, C, H, W)``.

    Raises:
        ValueError: images not a 4-D float tensor, ``p`` outside [0, 1], a bad ``area_range``.
    """
    _check_images(images)
    p = _check_fraction(p, "p")
    lo, hi = _check_range(area_range, "area_range")
    if hi > 1:
        raise ValueError(f"area_range must lie within [0, 1], got {area_range!r}")
    _check_generator(generator)
    n, _, h, w = images.shape
    device = images.device
    u = _rand((n, 5), generator, device)  # (N, 5)
    area = lo + (hi - lo) * u[:, 0]  # (N,) fraction of the image
    aspect = torch.exp(math.log(2.0) * (2 * u[:, 1] - 1))  # (N,) in [1/2, 2]
    half_h = 0.5 * torch.sqrt(area * aspect)  # (N,) fraction of the height
    half_w = 0.5 * torch.sqrt(area / aspect)
    cy, cx = u[:, 2], u[:, 3]  # (N,) centres in [0, 1)
    apply = u[:, 4] < p  # (N,)
    ys = (torch.arange(h, device=device) + 0.5) / h  # (H,)
    xs = (torch.arange(w, device=device) + 0.5) / w  # (W,)
    in_y = (ys[None, :] - cy[:, None]).abs() <= half_h[:, None]  # (N, H)
    in_x = (xs[None, :] - cx[:, None]).abs() <= half_w[:, None]  # (N, W)
    mask = in_y[:, :, None] & in_x[:, None, :] & apply[:, None, None]  # (N, H, W)
    return images.masked_fill(mask[:, None], value)


def augment(
    images: Tensor, strength: float = 1.0, generator: torch.Generator | None = None
) -> Tensor:
    """The course's SimCLR-style augmentation for small grayscale images, one call per batch.

    With ``s = strength``: random affine (shift up to ``0.1 s`` of the side, rotation up to
    ``15 s`` degrees, scale in ``[1 - 0.1 s, 1 + 0.1 s]``), then brightness ``0.2 s`` and contrast
    ``min(0.2 s, 0.9)``, Random Erasing with probability ``min(0.3 s, 1)`` (2-15 % of the area),
    then Gaussian noise of std ``0.05 s``. ``strength=0`` returns the images unchanged. SimCLR
    (Chen et al. 2020, https://arxiv.org/abs/2002.05709) shows that the choice of augmentations
    decides what the representation becomes invariant to.

    Args:
        images: batch of images, values in [0, 1].
        strength: scales every augmentation, in [0, 2] (0 = none, 1 = default).
        generator: random generator; ``None`` uses torch's global one.

    Returns:
        The augmented batch, same shape, values in [0, 1].

    Shape:
        ``(N, C, H, W)`` -> ``(N, C, H, W)``.

    Raises:
        ValueError: images not a 4-D float tensor, ``strength`` outside [0, 2].
    """
    _check_images(images)
    s = _check_nonneg(strength, "strength")
    if s > 2:
        raise ValueError(f"strength must be in [0, 2], got {strength}")
    _check_generator(generator)
    if s == 0:
        return images.clone()
    out = random_affine(images, 0.1 * s, 15.0 * s, (1 - 0.1 * s, 1 + 0.1 * s), generator)
    out = random_intensity(out, 0.2 * s, min(0.2 * s, 0.9), generator)
    out = random_erasing(out, min(0.3 * s, 1.0), (0.02, 0.15), 0.0, generator)
    return add_noise(out, 0.05 * s, generator)


def two_views(
    images: Tensor, generator: torch.Generator | None = None, strength: float = 1.0
) -> tuple[Tensor, Tensor]:
    """Two independently augmented views of each image, the positive pairs of SimCLR.

    Both views come from one :func:`augment` call on the doubled batch.

    Args:
        images: batch of images, values in [0, 1].
        generator: random generator; ``None`` uses torch's global one.
        strength: passed to :func:`augment`.

    Returns:
        ``(v1, v2)``: row ``i`` of each is a view of image ``i``.

    Shape:
        ``(N, C, H, W)`` -> two ``(N, C, H, W)``.

    Raises:
        ValueError: as :func:`augment`.
    """
    _check_images(images)
    both = augment(torch.cat([images, images]), strength, generator)  # (2N, C, H, W)
    return both[: len(images)], both[len(images) :]


# --------------------------------------------------------------------------- transformed digits


class TransformedDigits:
    """scikit-learn's digits, upsampled and each put under a random affine nuisance.

    Every digit is upsampled (bilinear) from 8x8 to ``size`` x ``size``, shrunk a little so it has
    room to move, then shifted, rotated and scaled at random once (the stored ``images``).
    Raw-pixel distance works well on the plain digits (1-NN accuracy 0.996 on a stratified 25 %
    held-out split) but poorly here (0.71 with the defaults, seed 0), so invariance to pose has
    to be *learned*, e.g. with SimCLR views from :meth:`views`.

    Args:
        size: image side in pixels (>= 8).
        seed: random seed of the nuisance.
        max_shift: largest shift, as a fraction of the side.
        max_rotation_deg: largest rotation in degrees.
        scale_range: ``(low, high)`` scale of the digit relative to the frame.

    Attributes:
        images: float32 ``(N, 1, size, size)`` in [0, 1], N = 1797.
        labels: int64 ``(N,)`` digit classes 0-9.

    Raises:
        ValueError: bad ``size``, ``seed`` or nuisance amounts.
    """

    def __init__(
        self,
        size: int = 16,
        seed: int = 0,
        max_shift: float = 0.15,
        max_rotation_deg: float = 25.0,
        scale_range: tuple[float, float] = (0.65, 1.0),
    ):
        self.size = _check_int(size, "size", 8)
        self.seed = _check_int(seed, "seed", 0)
        X, self.labels = load_digits(as_images=True)
        big = F.interpolate(X, size=(self.size, self.size), mode="bilinear", align_corners=False)
        gen = torch.Generator().manual_seed(self.seed)
        self.images = random_affine(big, max_shift, max_rotation_deg, scale_range, gen)
        self.images = self.images.clamp(0.0, 1.0).contiguous()  # (N, 1, size, size)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index) -> tuple[Tensor, Tensor]:
        return self.images[index], self.labels[index]

    def views(
        self, indices_or_images, generator: torch.Generator | None = None, strength: float = 1.0
    ) -> tuple[Tensor, Tensor]:
        """Two fresh augmented views (see :func:`two_views`) of some images, for SimCLR.

        Args:
            indices_or_images: indices into this set, or a batch of images ``(B, 1, H, W)``.
            generator: random generator; ``None`` uses torch's global one.
            strength: augmentation strength.

        Returns:
            ``(v1, v2)``, each ``(B, 1, size, size)``.
        """
        return two_views(_pick_images(self.images, indices_or_images), generator, strength)


def _pick_images(images: Tensor, indices_or_images) -> Tensor:
    if isinstance(indices_or_images, Tensor) and indices_or_images.is_floating_point():
        _check_images(indices_or_images, "indices_or_images")
        return indices_or_images
    return images[torch.as_tensor(indices_or_images, dtype=torch.long)]


# --------------------------------------------------------------------------- synthetic faces

FACE_PARAM_NAMES: tuple[str, ...] = (
    "face_width",
    "face_height",
    "skin_tone",
    "hair_line",
    "hair_tone",
    "eye_spacing",
    "eye_height",
    "eye_size",
    "brow_angle",
    "brow_gap",
    "brow_thickness",
    "nose_length",
    "nose_width",
    "mouth_width",
    "mouth_height",
    "mouth_curvature",
)
"""Names of the identity parameters of :class:`SyntheticFaces` (columns of ``params``), each in
[0, 1] and mapped linearly to the ranges in ``_FACE_RANGES``."""

# (low, high) in canonical face coordinates: x right, y down, the frame spans [-1, 1].
_FACE_RANGES = torch.tensor(
    [
        [0.50, 0.74],  # face_width: half-width of the head ellipse
        [0.66, 0.88],  # face_height: half-height
        [0.55, 0.95],  # skin_tone: grey level of the face
        [-0.70, -0.20],  # hair_line: y where the hair ends
        [0.02, 0.40],  # hair_tone: grey level of the hair
        [0.16, 0.36],  # eye_spacing: half the distance between the eyes
        [-0.22, 0.05],  # eye_height: y of the eyes
        [0.06, 0.13],  # eye_size: half-width of an eye
        [-0.45, 0.45],  # brow_angle: radians, inner end up (+) or down (-)
        [0.10, 0.24],  # brow_gap: brow height above the eye
        [0.025, 0.06],  # brow_thickness
        [0.12, 0.36],  # nose_length
        [0.035, 0.11],  # nose_width
        [0.12, 0.34],  # mouth_width: half-width
        [0.30, 0.56],  # mouth_height: y of the mouth
        [-0.9, 0.9],  # mouth_curvature: smile (+) or frown (-), at rest
    ]
)


def _soft_ellipse(u: Tensor, v: Tensor, a: Tensor, b: Tensor, soft: float) -> Tensor:
    """Soft mask (1 inside, 0 outside) of the axis-aligned ellipse with half-axes ``a``, ``b``."""
    k = torch.minimum(a, b) / soft  # (N, 1, 1) edge sharpness
    r = torch.hypot(u / a, v / b)  # (N, H, W) elliptic radius, 1 on the rim
    return torch.sigmoid_(r.mul_(-k).add_(k))


def _paint(img: Tensor, mask: Tensor, value) -> Tensor:
    """Blend ``value`` over ``img`` with weight ``mask`` (one fused op)."""
    value = torch.as_tensor(value, dtype=img.dtype, device=img.device)
    return torch.lerp(img, value.expand_as(img), mask)


def render_faces(
    params: Tensor,
    size: int = 32,
    nuisance: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Draw one face-like grayscale image per row of identity parameters, vectorised.

    Each face is a composition of soft shapes on a coordinate grid: head ellipse, hair above the
    hair line, two eyes, two tilted brows, a nose and a curved mouth, placed by the identity
    ``params`` (see :data:`FACE_PARAM_NAMES`). The nuisance, drawn per image and scaled by
    ``nuisance``, is what the views of one identity differ by: shift (up to 8.5 % of the side),
    rotation (up to 8 degrees), scale (0.895-1.085), background level, a lighting gradient in a
    random direction (up to ±25 %), brightness and contrast, expression (mouth curvature, brow
    height, eye openness) and pixel noise (std 0.03); all amounts at ``nuisance=1``.

    Args:
        params: identity parameters in [0, 1].
        size: image side in pixels (>= 8).
        nuisance: 0 draws the canonical face, 1 the default variation, up to 2.
        generator: random generator for the nuisance; ``None`` uses torch's global one.

    Returns:
        float32 images in [0, 1].

    Shape:
        ``params``: ``(N, P)`` with ``P = len(FACE_PARAM_NAMES)`` -> ``(N, 1, size, size)``.

    Raises:
        ValueError: ``params`` of the wrong shape or outside [0, 1], bad ``size`` or ``nuisance``.
    """
    if not isinstance(params, Tensor) or params.ndim != 2 or params.shape[1] != len(_FACE_RANGES):
        shape = tuple(params.shape) if isinstance(params, Tensor) else type(params).__name__
        raise ValueError(f"params must be a tensor of shape (N, {len(_FACE_RANGES)}), got {shape}")
    if not params.is_floating_point() or bool((params < 0).any() | (params > 1).any()):
        raise ValueError("params must be floating-point values in [0, 1]")
    size = _check_int(size, "size", 8)
    s = _check_nonneg(nuisance, "nuisance")
    if s > 2:
        raise ValueError(f"nuisance must be in [0, 2], got {nuisance}")
    _check_generator(generator)
    n = params.shape[0]
    ranges = _FACE_RANGES.to(params.device)
    q = ranges[:, 0] + params.float() * (ranges[:, 1] - ranges[:, 0])  # (N, P) physical values
    q = q[:, :, None, None]  # (N, P, 1, 1) to broadcast over the grid
    (fw, fh, skin, hair_y, hair, eye_dx, eye_y, eye_w) = q[:, :8].unbind(1)
    (brow_a, brow_gap, brow_t, nose_l, nose_w, mouth_w, mouth_y, mouth_c) = q[:, 8:].unbind(1)

    z = _rand((n, 12), generator, params.device)  # (N, 12) nuisance draws in [0, 1)
    w = 2 * z - 1  # (N, 12) in [-1, 1)
    angle = math.radians(8.0) * s * w[:, 0]
    scale = 1.0 + s * (0.095 * w[:, 1] - 0.01)  # 0.895..1.085 at s = 1
    shift = 0.17 * s * w[:, 2:4]  # (N, 2) in grid units (2 per side)
    bg = 0.25 + 0.1 * s * w[:, 4]
    light_dir = math.pi * w[:, 5]
    light_amp = 0.25 * s * z[:, 6]
    bright = 0.085 * s * w[:, 7]
    mouth_c = mouth_c + 0.25 * s * w[:, 8, None, None]  # expression
    brow_gap = brow_gap + 0.03 * s * w[:, 9, None, None]
    eye_open = 1.0 - 0.25 * s * z[:, 10, None, None]
    contrast = 1.0 + 0.14 * s * w[:, 11]

    # pixel grid -> canonical face coordinates (inverse of rotate, scale, shift)
    t = (torch.arange(size, device=params.device, dtype=torch.float32) + 0.5) / size * 2 - 1
    gy, gx = torch.meshgrid(t, t, indexing="ij")  # (H, W) image coordinates, y down
    dx = gx[None] - shift[:, 0, None, None]  # (N, H, W)
    dy = gy[None] - shift[:, 1, None, None]
    cos, sin = angle.cos()[:, None, None], angle.sin()[:, None, None]
    sc = scale[:, None, None]
    u = (cos * dx + sin * dy) / sc  # (N, H, W)
    v = (-sin * dx + cos * dy) / sc
    soft = 0.7 / size  # edges about one pixel wide

    img = bg[:, None, None].expand(n, size, size)  # (N, H, W)
    head = _soft_ellipse(u, v + 0.05, fw, fh, soft)
    img = _paint(img, head, skin)
    hair_zone = _soft_ellipse(u, v + 0.08, fw * 1.08, fh * 1.05, soft)
    img = _paint(img, hair_zone * torch.sigmoid((hair_y - v) / soft), hair)
    for side in (-1.0, 1.0):
        ex = u - side * eye_dx  # (N, H, W)
        eye = _soft_ellipse(ex, v - eye_y, eye_w, eye_w * 0.55 * eye_open, soft)
        img = _paint(img, eye, 0.05)
        ba = side * brow_a  # mirrored tilt
        bx, by = ex, v - (eye_y - brow_gap)
        bu = bx * ba.cos() + by * ba.sin()
        bv = -bx * ba.sin() + by * ba.cos()
        brow = _soft_ellipse(bu, bv, eye_w * 1.5, brow_t, soft)
        img = _paint(img, brow, hair * 0.8)
    nose = _soft_ellipse(u, v - (eye_y + 0.05 + nose_l / 2), nose_w, nose_l / 2, soft)
    img = _paint(img, nose, skin * 0.7)
    curve = mouth_y - mouth_c * (u**2 - mouth_w**2 / 3) / mouth_w.clamp_min(1e-3)  # (N, H, W)
    lip = torch.exp(-(((v - curve) / 0.045) ** 2)) * torch.sigmoid((mouth_w - u.abs()) / soft)
    img = _paint(img, lip, 0.1)

    # lighting: a gradient across the image, brightness and contrast, then noise
    gain = 1 + light_amp[:, None, None] * (
        light_dir.cos()[:, None, None] * gx + light_dir.sin()[:, None, None] * gy
    )
    img = img * gain
    mean = img.mean(dim=(1, 2), keepdim=True)
    img = (img - mean) * contrast[:, None, None] + mean + bright[:, None, None]
    noise = _randn((n, size, size), generator, params.device)
    img = img + 0.03 * s * noise
    return img.clamp(0.0, 1.0).unsqueeze(1)  # (N, 1, H, W)


class SyntheticFaces:
    """Procedurally drawn face-like images with many identities, for verification on unseen ones.

    An identity is a vector of shape parameters (:data:`FACE_PARAM_NAMES`: face width and height,
    skin and hair tone, hair line, eye spacing/height/size, brow angle/height/thickness, nose
    length/width, mouth width/height/curvature), drawn uniformly in [0, 1]. Each of its
    ``images_per_identity`` views is rendered by :func:`render_faces` under a fresh nuisance
    (pose, lighting, expression, noise), so raw pixels are a poor identity signal while a small
    conv net can learn one that transfers to identities it never saw.

    Deterministic by ``seed``: identity parameters come from ``seed`` and the nuisance from a
    second stream derived from it. Rendering is vectorised (chunks of 2,048 images).

    Args:
        num_identities: number of identities (>= 2).
        images_per_identity: views per identity (>= 1).
        size: image side in pixels (>= 8).
        seed: random seed.
        nuisance: strength of the per-view variation (0 = identical views, 1 = default, max 2).

    Attributes:
        images: float32 ``(N, 1, size, size)`` in [0, 1], ``N = num_identities *
            images_per_identity``, grouped by identity.
        labels: int64 ``(N,)`` identity ids ``0 .. num_identities - 1``.
        params: float32 ``(num_identities, P)`` identity parameters in [0, 1].

    Raises:
        ValueError: bad sizes, seed or nuisance.
    """

    param_names = FACE_PARAM_NAMES

    def __init__(
        self,
        num_identities: int = 500,
        images_per_identity: int = 10,
        size: int = 32,
        seed: int = 0,
        nuisance: float = 1.0,
    ):
        self.num_identities = _check_int(num_identities, "num_identities", 2)
        self.images_per_identity = _check_int(images_per_identity, "images_per_identity", 1)
        self.size = _check_int(size, "size", 8)
        self.seed = _check_int(seed, "seed", 0)
        self.nuisance = _check_nonneg(nuisance, "nuisance")
        if self.nuisance > 2:
            raise ValueError(f"nuisance must be in [0, 2], got {nuisance}")
        gen_id = torch.Generator().manual_seed(self.seed)
        self.params = torch.rand(self.num_identities, len(FACE_PARAM_NAMES), generator=gen_id)
        self.labels = torch.arange(self.num_identities).repeat_interleave(self.images_per_identity)
        gen_view = torch.Generator().manual_seed(self.seed + 7919)  # an independent stream
        chunks = [
            render_faces(self.params[lab], self.size, self.nuisance, gen_view)
            for lab in torch.split(self.labels, 2048)
        ]
        self.images = torch.cat(chunks)  # (N, 1, size, size)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index) -> tuple[Tensor, Tensor]:
        return self.images[index], self.labels[index]

    def split_identities(self, num_train: int) -> tuple[Tensor, Tensor]:
        """Split the images by identity: identities ``0 .. num_train - 1`` train, the rest test.

        Identities are drawn independently, so taking the first ``num_train`` is a random split;
        no identity is in both parts.

        Args:
            num_train: number of training identities, in [1, num_identities - 1].

        Returns:
            ``(train_idx, test_idx)``: int64 indices into ``images`` / ``labels``.

        Raises:
            ValueError: ``num_train`` outside [1, num_identities - 1].
        """
        num_train = _check_int(num_train, "num_train", 1)
        if num_train >= self.num_identities:
            raise ValueError(
                f"num_train must be < num_identities ({self.num_identities}), got {num_train}"
            )
        is_train = self.labels < num_train
        return torch.nonzero(is_train).squeeze(1), torch.nonzero(~is_train).squeeze(1)

    def views(
        self, indices_or_images, generator: torch.Generator | None = None, strength: float = 1.0
    ) -> tuple[Tensor, Tensor]:
        """Two augmented views (see :func:`two_views`) of some images, for SimCLR.

        Args:
            indices_or_images: indices into this set, or a batch of images ``(B, 1, H, W)``.
            generator: random generator; ``None`` uses torch's global one.
            strength: augmentation strength.

        Returns:
            ``(v1, v2)``, each ``(B, 1, size, size)``.
        """
        return two_views(_pick_images(self.images, indices_or_images), generator, strength)

    def render_identity(
        self, identity: int, num_views: int = 8, generator: torch.Generator | None = None
    ) -> Tensor:
        """Fresh views of one identity under new nuisance (for widgets and illustrations).

        Shape:
            ``(num_views, 1, size, size)``.

        Raises:
            ValueError: ``identity`` out of range or ``num_views < 1``.
        """
        identity = _check_int(identity, "identity", 0)
        if identity >= self.num_identities:
            raise ValueError(f"identity must be < {self.num_identities}, got {identity}")
        num_views = _check_int(num_views, "num_views", 1)
        rows = self.params[identity].expand(num_views, -1)
        return render_faces(rows, self.size, self.nuisance, generator)


# --------------------------------------------------------------------------- optional real data

_DIGITS_ALTERNATIVE = (
    "Offline, use the bundled alternatives: cl.data.load_digits() or cl.data.TransformedDigits()."
)
_FACES_ALTERNATIVE = (
    "Offline, use the synthetic alternative cl.data.SyntheticFaces(num_identities=500), "
    "which has many identities and needs no download."
)


def load_mnist(
    root: str = "data", fashion: bool = False, train: bool = True, download: bool = False
) -> tuple[Tensor, Tensor]:
    """MNIST or Fashion-MNIST (28x28, 10 classes) through torchvision, scaled to [0, 1].

    Optional: needs ``torchvision`` and, the first time, the internet (``download=True``).

    Args:
        root: folder holding (or receiving) the files.
        fashion: Fashion-MNIST instead of MNIST.
        train: the 60,000 training images, else the 10,000 test images.
        download: download the files if they are not in ``root``.

    Returns:
        ``(X, y)``: float32 images in [0, 1] and int64 labels.

    Shape:
        ``X``: ``(N, 1, 28, 28)``, ``y``: ``(N,)``.

    Raises:
        ImportError: torchvision is not installed (the message says how to install it).
        RuntimeError: the data is not in ``root`` and could not be downloaded.
    """
    try:
        import torchvision
    except ImportError as err:
        raise ImportError(
            "load_mnist needs torchvision, which is not installed: `pip install torchvision` "
            f"(or `conda install -c conda-forge torchvision`). {_DIGITS_ALTERNATIVE}"
        ) from err
    name = "FashionMNIST" if fashion else "MNIST"
    dataset_cls = getattr(torchvision.datasets, name)
    try:
        ds = dataset_cls(root, train=train, download=download)
    except (OSError, RuntimeError) as err:
        hint = "" if download else " Pass download=True to fetch it (needs the internet)."
        raise RuntimeError(
            f"{name} could not be loaded from {root!r} ({err}).{hint} {_DIGITS_ALTERNATIVE}"
        ) from err
    X = ds.data.float().div(255.0).unsqueeze(1)  # (N, 1, 28, 28)
    return X.contiguous(), ds.targets.long()


def _fetch(fetcher, what: str, download: bool, **kwargs):
    try:
        return fetcher(download_if_missing=download, **kwargs)
    except OSError as err:  # URLError and HTTPError are OSErrors too
        hint = "" if download else " Pass download=True to fetch it (needs the internet)."
        raise RuntimeError(
            f"{what} could not be loaded ({err}).{hint} {_FACES_ALTERNATIVE}"
        ) from err


def _to_unit(a) -> Tensor:
    t = torch.as_tensor(np.asarray(a), dtype=torch.float32)
    return t / 255.0 if t.numel() and float(t.max()) > 1.0 else t


def load_olivetti_faces(
    data_home: str | None = None, download: bool = False
) -> tuple[Tensor, Tensor]:
    """The Olivetti (AT&T) faces through scikit-learn: 400 images of 40 people, 64x64, in [0, 1].

    Optional: the first call needs the internet (``download=True``); scikit-learn caches the
    file in ``data_home`` (default ``~/scikit_learn_data``).

    Args:
        data_home: scikit-learn's cache folder.
        download: download if not cached.

    Returns:
        ``(X, y)``: float32 images and int64 person ids 0-39.

    Shape:
        ``X``: ``(400, 1, 64, 64)``, ``y``: ``(400,)``.

    Raises:
        RuntimeError: not cached and not downloadable (offline); names the synthetic alternative.
    """
    from sklearn.datasets import fetch_olivetti_faces

    bunch = _fetch(fetch_olivetti_faces, "Olivetti faces", download, data_home=data_home)
    X = _to_unit(bunch.images).unsqueeze(1)  # (400, 1, 64, 64)
    return X, torch.as_tensor(np.asarray(bunch.target), dtype=torch.int64)


def load_lfw_pairs(
    subset: str = "test",
    data_home: str | None = None,
    download: bool = False,
    resize: float = 0.5,
) -> tuple[Tensor, Tensor, Tensor]:
    """Labeled Faces in the Wild verification pairs through scikit-learn, grayscale in [0, 1].

    Huang et al. 2007, http://vis-www.cs.umass.edu/lfw/. ``y = 1`` means the same person (the
    course's convention). Optional: the first call downloads about 200 MB (``download=True``).

    Args:
        subset: ``"train"``, ``"test"`` or ``"10_folds"``.
        data_home: scikit-learn's cache folder.
        download: download if not cached.
        resize: resize factor of scikit-learn's fetcher (0.5 gives 62x47 images).

    Returns:
        ``(X1, X2, y)``: the two images of each pair and int64 labels in {0, 1}.

    Shape:
        ``X1``, ``X2``: ``(N, 1, H, W)``, ``y``: ``(N,)``.

    Raises:
        ValueError: unknown ``subset`` or ``resize <= 0``.
        RuntimeError: not cached and not downloadable (offline); names the synthetic alternative.
    """
    if subset not in ("train", "test", "10_folds"):
        raise ValueError(f"subset must be 'train', 'test' or '10_folds', got {subset!r}")
    if _check_nonneg(resize, "resize") == 0:
        raise ValueError("resize must be > 0, got 0")
    from sklearn.datasets import fetch_lfw_pairs

    bunch = _fetch(
        fetch_lfw_pairs, "LFW pairs", download, subset=subset, data_home=data_home, resize=resize
    )
    pairs = _to_unit(bunch.pairs)  # (N, 2, H, W)
    y = torch.as_tensor(np.asarray(bunch.target), dtype=torch.int64)
    return pairs[:, :1].contiguous(), pairs[:, 1:].contiguous(), y
