"""Checks for lesson 11 (retrieval and few-shot): MAP@R, the nearest-prototype classifier."""

from __future__ import annotations

import torch
from torch import Tensor

from cl_lessons.exercises._core import CheckFailed, exercise_check, returned_tensor

__all__ = ["check_map_at_r", "check_prototype_classifier"]


# ------------------------------------------------------------------------------------ MAP@R


def _ranked(x: Tensor, labels: Tensor, self_included: bool = False) -> tuple[Tensor, Tensor]:
    """``(match, r)``: row i lists whether each other item, nearest first, shares i's label."""
    d = torch.cdist(x, x)  # (N, N)
    if not self_included:
        d.fill_diagonal_(float("inf"))
    order = d.argsort(dim=1, stable=True)  # (N, N)
    if not self_included:
        order = order[:, :-1]  # (N, N - 1) the query itself was last
    match = labels[order] == labels[:, None]  # (N, N - 1)
    r = (labels[:, None] == labels[None, :]).sum(1) - 1  # (N,) other members of the class
    return match, r


def _ap(match: Tensor, r: Tensor, variant: str = "map@r") -> Tensor:
    """Per-query scores of MAP@R and of the typical wrong versions of it."""
    width = match.shape[1]
    ranks = torch.arange(1, width + 1)  # (W,)
    r_safe = r.clamp_min(1)
    within = ranks[None, :] <= r_safe[:, None]  # (N, W) the first R ranks
    rel = match & within
    precision = rel.cumsum(1).double() / ranks  # (N, W)
    if variant == "map@r":
        return (precision * rel).sum(1) / r_safe
    if variant == "by_hits":  # divided by the hits found, not by R
        return (precision * rel).sum(1) / rel.sum(1).clamp_min(1)
    if variant == "no_rel":  # precision at every rank, hit or not
        return (precision * within).sum(1) / r_safe
    if variant == "r_precision":  # share of the first R that match
        return rel.sum(1).double() / r_safe
    raise AssertionError(variant)


def _reference(x: Tensor, labels: Tensor) -> float:
    match, r = _ranked(x, labels)
    return float(_ap(match, r)[r > 0].mean())


def _wrong_answers(x: Tensor, labels: Tensor) -> list[tuple[float, str]]:
    match, r = _ranked(x, labels)
    has = r > 0
    out = [
        (
            float(_ap(match, r, "by_hits")[has].mean()),
            "you divided each query's sum of precisions by the number of matches found in the "
            "first R; MAP@R divides by R itself, so a class left out of the top R costs points.",
        ),
        (
            float(_ap(match, r, "no_rel")[has].mean()),
            "you added P(i) at every rank i <= R; add it only where rank i is a match "
            "(multiply by rel(i)).",
        ),
        (
            float(_ap(match, r, "r_precision")[has].mean()),
            "that is R-precision (the share of matches among the first R). MAP@R also rewards "
            "matches that come early: average P(i) over the ranks i that match.",
        ),
        (
            float(_ap(match, r)[has].sum() / len(r)),
            "queries whose class has no other member (R = 0) must be left out of the mean, not "
            "counted as 0.",
        ),
    ]
    m_self, _ = _ranked(x, labels, self_included=True)
    out.append(
        (
            float(_ap(m_self, r + 1)[has].mean()),
            "the query retrieved itself: exclude it (its distance to itself is 0), and R counts "
            "the *other* members of its class.",
        )
    )
    out.append(
        (
            float(_ap(match, r + 1)[has].mean()),
            "R is the number of *other* items of the query's class (class size - 1): the query "
            "itself is not in the gallery it searches.",
        )
    )
    return out


def _map_case(fn, x: Tensor, labels: Tensor, what: str) -> str | None:
    """``None`` when right; a hint when a single typical mistake explains the value; else raises
    nothing and returns the generic message (a later case may tell the mistakes apart)."""
    got = returned_tensor(fn(x.clone(), labels.clone()), what, "a number (a float)")
    if got.numel() != 1:
        raise CheckFailed(
            f"{what}: expected one number (the mean over queries), got shape {tuple(got.shape)}."
        )
    value = float(got.detach().double().reshape(()))
    want = _reference(x, labels)
    if abs(value - want) <= 1e-6:
        return None
    hints = [
        hint
        for wrong, hint in _wrong_answers(x, labels)
        if abs(value - wrong) <= 1e-6 and abs(wrong - want) > 1e-6
    ]
    if len(hints) == 1:
        raise CheckFailed(f"{what}: {hints[0]}")
    return (
        f"{what}: expected MAP@R = {want:.4f}, got {value:.4f}. For each query: rank the other "
        "items by distance, take the first R (R = other members of its class), and average "
        "P(i) over the ranks i <= R that match, dividing by R."
    )


def _run_cases(cases) -> None:
    """Run ``cases`` (callables returning None or a generic message); a specific hint raised by
    any case wins, else the first generic message is raised."""
    generic = [m for m in (case() for case in cases) if m is not None]
    if generic:
        raise CheckFailed(generic[0])


