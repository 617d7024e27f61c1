"""One training loop for every lesson, on a laptop CPU or a GPU, plus evaluation glue.

The loop, :func:`fit`, knows nothing about Siamese networks or InfoNCE: it takes a
``loss_fn(model, batch) -> scalar`` and a re-iterable source of batches. The *objective builders*
turn a loss from :mod:`cl_lessons.losses` into such a ``loss_fn`` in one line:

=========================================  ===============================  =====================
builder                                    batch                            model call
=========================================  ===============================  =====================
``pair_objective(contrastive_loss)``       ``(x1, x2, y)``                  ``model(x1, x2)``
``triplet_objective(triplet_loss)``        ``(xa, xp, xn)``                 ``embed(cat)``
``labeled_objective(batch_triplet_loss)``  ``(x, labels)`` (P x K)          ``embed(x)``
``two_view_objective(info_nce, augment)``  ``(x,)`` or ``(x, labels)``      ``embed(cat(v1, v2))``
``pair_classifier_objective()``            ``(x1, x2, y)``                  logits ``model(x1, x2)``
=========================================  ===============================  =====================

``embed`` is ``model.embed`` when the model has one (:class:`~cl_lessons.models.SiameseNetwork`),
else ``model`` itself. A typical lesson cell::

    net = cl.models.SiameseNetwork(cl.models.ConvEncoder(1, 16, out_dim=32))
    data = cl.training.TensorBatches(x1, x2, y, batch_size=128)
    history = cl.training.fit(
        net, cl.training.pair_objective(cl.losses.contrastive_loss, margin=1.0), data,
        epochs=10, lr=1e-3, seed=0,
    )
    history.plot()

Batch sources: :class:`TensorBatches` (tensors held once, on the training device, sliced by
shuffled indices) and :class:`PKBatches` (P classes x K samples per batch, for batch mining). A
plain list of batches and a ``torch.utils.data.DataLoader`` work too.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_lessons.distances import cosine_similarity, euclidean, manhattan
from cl_lessons.runtime import get_device, seed_everything

__all__ = [
    "CheckpointError",
    "History",
    "PKBatches",
    "TensorBatches",
    "embed_dataset",
    "fit",
    "labeled_objective",
    "load_checkpoint",
    "pair_classifier_objective",
    "pair_objective",
    "pair_scores",
    "retrieval_report",
    "save_checkpoint",
    "triplet_objective",
    "two_view_objective",
    "verification_report",
]

LossFn = Callable[[nn.Module, Sequence[Tensor]], Tensor]
Callback = Callable[[int, "History", nn.Module], Any]


# --------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------
@dataclass
class History:
    """What :func:`fit` measured, epoch by epoch (epochs are numbered from 1).

    Attributes:
        loss: mean training loss of each completed epoch.
        epoch_time: wall-clock seconds of the training steps of each completed epoch.
        eval_time: wall-clock seconds of each evaluation (one per entry of ``metrics``).
        batch_loss: the loss of every optimisation step, including a partial last epoch.
        metrics: one dict per evaluation, ``{"epoch": e, **eval_fn(model)}``.
        interrupted: training was stopped by ``KeyboardInterrupt`` (the kernel's stop button).
        stopped_early: a callback returned ``True`` to stop.
        device: the device trained on, as a string.
        notes: remarks of the loop (for example "amp ignored on cpu").
    """

    loss: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    eval_time: list[float] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)
    metrics: list[dict[str, float]] = field(default_factory=list)
    interrupted: bool = False
    stopped_early: bool = False
    device: str = "cpu"
    notes: list[str] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.loss)

    @property
    def train_seconds(self) -> float:
        """Total wall-clock seconds of training steps (evaluations excluded)."""
        return float(sum(self.epoch_time))

    @property
    def last_metrics(self) -> dict[str, float]:
        """The most recent evaluation (empty dict if none)."""
        return dict(self.metrics[-1]) if self.metrics else {}

    def metric(self, name: str) -> tuple[list[int], list[float]]:
        """The epochs at which ``name`` was evaluated and its values.

        Raises:
            KeyError: ``name`` was never reported by ``eval_fn``.
        """
        rows = [m for m in self.metrics if name in m]
        if not rows:
            known = sorted({k for m in self.metrics for k in m} - {"epoch"})
            raise KeyError(f"no metric {name!r} in this history; known: {known}")
        return [int(m["epoch"]) for m in rows], [float(m[name]) for m in rows]

    def as_dict(self) -> dict[str, Any]:
        """Plain Python containers only (JSON- and ``save_checkpoint``-friendly)."""
        return {
            "loss": list(self.loss),
            "epoch_time": list(self.epoch_time),
            "eval_time": list(self.eval_time),
            "batch_loss": list(self.batch_loss),
            "metrics": [dict(m) for m in self.metrics],
            "interrupted": self.interrupted,
            "stopped_early": self.stopped_early,
            "device": self.device,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        """Inverse of :meth:`as_dict`."""
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def plot(self, ax=None, title: str | None = None):
        """Loss per epoch and, if any, the evaluation metrics on a second y axis.

        Args:
            ax: a matplotlib Axes to draw into; ``None`` makes a new figure.
            title: optional title.

        Returns:
            The matplotlib ``Figure``.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 3.5))
        else:
            fig = ax.figure
        epochs = list(range(1, self.epochs + 1))
        ax.plot(epochs, self.loss, "o-", color="C0", label="training loss")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        handles, labels = ax.get_legend_handles_labels()
        names = sorted({k for m in self.metrics for k in m} - {"epoch"})
        if names:
            ax2 = ax.twinx()
            for c, name in enumerate(names, start=1):
                xs, ys = self.metric(name)
                ax2.plot(xs, ys, "s--", color=f"C{c}", label=name)
            ax2.set_ylabel("metric")
            h2, l2 = ax2.get_legend_handles_labels()
            handles, labels = handles + h2, labels + l2
        ax.legend(handles, labels, loc="best", fontsize="small")
        suffix = " (interrupted)" if self.interrupted else ""
        ax.set_title((title or "training") + suffix)
        fig.tight_layout()
        return fig


