"""The linear probe's C chosen by cross-validation on the training split, and the low-label subset.

``cl.metrics.choose_probe_c`` and ``linear_probe_accuracy(C="cv")`` (lesson 07, issue 14 item 16)
are checked against scikit-learn's ``GridSearchCV``, on data where the default ``C = 1`` is
clearly wrong, and for never looking at the test split; ``cl.data.sample_per_class`` for exact
counts, reproducibility and nesting.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cl_lessons import data as D
from cl_lessons import metrics as M


def noisy_blobs(n_train, n_test, informative, noise_dims, seed, classes=4, signal=1.0):
    """Classes that differ in a few dimensions, buried in many pure-noise dimensions."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(classes, informative)) * signal
    out = []
    for n in (n_train, n_test):
        y = np.arange(n) % classes
        x = np.c_[centers[y] + rng.normal(size=(n, informative)), rng.normal(size=(n, noise_dims))]
        out += [x, y]
    return out


def reference_c(x, y, Cs, folds, seed):
    """scikit-learn's own grid search: scaler refitted in every fold, first best C wins."""
    search = GridSearchCV(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        {"logisticregression__C": sorted(Cs)},
        cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
    )
    return search.fit(x, y).best_params_["logisticregression__C"]


@pytest.fixture(scope="module")
def posed_digits():
    """Lesson 07's data as raw pixels: 1347 training and 450 held-out 16x16 posed digits."""
    import cl_lessons as cl

    digits = cl.data.TransformedDigits(size=16, seed=0)
    X_train, y_train, X_test, y_test = cl.data.stratified_split(
        digits.images, digits.labels, 0.25, seed=0
    )
    return X_train.flatten(1), y_train, X_test.flatten(1), y_test


@pytest.mark.parametrize("seed", [0, 1])
def test_cv_prefers_strong_regularisation_where_c1_overfits(posed_digits, seed):
    # raw pixels of posed digits: C = 1 fits the pose, strong regularisation generalises better
    xtr, ytr, xte, yte = posed_digits
    grid = {"Cs": (0.01, 1.0), "folds": 3, "seed": seed}  # two values: a quick test
    assert M.choose_probe_c(xtr, ytr, **grid) == 0.01
    tuned = M.linear_probe_accuracy(xtr, ytr, xte, yte, C="cv", **grid)
    fixed = M.linear_probe_accuracy(xtr, ytr, xte, yte, C=1.0)
    assert tuned == M.linear_probe_accuracy(xtr, ytr, xte, yte, C=0.01)
    assert tuned > fixed + 0.05  # measured: 0.440 against 0.333 on 450 held-out images


def test_cv_prefers_weak_regularisation_where_small_c_underfits():
    # many samples, no noise dimensions, well separated: strong regularisation only hurts
    xtr, ytr, _, _ = noisy_blobs(2000, 10, informative=10, noise_dims=0, seed=1, signal=3.0)
    assert M.choose_probe_c(xtr, ytr, Cs=(1e-4, 1e-3, 1.0)) == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("folds", [3, 5])
def test_choice_matches_scikit_learn_grid_search(seed, folds):
    xtr, ytr, _, _ = noisy_blobs(150, 1, informative=4, noise_dims=40, seed=seed + 10)
    Cs = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
    assert M.choose_probe_c(xtr, ytr, Cs=Cs, folds=folds, seed=seed) == reference_c(
        xtr, ytr, Cs, folds, seed
    )


def test_grid_order_and_input_types_do_not_matter():
    xtr, ytr, _, _ = noisy_blobs(150, 1, informative=4, noise_dims=40, seed=3)
    base = M.choose_probe_c(xtr, ytr, Cs=(0.01, 0.1, 1.0, 10.0))
    assert M.choose_probe_c(torch.tensor(xtr), torch.tensor(ytr), Cs=[10, 1, 0.1, 0.01]) == base
    assert M.choose_probe_c(xtr, ytr, Cs=(0.01, 0.1, 1.0, 10.0), threads=None) == base


