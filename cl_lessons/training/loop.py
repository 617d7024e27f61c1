"""The training loop, :func:`fit`, and the :class:`History` it returns."""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from cl_lessons._checks import (
    all_finite,
    check_bool,
    check_int,
    check_nonneg,
    check_positive,
    check_positive_int,
    check_seed,
)
from cl_lessons.runtime import resolve_device, seed_everything
from cl_lessons.training.objectives import (
    LossFn,
)

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
# The loop
# --------------------------------------------------------------------------------------------
def _rows(batch) -> int | None:
    """Rows of a batch (the first dimension of its first tensor), None if it has no tensor."""
    first = batch[0] if batch else None
    return first.shape[0] if isinstance(first, Tensor) and first.ndim > 0 else None


def _all_finite(tensors: Sequence[Tensor]) -> bool:
    """Every entry of every tensor finite, by one sum per tensor and one host sync."""
    if not tensors:
        return True
    total = torch.stack([t.detach().sum() for t in tensors]).sum()
    # a finite total proves every entry finite; an overflowing one is rechecked entry by entry
    return bool(torch.isfinite(total)) or all(all_finite(t) for t in tensors)


def _snapshot(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


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
    desc: str = "training",
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
        desc: the progress bar's label; name the model when a cell trains several
            (``desc="SimCLR"``), so each bar says what it belongs to.

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
    epochs = check_int(epochs, "epochs", 0)
    if optimizer is None:
        lr = check_positive(lr, "lr")
        weight_decay = check_nonneg(weight_decay, "weight_decay")
    eval_every = check_positive_int(eval_every, "eval_every")
    if grad_clip is not None:
        grad_clip = check_positive(grad_clip, "grad_clip")
    if seed is not None:
        seed = check_seed(seed)
    progress, amp = check_bool(progress, "progress"), check_bool(amp, "amp")
    if not isinstance(desc, str):
        raise ValueError(f"desc must be a string, got {desc!r}")
    if history is not None and not isinstance(history, History):
        raise ValueError(f"history must be a History or None, got {type(history).__name__}")
    if callbacks is None:
        callbacks = []
    elif callable(callbacks):
        callbacks = [callbacks]
    else:
        callbacks = list(callbacks)
        for cb in callbacks:
            if not callable(cb):
                raise ValueError(f"callbacks must be callables, got {type(cb).__name__}")

    device = resolve_device(device, "device")
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
        bar = tqdm(total=total, desc=desc, unit="step", leave=True)

    params = [p for p in model.parameters() if p.requires_grad]
    has_batchnorm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    skipped = 0
    first_epoch = history.epochs + 1
    try:
        for epoch in range(first_epoch, first_epoch + epochs):
            model.train()
            t0 = time.perf_counter()
            total_loss, count = 0.0, 0
            good_state = _snapshot(model)  # restored if an update makes the weights non-finite
            for step, batch in enumerate(data):
                batch = _to_device(batch, device)
                if has_batchnorm and _rows(batch) == 1:
                    skipped += 1  # BatchNorm cannot normalise a single row in training
                    continue
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
                if not _all_finite([p.grad for p in params if p.grad is not None]):
                    raise FloatingPointError(
                        f"the gradients became NaN or infinite at epoch {epoch}, step {step}; the "
                        "weights were not updated; lower lr, clip gradients (grad_clip=) or check "
                        "the loss"
                    )
                if grad_clip is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                opt.step()
                if not _all_finite(params):
                    model.load_state_dict(good_state)
                    raise FloatingPointError(
                        f"the weights became NaN or infinite at epoch {epoch}, step {step} (the "
                        "learning rate is far too large?); they were restored to the start of "
                        f"epoch {epoch}"
                    )
                history.batch_loss.append(value)
                total_loss += value
                count += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(epoch=epoch, loss=f"{total_loss / count:.4f}", refresh=False)
            if count == 0 and skipped:
                raise ValueError(
                    "every batch has a single row, and the model's BatchNorm layers need at least "
                    "2 rows per batch in training: use batch_size >= 2"
                )
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
        if skipped:
            note = (
                f"skipped {skipped} one-row batch(es): BatchNorm cannot train on a single row "
                "(use drop_last=True, or a batch_size that leaves no last batch of 1)"
            )
            warnings.warn(note, stacklevel=2)
            history.notes.append(note)
    return history