@exercise_check("MAP@R (Musgrave et al. 2020)")
def check_map_at_r(fn) -> None:
    """Check ``fn(embeddings, labels)`` returns MAP@R of leave-one-out retrieval (a float).

    Euclidean distances; each query searches all the *other* items; queries whose class has no
    other member are left out, as :func:`cl_lessons.metrics.map_at_r` does.

    Args:
        fn: the learner's function: ``(N, D)`` float tensor, ``(N,)`` int tensor -> a number.
    """
    # six points on a line, no tied distances: class 0 at 0, 1, 5.5; class 1 at 2.2, 3, 4.5
    # (by hand: AP@R of the six queries 1/2, 1/2, 0, 1/2, 1, 1/4, so MAP@R = 0.4583)
    x1 = torch.tensor([[0.0], [1.0], [5.5], [2.2], [3.0], [4.5]], dtype=torch.float64)
    y1 = torch.tensor([0, 0, 0, 1, 1, 1])
    gen = torch.Generator().manual_seed(11)
    y2 = torch.tensor([0] * 6 + [1] * 4 + [2] * 3 + [3] * 5 + [4])  # uneven, one lone item
    centres = torch.randn(5, 3, generator=gen, dtype=torch.float64) * 1.5
    x2 = centres[y2] + torch.randn(len(y2), 3, generator=gen, dtype=torch.float64)
    _run_cases(
        [
            lambda: _map_case(fn, x1, y1, "6 points on a line, two classes"),
            lambda: _map_case(fn, x2, y2, "19 points in 3-D, classes of 6, 4, 3, 5 and 1 items"),
        ]
    )


# ------------------------------------------------------------------------------------ prototypes


def _predict(support: Tensor, support_labels: Tensor, queries: Tensor, how: str) -> Tensor:
    classes = torch.unique(support_labels)  # (N,) sorted
    one_hot = (support_labels[None, :] == classes[:, None]).double()  # (N, S)
    total = one_hot @ support  # (N, D) sums
    if how == "nearest":
        return support_labels[torch.cdist(queries, support).argmin(1)]
    protos = total if how == "sum" else total / one_hot.sum(1, keepdim=True)  # (N, D)
    d = torch.cdist(queries, protos)  # (Q, N)
    pick = d.argmax(1) if how == "farthest" else d.argmin(1)
    return pick if how == "positions" else classes[pick]


def _prototype_case(fn, support, support_labels, queries, what: str) -> str | None:
    got = returned_tensor(
        fn(support.clone(), support_labels.clone(), queries.clone()),
        what,
        f"a tensor of {len(queries)} labels",
    )
    q = len(queries)
    if got.shape != (q,):
        raise CheckFailed(
            f"{what}: expected one label per query, shape ({q},), got {tuple(got.shape)}."
        )
    if got.is_floating_point() and not bool((got == got.round()).all()):
        raise CheckFailed(
            f"{what}: expected class labels (integers), got non-integer values: return labels, "
            "not distances or scores."
        )
    got = got.long()
    want = _predict(support, support_labels, queries, "mean")
    if torch.equal(got, want):
        return None
    hints = {
        "positions": "you returned the position of the nearest prototype (0..N-1); return the "
        "class label it stands for (the labels here are not 0..N-1).",
        "nearest": "these are the labels of the nearest single support example (1-NN); a "
        "prototype is the mean of a class's support embeddings.",
        "sum": "your prototypes are sums of the support embeddings; divide by the number of "
        "examples (the mean), or classes with more shots drift away.",
        "farthest": "you picked the farthest prototype: a query belongs to the class whose "
        "prototype is nearest (argmin of the distance).",
    }
    found = [
        hint
        for how, hint in hints.items()
        if torch.equal(got, _predict(support, support_labels, queries, how))
    ]
    if len(found) == 1:
        raise CheckFailed(f"{what}: {found[0]}")
    wrong = int((got != want).sum())
    return (
        f"{what}: {wrong} of {q} queries got the wrong label. Average each class's support "
        "embeddings into a prototype and give each query the label of the nearest one."
    )


@exercise_check("Nearest-prototype classifier (Snell et al. 2017)")
def check_prototype_classifier(fn) -> None:
    """Check ``fn(support, support_labels, queries)`` returns the label of each query's nearest
    class prototype (the mean of that class's support embeddings), by Euclidean distance.

    Args:
        fn: the learner's function: ``(S, D)`` floats, ``(S,)`` int labels, ``(Q, D)`` floats ->
            ``(Q,)`` labels.
    """
    # 1-D, by hand: class 7 at {0, 4} (prototype 2), class 3 at {5} (prototype 5)
    support = torch.tensor([[0.0], [4.0], [5.0]], dtype=torch.float64)
    queries = torch.tensor([[3.0], [4.4], [1.0], [6.0]], dtype=torch.float64)
    hand = (support, torch.tensor([7, 7, 3]), queries)
    gen = torch.Generator().manual_seed(3)
    labels = torch.tensor([12, 12, 12, 5, 5, 5, 5, 9, 9])  # uneven shots, labels not 0..N-1
    centres = torch.randn(3, 4, generator=gen, dtype=torch.float64) * 2.0
    pos = torch.unique(labels, return_inverse=True)[1]
    support = centres[pos] + 1.5 * torch.randn(9, 4, generator=gen, dtype=torch.float64)
    queries = centres[torch.arange(30) % 3] + 1.5 * torch.randn(30, 4, generator=gen).double()
    _run_cases(
        [
            lambda: _prototype_case(fn, *hand, "3 support points on a line"),
            lambda: _prototype_case(
                fn, support, labels, queries, "a 3-way episode in 4-D with 3, 4 and 2 shots"
            ),
        ]
    )
