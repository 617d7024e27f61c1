"""Input conversion shared by the plots: arrays or tensors to finite NumPy arrays, labels, axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes

from cl_lessons._checks import check_has_values


def _to_numpy(x, name: str, ndim: int | tuple[int, ...] | None = None, dtype=float) -> np.ndarray:
    """Array or tensor -> NumPy array (detached, on the CPU), checked for shape and emptiness."""
    if isinstance(x, torch.Tensor):
        check_has_values(x, name)
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be array-like of numbers, got {type(x).__name__}") from err
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {want}, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return arr


def _finite(arr: np.ndarray, name: str) -> np.ndarray:
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {int((~np.isfinite(arr)).sum())} NaN/inf")
    return arr


def _labels(labels, n: int, name: str = "labels") -> np.ndarray:
    lab = _to_numpy(labels, name, ndim=1, dtype=None)
    if lab.shape[0] != n:
        raise ValueError(f"{name} must have one entry per point ({n}), got {lab.shape[0]}")
    if not np.issubdtype(lab.dtype, np.integer):
        if np.issubdtype(lab.dtype, np.floating) and np.all(lab == np.round(lab)):
            lab = lab.astype(np.int64)
        else:
            raise ValueError(f"{name} must hold integer class ids, got dtype {lab.dtype}")
    return lab.astype(np.int64)


def _binary(same, n: int, name: str = "same") -> np.ndarray:
    arr = _to_numpy(same, name, ndim=1, dtype=None)
    if arr.shape[0] != n:
        raise ValueError(f"{name} must have the same length as scores ({n}), got {arr.shape[0]}")
    values = set(np.unique(arr).tolist())
    if not values <= {0, 1}:
        raise ValueError(f"{name} must hold 0/1 (or bool), got values {sorted(values)[:5]}")
    return arr.astype(bool)


def _new_ax(ax: Axes | None, figsize=(5.0, 4.0), **subplot_kw) -> Axes:
    if ax is not None:
        if not isinstance(ax, Axes):
            raise ValueError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
        return ax
    _, ax = plt.subplots(figsize=figsize, subplot_kw=subplot_kw or None, layout="constrained")
    return ax
