"""The training loop, :func:`fit` (its :class:`History` is in ``history.py``)."""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
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
from cl_lessons.training.history import History
from cl_lessons.training.objectives import (
    LossFn,
)

Callback = Callable[[int, History, nn.Module], Any]


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