def test_the_test_split_never_influences_the_choice():
    xtr, ytr, xte, yte = noisy_blobs(120, 400, informative=5, noise_dims=200, seed=4)
    chosen = M.choose_probe_c(xtr, ytr)
    other = max(M.PROBE_CS) if chosen != max(M.PROBE_CS) else min(M.PROBE_CS)
    # test labels rigged so that `other` scores 100 % on them: a probe that peeked at the test
    # split to choose C would pick `other`; one that validates on train keeps `chosen`
    sc = StandardScaler().fit(xtr)
    rigged = LogisticRegression(C=other, max_iter=1000).fit(sc.transform(xtr), ytr)
    y_rigged = rigged.predict(sc.transform(xte))
    assert M.linear_probe_accuracy(xtr, ytr, xte, y_rigged, C=other) == 1.0
    honest = M.linear_probe_accuracy(xtr, ytr, xte, y_rigged, C="cv")
    assert honest == M.linear_probe_accuracy(xtr, ytr, xte, y_rigged, C=chosen) < 1.0
    # scrambled test features and labels: the accuracy changes, the chosen C cannot
    rng = np.random.default_rng(0)
    x_bad, y_bad = rng.normal(size=xte.shape) * 50, rng.permutation(yte)
    assert M.linear_probe_accuracy(xtr, ytr, x_bad, y_bad, C="cv") == (
        M.linear_probe_accuracy(xtr, ytr, x_bad, y_bad, C=chosen)
    )


def test_the_scaler_is_refitted_inside_every_fold(monkeypatch):
    # standardising the whole training split before the folds would leak the validation fold
    seen = []
    fit = StandardScaler.fit

    def spy(self, X, y=None, **kwargs):
        seen.append(len(X))
        return fit(self, X, y, **kwargs)

    monkeypatch.setattr(StandardScaler, "fit", spy)
    xtr, ytr, _, _ = noisy_blobs(160, 1, informative=4, noise_dims=10, seed=8)  # 40 per class
    M.choose_probe_c(xtr, ytr, Cs=(0.1, 1.0), folds=5)
    assert seen == [128] * 10  # 2 values of C x 5 folds, each fitted on 4/5 of 160 rows


def test_the_fold_seed_is_reproducible():
    xtr, ytr, _, _ = noisy_blobs(150, 1, informative=4, noise_dims=40, seed=5)
    picks = [M.choose_probe_c(xtr, ytr, seed=s) for s in (0, 1, 2, 0)]
    assert picks[0] == picks[3] and all(c in M.PROBE_CS for c in picks)


def test_a_one_value_grid_is_that_value():
    xtr, ytr, xte, yte = noisy_blobs(60, 30, informative=3, noise_dims=5, seed=6)
    assert M.choose_probe_c(xtr, ytr, Cs=[0.3]) == 0.3
    assert M.linear_probe_accuracy(xtr, ytr, xte, yte, C="cv", Cs=[0.3]) == (
        M.linear_probe_accuracy(xtr, ytr, xte, yte, C=0.3)
    )


# ----------------------------------------------------------------------------- bad input

E = np.random.default_rng(7).normal(size=(20, 3))
L = np.arange(20) % 2  # two classes of 10
L_SMALL = np.r_[np.zeros(17, int), np.ones(3, int)]  # class 1 has only 3 examples

