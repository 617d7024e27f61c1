"""Checks for lesson 12 (pitfalls), part 2: evaluation that lies, and a claim tested honestly."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from cl_lessons.exercises._core import CheckFailed, exercise_check, returned_tensor

__all__ = [
    "check_identity_split",
    "check_leave_one_out_accuracy",
    "check_paired_comparison",
    "check_validation_threshold",
]


def _number(got, what: str) -> float:
    t = returned_tensor(got, what, "one number")
    if t.numel() != 1:
        raise CheckFailed(f"{what}: expected one number, got shape {tuple(t.shape)}.")
    value = float(t.detach().double().reshape(()))
    if not math.isfinite(value):
        raise CheckFailed(f"{what}: you returned {value}; expected a finite number.")
    return value


def _hint(value: float, want: float, wrong: list[tuple[float, str]], what: str) -> None:
    if abs(value - want) <= 1e-6:
        return
    for bad, hint in wrong:
        if abs(value - bad) <= 1e-6:
            raise CheckFailed(f"{what}: {hint}")
    raise CheckFailed(f"{what}: expected {want:.4f}, got {value:.4f}.")


# ------------------------------------------------------------------ leave-one-out 1-NN


def _nn_accuracy(z: Tensor, labels: Tensor, how: str = "loo") -> float:
    d = (z[:, None, :] - z[None, :, :]).pow(2).sum(-1)  # (N, N) exact zeros for duplicates
    if how == "loo":
        d = d.clone().fill_diagonal_(math.inf)
    elif how == "positive":
        d = d.masked_fill(d == 0, math.inf)
    return float((labels[d.argmin(1)] == labels).double().mean())


@exercise_check("1-NN accuracy without the query in its own gallery")
def check_leave_one_out_accuracy(fn) -> None:
    """Check ``fn(z, labels)`` returns leave-one-out 1-NN accuracy: each point's label is
    predicted by its nearest *other* point (Euclidean); exact duplicates count as neighbours.

    Args:
        fn: ``(N, D)`` float embeddings, ``(N,)`` int labels -> a number in [0, 1].
    """
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(14, 3, generator=gen, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1])
    z[7], z[11] = z[2], z[5]  # exact duplicates with other labels (7 and 2, 11 and 5)
    z[13] = z[0]  # and 13 (class 1) duplicates 0 (class 0)
    want = _nn_accuracy(z, labels)
    self_second = torch.cdist(z, z).argsort(dim=1, stable=True)[:, 1]  # wrong when a duplicate
    wrong = [
        (
            _nn_accuracy(z, labels, "gallery"),
            "every query found itself (distance 0): leave the query out of its own gallery. "
            "With the query inside, 1-NN accuracy is near 1.0 even on random labels.",
        ),
        (
            float((labels[self_second] == labels).double().mean()),
            "skipping the first-ranked neighbour is not leaving the query out: with an exact "
            "duplicate, the query may rank second. Set the diagonal of the distances to inf.",
        ),
        (
            _nn_accuracy(z, labels, "positive"),
            "you excluded every point at distance 0, not only the query: exact duplicates of "
            "other samples are legitimate neighbours. Exclude the diagonal only.",
        ),
        (
            _nn_accuracy(z, labels) * len(labels),
            "that is a count of correct queries: divide by the number of queries.",
        ),
    ]
    what = "14 points with 3 exact duplicates"
    _hint(_number(fn(z.clone(), labels.clone()), what), want, wrong, what)


# ------------------------------------------------------------------ identity-disjoint split


@exercise_check("A test set of identities the model never saw")
def check_identity_split(fn) -> None:
    """Check ``fn(labels, num_test_ids)`` returns a boolean mask of the test images: every image
    of exactly ``num_test_ids`` identities, and no image of any other identity.

    Args:
        fn: ``(N,)`` int identity labels (any values), an int -> ``(N,)`` bool mask.
    """
    labels = torch.tensor([10, 10, 3, 7, 3, 42, 7, 10, 42, 99, 99, 5, 3, 5])
    for k in (2, 4):
        what = f"{len(labels.unique())} identities, {k} for testing"
        got = returned_tensor(fn(labels.clone(), k), what, f"a ({len(labels)},) bool mask")
        if got.dtype != torch.bool and got.ndim == 1 and len(got) < len(labels):
            raise CheckFailed(f"{what}: return a boolean mask over all images, not indices.")
        if got.shape != labels.shape:
            raise CheckFailed(
                f"{what}: expected a mask of shape {tuple(labels.shape)}, got {tuple(got.shape)}."
            )
        if not bool(((got == 0) | (got == 1)).all()):
            raise CheckFailed(f"{what}: expected a boolean mask (True = test image).")
        test = got.bool()
        leaked = set(labels[test].tolist()) & set(labels[~test].tolist())
        if leaked:
            raise CheckFailed(
                f"{what}: identities {sorted(leaked)} have images on both sides. Split the "
                "identities, then take all their images: a random split of images lets the "
                "test measure how well the model recognises people it was trained on."
            )
        n_test = len(set(labels[test].tolist()))
        if n_test != k and n_test == len(labels.unique()) - k:
            raise CheckFailed(f"{what}: that is the training side; return the test mask.")
        if n_test != k:
            raise CheckFailed(
                f"{what}: your test set has {n_test} identities, expected {k}. Identity labels "
                "are names, not 0..n-1: choose among labels.unique()."
            )


# ------------------------------------------------------------------ threshold on validation

_VAL_S = torch.tensor([0.95, 0.85, 0.7, 0.45, 0.6, 0.55, 0.25, 0.1], dtype=torch.float64)
_VAL_Y = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0])
_TEST_S = torch.tensor(
    [0.51, 0.54, 0.43, 0.95, 0.85, 0.4, 0.25, 0.77, 0.35, 0.21], dtype=torch.float64
)
_TEST_Y = torch.tensor([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])


def _acc(s: Tensor, y: Tensor, t: float, higher: bool = True) -> float:
    pred = s >= t if higher else s <= t
    return float((pred == y.bool()).double().mean())


def _best(s: Tensor, y: Tensor, higher: bool = True) -> float:
    """The candidate (a score) with the best accuracy on ``(s, y)``, the lowest on ties."""
    cands = sorted(s.tolist())
    return max(cands, key=lambda t: (_acc(s, y, t, higher), -t))


@exercise_check("Choose the threshold on validation pairs, report on test pairs")
def check_validation_threshold(fn) -> None:
    """Check ``fn(val_scores, val_same, test_scores, test_same)`` returns the test accuracy at the
    threshold with the best *validation* accuracy (rule: "same" iff score >= threshold).

    Args:
        fn: four ``(M,)`` tensors (float scores, 0/1 labels) -> a number in [0, 1].
    """
    for scale, shift in ((1.0, 0.0), (10.0, -3.0)):  # scores need not live in [0, 1]
        vs, ts = _VAL_S * scale + shift, _TEST_S * scale + shift
        t_val = _best(vs, _VAL_Y)
        want = _acc(ts, _TEST_Y, t_val)
        wrong = [
            (
                _acc(ts, _TEST_Y, _best(ts, _TEST_Y)),
                "your threshold was tuned on the test pairs, which makes the test accuracy "
                "optimistic: pick it on the validation pairs only.",
            ),
            (
                _acc(vs, _VAL_Y, t_val),
                "that is the validation accuracy, measured on the pairs the threshold was fitted "
                "to: report the accuracy on the test pairs.",
            ),
            (
                _acc(ts, _TEST_Y, _best(vs, _VAL_Y, False), False),
                "the rule is reversed: a HIGH score means 'same' (score >= threshold).",
            ),
        ]
        for fixed in (0.5 * scale + shift, 0.5):
            wrong.append(
                (
                    _acc(ts, _TEST_Y, fixed),
                    "a fixed threshold (0.5) is not chosen on anything: search the validation "
                    "scores for the most accurate one.",
                )
            )
        what = f"scores scaled by {scale:g} and shifted by {shift:g}"
        got = fn(vs.clone(), _VAL_Y.clone(), ts.clone(), _TEST_Y.clone())
        _hint(_number(got, what), want, wrong, what)


# ------------------------------------------------------------------ paired comparison


@exercise_check("A paired comparison over seeds, with its 95 % interval")
def check_paired_comparison(fn) -> None:
    """Check ``fn(a, b)`` returns ``(mean, half_width)`` of the per-seed differences ``a - b``:
    ``half_width = 1.96 * std(a - b) / sqrt(n)`` with the sample standard deviation (n - 1).

    Args:
        fn: two ``(n,)`` float tensors (a score per seed, same seeds) -> two numbers.
    """
    a = torch.tensor([0.81, 0.78, 0.84, 0.80, 0.75, 0.83], dtype=torch.float64)
    b = torch.tensor([0.79, 0.74, 0.85, 0.76, 0.74, 0.80], dtype=torch.float64)
    n = len(a)
    diff = a - b
    want = torch.stack([diff.mean(), 1.96 * diff.std() / math.sqrt(n)])
    got = returned_tensor(fn(a.clone(), b.clone()), "6 seeds", "two numbers (mean, half-width)")
    if got.numel() != 2:
        raise CheckFailed(f"6 seeds: return two numbers (mean, half-width), got {got.numel()}.")
    got = got.detach().double().reshape(2)
    mean, half = float(got[0]), float(got[1])
    _hint(mean, float(want[0]), [(-float(want[0]), "that is b - a: report a - b.")], "the mean")
    unpaired = 1.96 * math.sqrt(a.var().item() / n + b.var().item() / n)
    wrong = [
        (
            unpaired,
            "that is the unpaired interval (each model's spread on its own). The seeds are shared, "
            "so use the spread of the per-seed differences: it removes what the seeds have in "
            "common and is much narrower here.",
        ),
        (
            1.96 * diff.std(correction=0).item() / math.sqrt(n),
            "use the sample standard deviation (divide by n - 1), the default of Tensor.std.",
        ),
        (1.96 * diff.std().item(), "divide the standard deviation by sqrt(n) (standard error)."),
        (diff.std().item() / math.sqrt(n), "multiply the standard error by 1.96 for 95 %."),
    ]
    _hint(half, float(want[1]), wrong, "the half-width")