# --------------------------------------------------------------------------------------------
# Batch sources
# --------------------------------------------------------------------------------------------
def _as_tensor(x, name: str) -> Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a tensor or NumPy array, got {type(x).__name__}")
    if x.dtype == torch.float64:
        x = x.float()
    return x


def _check_batch_size(value, name: str = "batch_size") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


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
        self.batch_size = _check_batch_size(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        if drop_last and n < self.batch_size:
            raise ValueError(
                f"drop_last=True with {n} rows < batch_size={batch_size} gives no batch"
            )
        self.generator = None if seed is None else torch.Generator().manual_seed(int(seed))

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


# --------------------------------------------------------------------------------------------
# Objectives: loss_fn(model, batch) -> scalar
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------
def _to_device(batch, device: torch.device):
    if isinstance(batch, Tensor):
        return (batch.to(device, non_blocking=True),)
    if isinstance(batch, (list, tuple)):
        return tuple(t.to(device, non_blocking=True) if isinstance(t, Tensor) else t for t in batch)
    raise ValueError(
        f"each batch must be a tensor or a tuple/list of tensors, got {type(batch).__name__}"
    )


def _prepare_data(data, device: torch.device):
    """Move a data set to ``device`` once when that is possible."""
    if hasattr(data, "to") and callable(data.to) and not isinstance(data, Tensor):
        return data.to(device), True
    if isinstance(data, (list, tuple)):
        return [_to_device(b, device) for b in data], True
    if isinstance(data, Tensor):
        raise ValueError("data must be batches (e.g. TensorBatches(X, ...)), not a single tensor")
    if not isinstance(data, Iterable):
        raise ValueError(f"data must be re-iterable batches, got {type(data).__name__}")
    return data, False


def _make_optimizer(model: nn.Module, optimizer, lr: float, weight_decay: float):
    if optimizer is None:
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if callable(optimizer):
        return optimizer(model.parameters())
    raise ValueError(
        "optimizer must be None, a torch.optim.Optimizer, or a callable params -> optimizer, "
        f"got {type(optimizer).__name__}"
    )


def fit(
    model: nn.Module,
    loss_fn: LossFn,
    data,
    epochs: int = 10,
    lr: float = 1e-3,
    optimizer=None,
    device: torch.device | str | None = None,
    eval_fn: Callable[[nn.Module], dict[str, float]] | None = None,
    eval_every: int = 1,
    callbacks: Sequence[Callback] | Callback | None = None,
    progress: bool = True,
    amp: bool = False,
    seed: int | None = None,
    grad_clip: float | None = None,
    weight_decay: float = 0.0,
    history: History | None = None,
) -> History:
    """Train ``model`` by minimising ``loss_fn`` over ``epochs`` passes of ``data``.

    Each step: ``loss = loss_fn(model, batch)``, backward, optional gradient clipping, optimiser
    step. The model is in train mode during the epochs and is **left in eval mode** at the end,
    whatever happens (normal end, ``KeyboardInterrupt``, error).

    Devices: ``model`` is moved to ``device``; ``data`` is moved once when it can be (a
    :class:`TensorBatches` / :class:`PKBatches` via its ``.to``, a list of batches by copying each
    batch once); other iterables (a ``DataLoader``) have each batch moved as it comes.

    Reproducibility: with ``seed`` set, :func:`~cl_lessons.runtime.seed_everything` is called
    first, so on the CPU the same seed, model initialisation and data give an identical
    :class:`History` (losses bit for bit). Build the model *after* seeding (or pass a fresh model)
    to reproduce its initialisation too.

    Stopping: ``KeyboardInterrupt`` (the notebook's stop button) ends training cleanly: the
    History of the completed epochs is returned with ``interrupted=True`` and the model is usable.
    A callback that returns ``True`` stops training after that epoch (``stopped_early=True``).

    Args:
        model: the network.
        loss_fn: ``loss_fn(model, batch) -> scalar tensor``; see the objective builders
            (:func:`pair_objective`, :func:`triplet_objective`, :func:`labeled_objective`,
            :func:`two_view_objective`, :func:`pair_classifier_objective`).
        data: re-iterable batches: :class:`TensorBatches`, :class:`PKBatches`, a list of tuples
            of tensors, or a ``DataLoader``. A batch is a tuple/list of tensors (or one tensor).
        epochs: number of passes over ``data`` (0 only evaluates nothing and returns).
        lr: learning rate of the default Adam optimiser.
        optimizer: ``None`` (Adam with ``lr`` and ``weight_decay``), an optimiser over the
            model's parameters, or a callable ``params -> optimiser``.
        device: where to train; ``None`` uses :func:`~cl_lessons.runtime.get_device` (CUDA, MPS,
            then CPU).
        eval_fn: ``eval_fn(model) -> dict`` of held-out metrics, run under ``torch.no_grad`` with
            the model in eval mode every ``eval_every`` epochs and after the last epoch.
        eval_every: evaluation period in epochs.
        callbacks: ``callback(epoch, history, model)`` called after every epoch (after the
            evaluation), e.g. to redraw a live plot; return ``True`` to stop.
        progress: show a ``tqdm.auto`` bar (a widget in JupyterLab, text in a terminal) with the
            running loss.
        amp: mixed precision: ``torch.autocast`` with bfloat16 on CUDA. Ignored elsewhere (a
            warning and a note in the History say so).
        seed: seed everything before training; ``None`` leaves the random state alone.
        grad_clip: clip the global gradient norm to this value.
        weight_decay: L2 weight decay of the default Adam optimiser.
        history: a History to append to (to continue an earlier run).

    Returns:
        The :class:`History`.

    Raises:
        ValueError: a bad argument (names it), or ``loss_fn`` returned something other than a
            scalar tensor.
        FloatingPointError: the loss became NaN or infinite (the message gives the epoch and
            step; lower ``lr`` or check the inputs).
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be callable (model, batch) -> loss, got {loss_fn!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if optimizer is None and not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr must be > 0, got {lr!r}")
    eval_every = _check_batch_size(eval_every, "eval_every")
    if grad_clip is not None and not grad_clip > 0:
        raise ValueError(f"grad_clip must be > 0, got {grad_clip}")
    if callbacks is None:
        callbacks = []
    elif callable(callbacks):
        callbacks = [callbacks]
    else:
        callbacks = list(callbacks)
        for cb in callbacks:
            if not callable(cb):
                raise ValueError(f"callbacks must be callables, got {type(cb).__name__}")

    device = get_device() if device is None else torch.device(device)
    history = History() if history is None else history
    history.device = str(device)
    history.interrupted = False
    history.stopped_early = False
    if seed is not None:
        seed_everything(seed)
    model.to(device)
    data, _ = _prepare_data(data, device)
    opt = _make_optimizer(model, optimizer, lr, weight_decay)

    use_amp = bool(amp) and device.type == "cuda"
    if amp and not use_amp:
        note = f"amp=True ignored: bfloat16 autocast is used on CUDA only, training on {device}"
        warnings.warn(note, stacklevel=2)
        history.notes.append(note)

    def autocast():
        if use_amp:
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    try:
        steps_per_epoch = len(data)
    except TypeError:
        steps_per_epoch = None
    bar = None
    if progress and epochs > 0:
        from tqdm.auto import tqdm

        total = None if steps_per_epoch is None else steps_per_epoch * epochs
        bar = tqdm(total=total, desc="training", unit="step", leave=True)

    first_epoch = history.epochs + 1
    try:
        for epoch in range(first_epoch, first_epoch + epochs):
            model.train()
            t0 = time.perf_counter()
            total_loss, count = 0.0, 0
            for step, batch in enumerate(data):
                batch = _to_device(batch, device)
                with autocast():
                    loss = loss_fn(model, batch)
                if not isinstance(loss, Tensor) or loss.numel() != 1:
                    raise ValueError(
                        f"loss_fn must return a scalar tensor, got "
                        f"{type(loss).__name__}{tuple(getattr(loss, 'shape', ()))}"
                    )
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"the loss became {value} at epoch {epoch}, step {step}; lower lr, clip "
                        "gradients (grad_clip=) or check the inputs for NaN"
                    )
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if grad_clip is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                opt.step()
                history.batch_loss.append(value)
                total_loss += value
                count += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(epoch=epoch, loss=f"{total_loss / count:.4f}", refresh=False)
            if count == 0:
                raise ValueError("data yielded no batch in an epoch (is it an exhausted iterator?)")
            history.loss.append(total_loss / count)
            history.epoch_time.append(time.perf_counter() - t0)
            if eval_fn is not None and (
                (epoch - first_epoch + 1) % eval_every == 0 or epoch == first_epoch + epochs - 1
            ):
                model.eval()
                t_eval = time.perf_counter()
                with torch.no_grad():
                    result = eval_fn(model)
                history.eval_time.append(time.perf_counter() - t_eval)
                if not isinstance(result, dict):
                    raise ValueError(f"eval_fn must return a dict, got {type(result).__name__}")
                history.metrics.append({"epoch": epoch, **{k: float(v) for k, v in result.items()}})
                if bar is not None:
                    bar.set_postfix(
                        epoch=epoch,
                        loss=f"{history.loss[-1]:.4f}",
                        **{k: f"{float(v):.3f}" for k, v in result.items()},
                    )
            stop = False
            for cb in callbacks:
                stop = bool(cb(epoch, history, model)) or stop
            if stop:
                history.stopped_early = True
                break
    except KeyboardInterrupt:
        history.interrupted = True
        msg = f"training interrupted after {history.epochs} complete epoch(s); history returned"
        history.notes.append(msg)
        if bar is not None:
            bar.write(msg)
        else:
            print(msg)
    finally:
        if bar is not None:
            bar.close()
        model.eval()
    return history


# --------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------
CHECKPOINT_FORMAT = "cl_lessons.checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, not a cl_lessons checkpoint, or does not fit the model."""


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    **extra,
) -> None:
    """Save the model (and optimiser) state atomically: write a temporary file, then rename.

    A crash or a full disk during the write leaves any earlier checkpoint at ``path`` intact,
    because ``os.replace`` swaps the complete file in one step.

    Args:
        path: destination file (its folder must exist).
        model: the model whose ``state_dict`` is saved.
        optimizer: optional optimiser whose state is saved too.
        **extra: plain data to store alongside (numbers, strings, lists, dicts, tensors), e.g.
            ``epoch=5, history=history.as_dict()``; only such data loads with ``weights_only``.

    Raises:
        ValueError: the folder of ``path`` does not exist.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"path {path!r}: folder {folder!r} does not exist")
    state = {
        "format": CHECKPOINT_FORMAT,
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "extra": extra,
    }
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pt", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def _check_state_matches(model: nn.Module, state: dict[str, Tensor], path: str) -> None:
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and isinstance(state[k], Tensor) and state[k].shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(
                f"missing in checkpoint: {missing[:5]}{' ...' if len(missing) > 5 else ''}"
            )
        if unexpected:
            parts.append(f"not in model: {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
        if shapes:
            parts.append("shape mismatch: " + "; ".join(shapes[:5]))
        raise CheckpointError(
            f"checkpoint {path!r} does not match this {type(model).__name__} "
            f"(was it saved from another architecture?): " + " | ".join(parts)
        )


def load_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` into ``model`` (and ``optimizer``).

    The file is read with ``torch.load(weights_only=True)``, which refuses to run arbitrary code
    hidden in a pickle; tensors are mapped to the device of the model's parameters.

    Args:
        path: the checkpoint file.
        model: a model of the same architecture; its parameters are overwritten.
        optimizer: optional optimiser to restore (the checkpoint must contain one).

    Returns:
        The ``extra`` data passed to :func:`save_checkpoint`.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: the file is truncated or corrupt, is not a cl_lessons checkpoint, its
            parameter names or shapes do not match ``model`` (the message lists them), or an
            optimiser is requested but was not saved.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    params = list(model.parameters())
    location = params[0].device if params else torch.device("cpu")
    try:
        state = torch.load(path, map_location=location, weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"cannot read checkpoint {path!r}: the file is corrupt, truncated or not a PyTorch "
            f"checkpoint ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})"
        ) from err
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path!r} is a PyTorch file but not a cl_lessons checkpoint "
            "(write it with cl_lessons.training.save_checkpoint)"
        )
    _check_state_matches(model, state["model"], path)
    model.load_state_dict(state["model"])
    if optimizer is not None:
        if state.get("optimizer") is None:
            raise CheckpointError(f"checkpoint {path!r} holds no optimizer state")
        try:
            optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError) as err:
            raise CheckpointError(
                f"the optimizer state in {path!r} does not fit this optimizer: {err}"
            ) from err
    return dict(state.get("extra") or {})


# --------------------------------------------------------------------------------------------
# Evaluation glue
# --------------------------------------------------------------------------------------------
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
    batch_size = _check_batch_size(batch_size)
    if device is None:
        params = list(model.parameters())
        device = params[0].device if params else torch.device("cpu")
    device = torch.device(device)
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
    z = _as_tensor(embeddings, "embeddings")
    if z.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (N, D), got shape {tuple(z.shape)}")
    i = torch.as_tensor(np.asarray(i), dtype=torch.long, device=z.device)
    j = torch.as_tensor(np.asarray(j), dtype=torch.long, device=z.device)
    if i.shape != j.shape or i.ndim != 1:
        raise ValueError(
            f"i and j must be 1-D of one length, got {tuple(i.shape)} and {tuple(j.shape)}"
        )
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
        ValueError: from :mod:`cl_lessons.metrics` for bad inputs (lengths, a single class).
    """
    from cl_lessons import metrics

    scores_np = np.asarray(torch.as_tensor(scores).detach().cpu(), dtype=np.float64)
    same_np = np.asarray(torch.as_tensor(same).detach().cpu()).astype(np.float64)
    auc = float(metrics.roc_auc(scores_np, same_np))
    eer, eer_threshold = metrics.equal_error_rate(scores_np, same_np)
    t = float(eer_threshold) if threshold is None else float(threshold)
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
