"""The linear probe: a logistic regression on frozen embeddings, its ``C`` chosen on train."""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

import numpy as np

from cl_lessons._checks import check_int, check_labels, check_seed
from cl_lessons.metrics._inputs import _as_embeddings

PROBE_CS: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
"""The default grid of ``C`` values that :func:`choose_probe_c` tries (a decade apart)."""


def _check_threads(threads) -> int | None:
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    return threads


def _check_cs(Cs) -> tuple[float, ...]:
    """A non-empty sequence of finite numbers > 0, returned sorted and without repeats."""
    try:
        values = list(Cs)
    except TypeError:
        raise ValueError(f"Cs must be a sequence of numbers > 0, got {Cs!r}") from None
    bad = [
        c
        for c in values
        if isinstance(c, bool) or not isinstance(c, Real) or not (c > 0 and math.isfinite(c))
    ]
    if not values or bad:
        raise ValueError(f"Cs must be a non-empty sequence of finite numbers > 0, got {Cs!r}")
    return tuple(sorted({float(c) for c in values}))


def _train_split(train_feats, train_labels) -> tuple[np.ndarray, np.ndarray]:
    """The training features as float64 NumPy and their labels; at least two classes."""
    xtr = _as_embeddings(train_feats, "train_feats").detach().cpu().double().numpy()
    ytr = check_labels(train_labels, xtr.shape[0], None, "train_labels").cpu().numpy()
    if np.unique(ytr).shape[0] < 2:
        raise ValueError("train_labels must contain at least two classes")
    return xtr, ytr


