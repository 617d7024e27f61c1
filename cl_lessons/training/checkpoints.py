"""Saving and loading training checkpoints (atomic writes, checked on load)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from cl_lessons.training.history import History

CHECKPOINT_FORMAT = "cl_lessons.checkpoint/1"

STALE_TEMP_SECONDS = 30 * 60
"""A temporary file of an interrupted save older than this is removed even if its PID is alive
(the PID may have been reused by another process)."""

_MAX_DEPTH = 100


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, not a cl_lessons checkpoint, or does not fit the model."""


# --------------------------------------------------------------------------- extra data
def _plain(value, where: str, depth: int = 0):
    """``value`` as data that ``torch.load(weights_only=True)`` reads back, or ``ValueError``.

    Kept: None, bool, int, float, str, tensors, and lists, tuples and dicts of them. Converted:
    NumPy scalars to Python numbers, numeric NumPy arrays to tensors (others to lists), sets to
    sorted lists, a :class:`~cl_lessons.training.History` to its ``as_dict()``.
    """
    if depth > _MAX_DEPTH:
        raise ValueError(f"extra {where} is nested too deeply (or contains itself)")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, Tensor):
        return value if type(value) in (Tensor, nn.Parameter) else value.as_subclass(Tensor)
    if isinstance(value, np.generic) and not isinstance(value, (np.datetime64, np.timedelta64)):
        item = value.item()
        if type(item) is not type(value):  # a NumPy scalar that Python can hold
            return _plain(item, where, depth + 1)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            with contextlib.suppress(TypeError):  # dtypes torch lacks fall through to a list
                return torch.from_numpy(np.ascontiguousarray(value)).clone()
        if value.dtype.kind in "biufUS" or value.dtype == object:
            return _plain(value.tolist(), where, depth + 1)
    if isinstance(value, History):
        return _plain(value.as_dict(), where, depth + 1)
    for plain in (int, float, str):  # a subclass (IntEnum, ...) as the plain type
        if isinstance(value, plain) and not isinstance(value, np.generic):
            return getattr(plain, f"__{plain.__name__}__")(value)
    if isinstance(value, (list, tuple)):
        items = [_plain(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, (set, frozenset)):
        items = [_plain(v, f"{where} (set)", depth + 1) for v in value]
        with contextlib.suppress(TypeError):
            items.sort()
        return items
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            key = _plain(k, f"{where} (a key)", depth + 1)
            if key is not None and type(key) not in (bool, int, float, str):
                raise ValueError(
                    f"extra {where} has a key {k!r} of type {type(k).__name__}: dictionary keys "
                    "must be strings or numbers"
                )
            out[key] = _plain(v, f"{where}[{k!r}]", depth + 1)
        return out
    raise ValueError(
        f"extra {where} holds a {type(value).__name__} ({value!r:.60}), which a checkpoint cannot "
        "store safely: store plain data instead (numbers, strings, lists, dicts, tensors), "
        "e.g. str(value) or value.tolist()"
    )


# --------------------------------------------------------------------------- integrity
def _tensor_bytes(t: Tensor):
    t = t.detach()
    if t.is_meta:
        return b""
    if t.layout != torch.strided:
        t = t.to_dense()
    t = t.resolve_conj().resolve_neg().cpu().contiguous().reshape(-1)
    try:
        return t.view(torch.uint8).numpy()
    except (RuntimeError, TypeError):  # quantized and other exotic tensors
        return repr(t.tolist()).encode()


def _feed(h, obj) -> None:
    if isinstance(obj, Tensor):
        h.update(f"T{obj.dtype}{tuple(obj.shape)}:".encode())
        h.update(_tensor_bytes(obj))
    elif isinstance(obj, Mapping):
        h.update(f"D{len(obj)}:".encode())
        for k in sorted(obj, key=repr):
            h.update(f"{k!r}=".encode())
            _feed(h, obj[k])
    elif isinstance(obj, (list, tuple)):
        h.update(f"L{len(obj)}:".encode())
        for v in obj:
            _feed(h, v)
    else:
        h.update(f"{type(obj).__name__}:{obj!r};".encode())


def _digest(state: Mapping) -> str:
    """SHA-256 of the checkpoint's content: every tensor's dtype, shape and raw bytes, and every
    other value, in a fixed key order (independent of the device the tensors are on)."""
    h = hashlib.sha256()
    for key in ("format", "model", "optimizer", "extra"):
        h.update(f"{key}:".encode())
        _feed(h, state.get(key))
    return h.hexdigest()


# --------------------------------------------------------------------------- temporaries
def _temp_pattern(basename: str) -> re.Pattern:
    """Names of the temporaries of a save to ``basename``: ``.<basename>.<pid>.<random>.tmp``."""
    return re.compile(re.escape(f".{basename}.") + r"(\d+)\.[A-Za-z0-9_]+\.tmp")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":  # no cheap, harmless check there: rely on the age alone
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def _remove_stale_temporaries(path: str) -> None:
    """Remove temporaries left by killed saves to ``path``: their writer is dead, or they are
    older than :data:`STALE_TEMP_SECONDS`. Those of other checkpoints are never touched."""
    folder = os.path.dirname(os.path.abspath(path))
    pattern = _temp_pattern(os.path.basename(path))
    try:
        names = os.listdir(folder)
    except OSError:
        return
    now = time.time()
    for name in names:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        tmp = os.path.join(folder, name)
        with contextlib.suppress(OSError):
            old = now - os.path.getmtime(tmp) > STALE_TEMP_SECONDS
            if old or not _pid_alive(int(match.group(1))):
                os.remove(tmp)


# --------------------------------------------------------------------------- save / load
def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    **extra,
) -> None:
    """Save the model (and optimiser) state atomically: write a temporary file, then rename.

    A crash or a full disk during the write leaves any earlier checkpoint at ``path`` intact,
    because ``os.replace`` swaps the complete file in one step. A temporary file left by a save
    that was killed (``.<name>.<pid>.<random>.tmp`` next to ``path``) is removed by the next save
    or load of the same ``path`` once its process is gone. A SHA-256 hash of the content is
    stored too, so that :func:`load_checkpoint` detects a corrupted file.

    Args:
        path: destination file (its folder must exist).
        model: the model whose ``state_dict`` is saved.
        optimizer: optional optimiser whose state is saved too.
        **extra: plain data to store alongside (numbers, strings, lists, tuples, dicts,
            tensors), e.g. ``epoch=5, history=history``. Converted so that they load with
            ``weights_only``: NumPy scalars become Python numbers, numeric NumPy arrays tensors
            (other arrays lists), sets sorted lists and a ``History`` its ``as_dict()``.

    Raises:
        ValueError: the folder of ``path`` does not exist, an ``extra`` value cannot be stored
            safely (the message names it), or the model's state holds a value that is not a
            tensor.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"path {path!r}: folder {folder!r} does not exist")
    extra = {key: _plain(value, repr(key)) for key, value in extra.items()}
    model_state = model.state_dict()
    not_tensors = [k for k, v in model_state.items() if not isinstance(v, Tensor)]
    if not_tensors:
        raise ValueError(
            f"model: its state_dict holds values that are not tensors ({not_tensors[:5]}), "
            "which a checkpoint cannot load safely"
        )
    state = {
        "format": CHECKPOINT_FORMAT,
        "model": model_state,
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "extra": extra,
    }
    state["sha256"] = _digest(state)
    _remove_stale_temporaries(path)
    base = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.{os.getpid()}.", suffix=".tmp", dir=folder)
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
    hidden in a pickle; tensors are mapped to the device of the model's parameters. The content
    is checked against the hash stored by :func:`save_checkpoint` before anything is loaded
    (checkpoints written before the hash existed load without that check).

    Args:
        path: the checkpoint file.
        model: a model of the same architecture; its parameters are overwritten.
        optimizer: optional optimiser to restore (the checkpoint must contain one).

    Returns:
        The ``extra`` data passed to :func:`save_checkpoint`.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: the file is truncated or corrupt (including a content that no longer
            matches the SHA-256 hash stored at save time), is not a cl_lessons checkpoint or
            lacks its model state, its parameter names or shapes do not match ``model`` (the
            message lists them), or an optimiser is requested but was not saved.
    """
    path = os.fspath(path)
    _remove_stale_temporaries(path)
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
    _check_layout(state, path)
    _check_state_matches(model, state["model"], path)
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, ValueError, TypeError, KeyError) as err:
        raise CheckpointError(f"the model state in {path!r} does not load: {err}") from err
    if optimizer is not None:
        if state.get("optimizer") is None:
            raise CheckpointError(f"checkpoint {path!r} holds no optimizer state")
        try:
            optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError, TypeError, RuntimeError, IndexError) as err:
            raise CheckpointError(
                f"the optimizer state in {path!r} does not fit this optimizer: {err}"
            ) from err
    return dict(state.get("extra") or {})


