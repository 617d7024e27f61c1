import math

import pytest
import torch

from cl_lessons import exercises as ex
from cl_lessons import metrics


def _reject(result, hint):
    assert not result
    assert hint in result.message, result.message
    assert result.checker_error is None


# ----------------------------------------------------------------------------- evaluation


def loo(z, labels):
    d = torch.cdist(z, z)
    d.fill_diagonal_(float("inf"))
    return (labels[d.argmin(1)] == labels).double().mean()


def test_leave_one_out_accepts_fixes():
    assert ex.check_leave_one_out_accuracy(loo)
    assert ex.check_leave_one_out_accuracy(lambda z, y: float(loo(z, y)))


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (lambda z, y: (y[torch.cdist(z, z).argmin(1)] == y).double().mean(), "found itself"),
        (
            lambda z, y: (
                (y[torch.cdist(z, z).argsort(dim=1, stable=True)[:, 1]] == y).double().mean()
            ),
            "rank second",
        ),
        (
            lambda z, y: (
                (y[torch.cdist(z, z).masked_fill(torch.cdist(z, z) == 0, math.inf).argmin(1)] == y)
                .double()
                .mean()
            ),
            "legitimate neighbours",
        ),
        (lambda z, y: loo(z, y) * len(y), "count"),
        (lambda z, y: torch.ones(len(y)), "one number"),
    ],
    ids=["gallery", "second", "positive", "count", "per_query"],
)
def test_leave_one_out_rejects_half_fixes(fn, hint):
    _reject(ex.check_leave_one_out_accuracy(fn), hint)


def split(labels, k):
    ids = labels.unique()
    test_ids = ids[torch.randperm(len(ids), generator=torch.Generator().manual_seed(0))[:k]]
    return torch.isin(labels, test_ids)


def test_identity_split_accepts_any_disjoint_split():
    assert ex.check_identity_split(split)
    assert ex.check_identity_split(lambda y, k: torch.isin(y, y.unique()[-k:]))
    assert ex.check_identity_split(lambda y, k: split(y, k).long().tolist())


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (lambda y, k: torch.arange(len(y)) % 3 == 0, "both sides"),
        (lambda y, k: torch.arange(len(y)) < len(y) // 3, "both sides"),
        (lambda y, k: y < k, "names, not 0..n-1"),
        (lambda y, k: ~split(y, k), "training side"),
        (lambda y, k: torch.nonzero(split(y, k)).flatten(), "not indices"),
        (lambda y, k: split(y, k).long() * 2, "boolean mask"),
    ],
    ids=["every_third", "first_images", "label_lt_k", "train_side", "indices", "not_bool"],
)
def test_identity_split_rejects_leaks(fn, hint):
    _reject(ex.check_identity_split(fn), hint)


def val_threshold(vs, vy, ts, ty):
    t, _ = metrics.best_threshold(vs, vy)
    return ((ts >= t) == ty.bool()).double().mean()


def test_validation_threshold_accepts_fixes():
    assert ex.check_validation_threshold(val_threshold)

    def by_search(vs, vy, ts, ty):
        accs = [((vs >= t) == vy.bool()).double().mean() for t in vs]
        t = vs[int(torch.stack(accs).argmax())]
        return float(((ts >= t) == ty.bool()).double().mean())

    assert ex.check_validation_threshold(by_search)


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (lambda vs, vy, ts, ty: val_threshold(ts, ty, ts, ty), "tuned on the test"),
        (lambda vs, vy, ts, ty: val_threshold(vs, vy, vs, vy), "validation accuracy"),
        (lambda vs, vy, ts, ty: val_threshold(-vs, vy, -ts, ty), "reversed"),
        (lambda vs, vy, ts, ty: ((ts >= 0.5) == ty.bool()).double().mean(), "fixed threshold"),
    ],
    ids=["test", "val", "reversed", "fixed"],
)
def test_validation_threshold_rejects_half_fixes(fn, hint):
    _reject(ex.check_validation_threshold(fn), hint)


def paired(a, b):
    d = a - b
    return torch.stack([d.mean(), 1.96 * d.std() / len(d) ** 0.5])


def test_paired_comparison_accepts_fixes():
    assert ex.check_paired_comparison(paired)
    assert ex.check_paired_comparison(lambda a, b: tuple(paired(a, b).tolist()))


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (lambda a, b: paired(b, a), "b - a"),
        (
            lambda a, b: [(a - b).mean(), 1.96 * (a.var() / len(a) + b.var() / len(b)).sqrt()],
            "unpaired",
        ),
        (lambda a, b: [(a - b).mean(), 1.96 * (a - b).std(correction=0) / len(a) ** 0.5], "n - 1"),
        (lambda a, b: [(a - b).mean(), 1.96 * (a - b).std()], "sqrt(n)"),
        (lambda a, b: [(a - b).mean(), (a - b).std() / len(a) ** 0.5], "1.96"),
        (lambda a, b: (a - b).mean(), "two numbers"),
    ],
    ids=["reversed", "unpaired", "biased", "no_sqrt_n", "no_z", "mean_only"],
)
def test_paired_comparison_rejects_half_fixes(fn, hint):
    _reject(ex.check_paired_comparison(fn), hint)