def _choose_c(xtr, ytr, Cs, folds, seed, max_iter) -> float:
    """Cross-validated choice of C (inputs already checked, thread limit already set)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    _, counts = np.unique(ytr, return_counts=True)
    if counts.min() < folds:
        raise ValueError(
            f"train_labels: choosing C with folds={folds} needs at least {folds} examples of "
            f"every class, the smallest class has {counts.min()}; lower folds or pass a fixed C"
        )
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(xtr, ytr))
    scores = np.zeros(len(Cs))  # (len(Cs),) mean validation accuracy
    for i, C in enumerate(Cs):
        for fit_idx, val_idx in splits:
            # the scaler is refitted inside every fold: the validation fold stays unseen
            clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
            clf.fit(xtr[fit_idx], ytr[fit_idx])
            scores[i] += (clf.predict(xtr[val_idx]) == ytr[val_idx]).mean() / folds
    return Cs[int(np.argmax(scores))]  # ties: the first, i.e. the strongest regularisation


def choose_probe_c(
    train_feats,
    train_labels,
    Cs: Sequence[float] = PROBE_CS,
    folds: int = 5,
    seed: int = 0,
    max_iter: int = 1000,
    threads: int | None = 1,
) -> float:
    """Choose the linear probe's ``C`` by stratified k-fold cross-validation on the training split.

    The linear evaluation protocol tunes the probe's regularisation for every representation
    on held-out *training* data, never on the test split (Kornblith, Shlens & Le 2019, CVPR,
    https://arxiv.org/abs/1805.08974, whose protocol SimCLR follows for its transfer
    experiments, Chen et al. 2020, https://arxiv.org/abs/2002.05709). Each ``C`` of the
    grid is scored by the mean validation accuracy over ``folds`` stratified folds, with the
    standardisation fitted on the other folds only; the best ``C`` wins, ties going to the
    smaller ``C`` (the stronger regularisation).

    Args:
        train_feats: frozen features of the training split.
        train_labels: their integer labels (at least two classes, each with ``folds`` examples).
        Cs: the candidate values of ``C``, each finite and > 0 (order does not matter).
        folds: number of stratified folds, >= 2.
        seed: seed of the fold assignment.
        max_iter: iteration limit of the solver.
        threads: BLAS/OpenMP threads for the fits (``None``: the library default).

    Returns:
        The chosen ``C``, one of ``Cs``.

    Shape:
        ``train_feats``: ``(N, D)``, ``train_labels``: ``(N,)``.

    Raises:
        ValueError: bad features or labels, a single class, a class with fewer than ``folds``
            examples, an empty or non-positive ``Cs``, ``folds < 2``, a bad ``seed``,
            ``max_iter`` or ``threads``.
    """
    from threadpoolctl import threadpool_limits

    xtr, ytr = _train_split(train_feats, train_labels)
    Cs = _check_cs(Cs)
    folds = check_int(folds, "folds", 2)
    seed = check_seed(seed)
    max_iter = check_int(max_iter, "max_iter", 1)
    with threadpool_limits(limits=_check_threads(threads)):
        return _choose_c(xtr, ytr, Cs, folds, seed, max_iter)


def linear_probe_accuracy(
    train_feats,
    train_labels,
    test_feats,
    test_labels,
    C: float | str = 1.0,
    max_iter: int = 1000,
    threads: int | None = 1,
    Cs: Sequence[float] = PROBE_CS,
    folds: int = 5,
    seed: int = 0,
) -> float:
    """Linear evaluation protocol: logistic regression on frozen, standardised features.

    The features are standardised with the training set's mean and standard deviation, a
    scikit-learn ``LogisticRegression`` (L2, ``lbfgs``) is fitted on the training split, and the
    accuracy is measured on the held-out test split (Chen et al. 2020, SimCLR, Sec. 4). With
    ``C="cv"`` the regularisation is first chosen by :func:`choose_probe_c` on the training
    split alone (``Cs``, ``folds``, ``seed`` are passed on); the test split is used once, for
    the accuracy.

    Args:
        train_feats: frozen features of the training split.
        train_labels: their integer labels (at least two classes).
        test_feats: frozen features of the held-out split.
        test_labels: their labels.
        C: inverse L2 regularisation strength, > 0, or ``"cv"`` to choose it by
            cross-validation on the training split.
        max_iter: iteration limit of the solver.
        threads: BLAS/OpenMP threads for the fit (``None``: the library default). One thread is
            the default: a lesson-sized probe gains nothing from more, and spinning BLAS threads
            slow everything down on a busy 2-core machine (measured: 1 s with one thread, ~30 s
            with two while other processes shared the cores).
        Cs: with ``C="cv"``, the candidate values of ``C``.
        folds: with ``C="cv"``, the number of stratified folds (>= 2; every class of
            ``train_labels`` needs that many examples).
        seed: with ``C="cv"``, the seed of the fold assignment.

    Returns:
        The test accuracy in [0, 1].

    Shape:
        ``train_feats``: ``(N, D)``, ``test_feats``: ``(M, D)``, labels ``(N,)`` and ``(M,)``.

    Raises:
        ValueError: bad features or labels, mismatched lengths or feature sizes, a single class
            in ``train_labels``, ``C`` neither > 0 nor ``"cv"``; with ``C="cv"`` the errors of
            :func:`choose_probe_c`.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    xtr, ytr = _train_split(train_feats, train_labels)
    xte = _as_embeddings(test_feats, "test_feats").detach().cpu().double().numpy()
    if xtr.shape[1] != xte.shape[1]:
        raise ValueError(
            f"train_feats and test_feats must have the same feature size, got {xtr.shape[1]} "
            f"and {xte.shape[1]}"
        )
    yte = check_labels(test_labels, xte.shape[0], None, "test_labels").cpu().numpy()
    cv = isinstance(C, str) and C == "cv"
    if not cv and (
        isinstance(C, bool) or not isinstance(C, Real) or not C > 0 or not math.isfinite(C)
    ):
        raise ValueError(f"C must be a finite number > 0 or 'cv', got {C!r}")
    max_iter = check_int(max_iter, "max_iter", 1)
    threads = _check_threads(threads)
    if cv:
        Cs, folds, seed = _check_cs(Cs), check_int(folds, "folds", 2), check_seed(seed)
    with threadpool_limits(limits=threads):
        if cv:
            C = _choose_c(xtr, ytr, Cs, folds, seed, max_iter)  # the training split only
        scaler = StandardScaler().fit(xtr)
        clf = LogisticRegression(C=C, max_iter=max_iter)
        clf.fit(scaler.transform(xtr), ytr)
        return float((clf.predict(scaler.transform(xte)) == yte).mean())
