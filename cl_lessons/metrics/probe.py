"""The linear probe: a logistic regression on frozen embeddings."""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from cl_lessons._checks import check_labels
from cl_lessons.metrics._inputs import _as_embeddings


def linear_probe_accuracy(
    train_feats,
    train_labels,
    test_feats,
    test_labels,
    C: float = 1.0,
    max_iter: int = 1000,
    threads: int | None = 1,
) -> float:
    """Linear evaluation protocol: logistic regression on frozen, standardised features.

    The features are standardised with the training set's mean and standard deviation, a
    scikit-learn ``LogisticRegression`` (L2, ``lbfgs``) is fitted on the training split, and the
    accuracy is measured on the held-out test split (Chen et al. 2020, SimCLR, Sec. 4).

    Args:
        train_feats: frozen features of the training split.
        train_labels: their integer labels (at least two classes).
        test_feats: frozen features of the held-out split.
        test_labels: their labels.
        C: inverse L2 regularisation strength, > 0.
        max_iter: iteration limit of the solver.
        threads: BLAS/OpenMP threads for the fit (``None``: the library default). One thread is
            the default: a lesson-sized probe gains nothing from more, and spinning BLAS threads
            slow everything down on a busy 2-core machine (measured: 1 s with one thread, ~30 s
            with two while other processes shared the cores).

    Returns:
        The test accuracy in [0, 1].

    Shape:
        ``train_feats``: ``(N, D)``, ``test_feats``: ``(M, D)``, labels ``(N,)`` and ``(M,)``.

    Raises:
        ValueError: bad features or labels, mismatched lengths or feature sizes, a single class
            in ``train_labels``, ``C <= 0``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    xtr = _as_embeddings(train_feats, "train_feats").detach().cpu().double().numpy()
    xte = _as_embeddings(test_feats, "test_feats").detach().cpu().double().numpy()
    if xtr.shape[1] != xte.shape[1]:
        raise ValueError(
            f"train_feats and test_feats must have the same feature size, got {xtr.shape[1]} "
            f"and {xte.shape[1]}"
        )
    ytr = check_labels(train_labels, xtr.shape[0], None, "train_labels").cpu().numpy()
    yte = check_labels(test_labels, xte.shape[0], None, "test_labels").cpu().numpy()
    if np.unique(ytr).shape[0] < 2:
        raise ValueError("train_labels must contain at least two classes")
    if isinstance(C, bool) or not isinstance(C, Real) or not C > 0 or not math.isfinite(C):
        raise ValueError(f"C must be a finite number > 0, got {C!r}")
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    with threadpool_limits(limits=threads):
        scaler = StandardScaler().fit(xtr)
        clf = LogisticRegression(C=C, max_iter=max_iter)
        clf.fit(scaler.transform(xtr), ytr)
        return float((clf.predict(scaler.transform(xte)) == yte).mean())
