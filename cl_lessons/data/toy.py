"""Toy 2-D sets with balanced classes: blobs, moons, rings and spirals."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from cl_lessons._checks import check_int, check_nonneg, check_seed


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
    check_int(num_classes, "num_classes", 2)
    check_int(n, "n", num_classes)
    check_seed(seed)


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
    spread = check_nonneg(spread, "spread")
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
    noise = check_nonneg(noise, "noise")
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
    noise = check_nonneg(noise, "noise")
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
    noise = check_nonneg(noise, "noise")
    gen = torch.Generator().manual_seed(seed)
    sizes = _class_sizes(n, num_classes)
    y = torch.repeat_interleave(torch.arange(num_classes), torch.tensor(sizes))
    radius = torch.cat([torch.linspace(0.05, 1.0, s) for s in sizes])  # (n,)
    angle = 2 * math.pi * y / num_classes + 4.0 * radius  # (n,) each arm turns ~2/3 of a circle
    angle = angle + noise * torch.randn(n, generator=gen)
    X = radius.unsqueeze(1) * torch.stack([angle.cos(), angle.sin()], 1)  # (n, 2)
    return _shuffle(X, y, gen)