def _check_layout(state: dict, path: str) -> None:
    """The entries a checkpoint must have, of the right types, and the content hash if stored."""
    weights = state.get("model")
    if not isinstance(weights, Mapping):
        raise CheckpointError(
            f"checkpoint {path!r} has no model state (its 'model' entry is "
            f"{type(weights).__name__}, not a dict of tensors)"
        )
    bad = [k for k, v in weights.items() if not (isinstance(k, str) and isinstance(v, Tensor))]
    if bad:
        kinds = ", ".join(f"{k!r}: {type(weights[k]).__name__}" for k in bad[:3])
        raise CheckpointError(
            f"checkpoint {path!r} is damaged: its model state holds entries that are not "
            f"named tensors ({kinds}{' ...' if len(bad) > 3 else ''})"
        )
    for key in ("optimizer", "extra"):
        if state.get(key) is not None and not isinstance(state[key], Mapping):
            raise CheckpointError(
                f"checkpoint {path!r} is damaged: its {key!r} entry is "
                f"{type(state[key]).__name__}, not a dict"
            )
    if "sha256" in state and state["sha256"] != _digest(state):
        raise CheckpointError(
            f"checkpoint {path!r} is corrupted: its content does not match the SHA-256 hash "
            "stored when it was saved (a changed byte on disk or in transfer); the weights "
            "were not loaded. Use an earlier checkpoint or train again."
        )
