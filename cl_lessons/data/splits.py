"""Train/test splits: by class (unseen classes at test time) and stratified."""

from __future__ import annotations

import torch
from torch import Tensor

from cl_lessons._checks import check_class_ids, check_fraction, check_seed


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
    y = check_class_ids(y, "y")
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
    y = check_class_ids(y, "y")
    X = torch.as_tensor(X)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same length, got {X.shape[0]} and {y.shape[0]}")
    test_fraction = check_fraction(test_fraction, "test_fraction", low_open=True, high_open=True)
    check_seed(seed)
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
