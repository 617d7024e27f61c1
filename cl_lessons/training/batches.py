"""Re-iterable batch sources: :class:`TensorBatches` and :class:`PKBatches` (P x K)."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from cl_lessons._checks import check_bool, check_has_values, check_positive_int, check_seed


def _as_tensor(x, name: str) -> Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a tensor or NumPy array, got {type(x).__name__}")
    check_has_values(x, name)
    if x.dtype == torch.float64:
        x = x.float()
    return x


class TensorBatches:
    """Mini-batches sliced from tensors held in memory (on the training device, once).

    Iterating yields tuples ``(t1[idx], t2[idx], ...)`` for shuffled index blocks; iterating again
    starts a new epoch with a new order. :func:`fit` calls :meth:`to` once, so a data set that fits
    on the GPU is copied there once instead of once per batch.

    Args:
        *tensors: tensors (or NumPy arrays; float64 becomes float32) with the same first dimension.
        batch_size: rows per batch.
        shuffle: draw a new random order each epoch.
        seed: ``None`` draws orders from PyTorch's global generator, so ``fit(seed=...)`` or
            ``cl.seed_everything`` make them reproducible; an int gives this source its own
            generator (the same sequence of epochs whatever else uses random numbers).
        drop_last: drop a last batch smaller than ``batch_size``.

    Raises:
        ValueError: no tensors, different lengths, or a bad ``batch_size``.
    """

    def __init__(
        self,
        *tensors,
        batch_size: int = 128,
        shuffle: bool = True,
        seed: int | None = None,
        drop_last: bool = False,
    ) -> None:
        if not tensors:
            raise ValueError("TensorBatches needs at least one tensor")
        self.tensors = [_as_tensor(t, f"tensors[{i}]") for i, t in enumerate(tensors)]
        n = self.tensors[0].shape[0]
        for i, t in enumerate(self.tensors):
            if t.ndim == 0 or t.shape[0] != n:
                raise ValueError(
                    f"all tensors must have the same first dimension; tensors[0] has {n} rows, "
                    f"tensors[{i}] has shape {tuple(t.shape)}"
                )
        if n == 0:
            raise ValueError("the tensors are empty (0 rows)")
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.shuffle = check_bool(shuffle, "shuffle")
        self.drop_last = check_bool(drop_last, "drop_last")
        if drop_last and n < self.batch_size:
            raise ValueError(
                f"drop_last=True with {n} rows < batch_size={batch_size} gives no batch"
            )
        self.generator = None if seed is None else torch.Generator().manual_seed(check_seed(seed))

    @property
    def num_samples(self) -> int:
        """Number of rows."""
        return self.tensors[0].shape[0]

    def __len__(self) -> int:
        n, b = self.num_samples, self.batch_size
        return n // b if self.drop_last else math.ceil(n / b)

    def to(self, device: torch.device | str) -> TensorBatches:
        """Move the tensors to ``device`` (in place, like ``nn.Module.to``) and return ``self``."""
        self.tensors = [t.to(device) for t in self.tensors]
        return self

    def __iter__(self):
        n = self.num_samples
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)  # (n,), drawn on the CPU
        else:
            order = torch.arange(n)
        order = order.to(self.tensors[0].device)
        for s in range(0, len(self) * self.batch_size, self.batch_size):
            idx = order[s : s + self.batch_size]  # (B,)
            yield tuple(t[idx] for t in self.tensors)


class PKBatches:
    """Batches of ``P`` classes x ``K`` samples each, for in-batch mining losses.

    Batch-hard and semi-hard triplet losses need several samples of each class in every batch
    (Hermans, Beyer, Leibe 2017, "In Defense of the Triplet Loss for Person Re-Identification",
    https://arxiv.org/abs/1703.07737). The indices come from :class:`cl_lessons.data.PKSampler`
    (``p`` distinct classes, ``k`` samples of each, with replacement only for classes smaller than
    ``k``); this class holds ``X`` and ``labels`` on the training device and yields
    ``(X[idx], labels[idx])``, the ``k`` samples of a class next to each other.

    Args:
        X: inputs, ``(N, *)`` (tensor or NumPy array).
        labels: integer class labels, ``(N,)``.
        p: classes per batch (2 <= p <= number of classes).
        k: samples per class.
        num_batches: batches per epoch; ``None`` uses ``N // (p * k)`` (at least 1).
        seed: ``None`` draws each epoch from PyTorch's global generator (so ``fit(seed=...)``
            makes it repeatable); an int gives this source its own generator.

    Raises:
        ValueError: mismatched lengths, non-integer labels, or bad ``p``, ``k``, ``num_batches``.
    """

    def __init__(
        self,
        X,
        labels,
        p: int = 8,
        k: int = 4,
        num_batches: int | None = None,
        seed: int | None = None,
    ) -> None:
        from cl_lessons.data import PKSampler

        self.X = _as_tensor(X, "X")
        labels = _as_tensor(labels, "labels")
        if labels.ndim != 1 or labels.shape[0] != self.X.shape[0]:
            raise ValueError(
                f"labels must have shape ({self.X.shape[0]},) to match X, got {tuple(labels.shape)}"
            )
        if labels.is_floating_point() or labels.dtype == torch.bool:
            raise ValueError(f"labels must be integer class ids, got dtype {labels.dtype}")
        self.labels = labels.long()
        self.seed = seed
        # built now to validate p, k and num_batches; rebuilt per epoch when seed is None
        self.sampler = PKSampler(self.labels.cpu(), p, k, num_batches, generator=seed)
        self.p, self.k, self.num_batches = self.sampler.p, self.sampler.k, self.sampler.num_batches

    def __len__(self) -> int:
        return self.num_batches

    def to(self, device: torch.device | str) -> PKBatches:
        """Move ``X`` and ``labels`` to ``device`` (in place) and return ``self``."""
        self.X, self.labels = self.X.to(device), self.labels.to(device)
        return self

    def __iter__(self):
        sampler = self.sampler
        if self.seed is None:  # a fresh sampler seeded from the global generator, every epoch
            from cl_lessons.data import PKSampler

            sampler = PKSampler(self.labels.cpu(), self.p, self.k, self.num_batches)
        for idx in sampler:
            idx = idx.to(self.X.device)  # (p*k,)
            yield self.X[idx], self.labels[idx]