BAD_CALLS = [
    (lambda: M.choose_probe_c(E, L, Cs=[]), "Cs must be a non-empty sequence"),
    (lambda: M.choose_probe_c(E, L, Cs=[1.0, 0.0]), "Cs must be a non-empty sequence"),
    (lambda: M.choose_probe_c(E, L, Cs=[1.0, float("nan")]), "Cs must be"),
    (lambda: M.choose_probe_c(E, L, Cs=[True]), "Cs must be"),
    (lambda: M.choose_probe_c(E, L, Cs="abc"), "Cs must be"),
    (lambda: M.choose_probe_c(E, L, Cs=1.0), "Cs must be a sequence"),
    (lambda: M.choose_probe_c(E, L, folds=1), "folds must be >= 2"),
    (lambda: M.choose_probe_c(E, L, folds=2.5), "folds must be an integer"),
    (lambda: M.choose_probe_c(E, L_SMALL, folds=5), "train_labels: .* smallest class has 3"),
    (lambda: M.choose_probe_c(E, np.zeros(20, int)), "at least two classes"),
    (lambda: M.choose_probe_c(E, L[:5]), "train_labels has length 5"),
    (lambda: M.choose_probe_c(E[0], L), "train_feats must be 2-D"),
    (lambda: M.choose_probe_c(E, L, seed=-1), "seed must be >= 0"),
    (lambda: M.choose_probe_c(E, L, max_iter=0), "max_iter must be >= 1"),
    (lambda: M.choose_probe_c(E, L, threads=0), "threads must be"),
    (lambda: M.linear_probe_accuracy(E, L, E, L, C="auto"), "C must be a finite number > 0 or"),
    (lambda: M.linear_probe_accuracy(E, L, E, L, C="cv", folds=1), "folds must be >= 2"),
    (lambda: M.linear_probe_accuracy(E, L, E, L, C="cv", Cs=[-1]), "Cs must be"),
    (lambda: M.linear_probe_accuracy(E, L_SMALL, E, L, C="cv"), "train_labels: .* folds=5"),
    (lambda: M.linear_probe_accuracy(E, L, E, L, C="cv", seed=2.0), "seed must be an integer"),
    (lambda: M.linear_probe_accuracy(E, L, E, L, max_iter=-3), "max_iter must be >= 1"),
]


@pytest.mark.parametrize(("call", "match"), BAD_CALLS)
def test_bad_input_raises_value_error_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_a_fixed_c_needs_no_fold_sized_classes():
    # three examples of class 1 are too few for 5 folds, but fine for a fixed C
    assert 0.0 <= M.linear_probe_accuracy(E, L_SMALL, E, L_SMALL, C=1.0) <= 1.0


# ----------------------------------------------------------------------------- sample_per_class


@pytest.mark.parametrize("k", [1, 3, 10])
def test_sample_per_class_takes_exactly_k_of_each_class(k):
    labels = torch.tensor([0] * 12 + [1] * 10 + [2] * 15 + [5] * 11)
    idx = D.sample_per_class(labels, k, generator=torch.Generator().manual_seed(0))
    assert idx.dtype == torch.int64 and torch.equal(idx, idx.sort().values)
    assert len(torch.unique(idx)) == len(idx) == 4 * k
    classes, counts = torch.unique(labels[idx], return_counts=True)
    assert classes.tolist() == [0, 1, 2, 5] and counts.tolist() == [k] * 4


def test_sample_per_class_is_reproducible_random_and_nested():
    labels = torch.arange(300) % 3

    def draw(k, seed):
        return D.sample_per_class(labels, k, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(draw(5, 0), draw(5, 0))
    assert not torch.equal(draw(5, 0), draw(5, 1))
    small, large = set(draw(2, 4).tolist()), set(draw(20, 4).tolist())
    assert small < large  # the same generator state gives nested subsets
    # every example of a class is equally likely: over many draws each is picked ~k/n of the time
    hits = torch.zeros(300)
    for seed in range(400):
        hits[draw(10, seed)] += 1
    assert hits.min() > 0 and abs(hits.mean().item() - 400 * 10 / 100) < 1e-9
    assert hits.std().item() < 15  # binomial(400, 0.1): standard deviation 6


def test_sample_per_class_uses_the_global_generator_by_default():
    labels = torch.arange(40) % 4
    torch.manual_seed(3)
    first = D.sample_per_class(labels, 2)
    torch.manual_seed(3)
    assert torch.equal(first, D.sample_per_class(labels, 2))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k": 0}, "k must be >= 1"),
        ({"k": 1.5}, "k must be an integer"),
        ({"k": 4}, "k must be <= the size of the smallest class, got k=4 but class 1"),
        ({"k": 1, "generator": 0}, "generator must be a torch.Generator"),
        ({"k": 1, "labels": torch.tensor([0.0, 1.0])}, "labels must hold integer class ids"),
        ({"k": 1, "labels": torch.tensor([], dtype=torch.long)}, "labels must not be empty"),
    ],
)
def test_sample_per_class_bad_input(kwargs, match):
    kwargs = {"labels": torch.tensor([0, 0, 0, 0, 1, 1, 1]), **kwargs}
    with pytest.raises(ValueError, match=match):
        D.sample_per_class(**kwargs)
