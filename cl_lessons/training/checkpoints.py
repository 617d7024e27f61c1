"""Saving and loading training checkpoints (atomic writes, checked on load)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Any

import torch
from torch import Tensor, nn

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
