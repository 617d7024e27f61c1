"""Checks for lesson 10 (face verification): TAR at a fixed FAR, and the CMC curve."""

from __future__ import annotations

import math

import torch

from cl_lessons.exercises._core import CheckFailed, exercise_check, expect_close, returned_tensor

__all__ = ["check_cmc_curve", "check_tar_at_far"]


def _number(got, what: str) -> float:
    """A learner's rate as a finite float (a number or a one-element tensor / array)."""
    if got is None:
        raise CheckFailed(f"{what}: your function returned None; did you forget `return`?")
    if not isinstance(got, (int, float)):
        t = returned_tensor(got, what, "one number (the TAR)")
        if t.numel() != 1:
            raise CheckFailed(
                f"{what}: return one number (the TAR), got a tensor of shape {tuple(t.shape)}."
            )
        got = t.reshape(()).item()
    got = float(got)
    if not math.isfinite(got):
        raise CheckFailed(f"{what}: your TAR is {got}; it must be a number in [0, 1].")
    return got


def _tar(scores: torch.Tensor, same: torch.Tensor, far: float) -> float:
    """Reference: accept ``score >= t``, ``t`` the lowest with FAR <= far (see cl.metrics)."""
    neg = scores[same == 0].sort(descending=True).values
    k = math.floor(far * len(neg) + 1e-9)
    pos = scores[same == 1]
    if k >= len(neg):
        return 1.0
    return float((pos > neg[k]).double().mean())


@exercise_check("TAR at a fixed FAR")
def check_tar_at_far(fn) -> None:
    """Check ``fn(scores, same, far)`` returns the true accept rate at the lowest threshold whose
    false accept rate is at most ``far`` (accept a pair when ``score >= threshold``).

    Args:
        fn: the learner's function taking ``scores`` ``(N,)`` (higher = more similar), ``same``
            ``(N,)`` (1 = genuine pair, 0 = impostor pair) and a float ``far``; returns a float.
    """
    # 10 impostors, 8 genuine pairs; at far = 0.2 two impostors (0.95, 0.88) may pass
    impostors = [0.95, 0.88, 0.7, 0.55, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0]
    genuine = [0.9, 0.85, 0.75, 0.7, 0.65, 0.45, 0.35, 0.15]
    scores = torch.tensor([*impostors, *genuine])
    same = torch.tensor([0] * 10 + [1] * 8)
    far = 0.2
    want = _tar(scores, same, far)  # threshold just above 0.7 -> 0.9, 0.85, 0.75: 3/8
    got = _number(fn(scores.clone(), same.clone(), far), "TAR at FAR = 0.2 for 18 pairs")
    mistakes = [
        (
            1 - want,
            "that is 1 - TAR, the false reject rate (or you accepted score <= t): a HIGHER "
            "score means more similar; return the share of genuine pairs with score >= t.",
        ),
        (
            float((scores[same == 1] >= torch.quantile(scores, 1 - far)).double().mean()),
            "choose the threshold from the IMPOSTOR scores only (same == 0), not from all "
            "scores: FAR is the share of impostor pairs accepted.",
        ),
        (
            float((scores[same == 1] >= 0.7).double().mean()),
            "your threshold lets one impostor too many through: FAR must be at most far, so "
            "put the threshold just ABOVE the (k+1)-th highest impostor score, k = floor(far*n).",
        ),
        (
            float((scores[same == 1] > 0.88).double().mean()),
            "your threshold is too strict: it accepts fewer impostors than far allows. With n "
            "impostors, floor(far * n) of them may be accepted.",
        ),
        (want * 8, "you returned a count of genuine pairs: divide by the number of them."),
    ]
    if abs(got - want) > 1e-6:
        hint = next((msg for value, msg in mistakes if abs(got - value) < 1e-6), "")
        raise CheckFailed(
            f"TAR at FAR = 0.2 for 18 pairs: expected {want:.3f}, got {got:.3f}. {hint}".strip()
        )
    gen = torch.Generator().manual_seed(0)
    s2 = torch.cat([torch.randn(300, generator=gen), torch.randn(100, generator=gen) + 2.0])
    y2 = torch.cat([torch.zeros(300, dtype=torch.long), torch.ones(100, dtype=torch.long)])
    for f in (0.01, 0.1, 0.5):
        got = _number(fn(s2.clone(), y2.clone(), f), f"TAR at FAR = {f} for 400 random pairs")
        if abs(got - _tar(s2, y2, f)) > 1e-6:
            raise CheckFailed(
                f"TAR at FAR = {f} for 400 random pairs: expected {_tar(s2, y2, f):.4f}, "
                f"got {got:.4f}."
            )


def _cmc(d: torch.Tensor, pl: torch.Tensor, gl: torch.Tensor, max_rank: int) -> torch.Tensor:
    order = d.argsort(dim=1, stable=True)  # (P, G) nearest first
    match = gl[order] == pl[:, None]  # (P, G)
    return match.cummax(1).values[:, :max_rank].double().mean(0)  # (max_rank,)


@exercise_check("A CMC curve")
def check_cmc_curve(fn) -> None:
    """Check ``fn(distances, probe_labels, gallery_labels, max_rank)`` returns the CMC curve:
    entry ``r - 1`` is the share of probes whose nearest gallery entry of their own identity is
    among the ``r`` nearest entries.

    Args:
        fn: the learner's function taking a distance matrix ``(P, G)``, ``probe_labels`` ``(P,)``,
            ``gallery_labels`` ``(G,)`` and an int ``max_rank``; returns ``(max_rank,)`` rates.
    """
    # 4 probes, gallery of 3 identities x 2 entries; distinct distances, no ties
    gl = torch.tensor([0, 0, 1, 1, 2, 2])
    pl = torch.tensor([0, 1, 2, 0])
    d = torch.tensor(
        [
            [0.1, 0.9, 0.5, 0.6, 0.7, 0.8],  # probe 0: its identity first -> rank 1
            [0.2, 0.3, 0.5, 0.1, 0.9, 0.8],  # probe 1 (id 1): nearest entries 3 (id 1) -> rank 1
            [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],  # probe 2 (id 2): first id-2 entry at rank 5
            [0.5, 0.2, 0.1, 0.3, 0.9, 0.8],  # probe 3 (id 0): entry 1 at rank 2
        ]
    )
    max_rank = 5
    want = _cmc(d, pl, gl, max_rank)  # [0.5, 0.75, 0.75, 0.75, 1]
    what = "CMC of 4 probes against a gallery of 6"
    got = returned_tensor(
        fn(d.clone(), pl.clone(), gl.clone(), max_rank), what, f"a tensor of shape ({max_rank},)"
    )
    if got.shape == (max_rank + 1,) or got.shape == (max_rank - 1,):
        raise CheckFailed(
            f"{what}: return exactly max_rank = {max_rank} values, ranks 1 .. max_rank."
        )
    order = d.argsort(dim=1)
    match = (gl[order] == pl[:, None]).double()
    first = (match.cummax(1).values.cumsum(1) == 1).double()  # first match exactly at rank r
    mistakes = [
        (_cmc(-d, pl, gl, max_rank), "sort the gallery by INCREASING distance: nearest first."),
        (
            first.mean(0)[:max_rank],
            "the CMC is cumulative: count probes whose first match is at rank r OR BETTER.",
        ),
        (
            match.cumsum(1).div(torch.arange(1, 7)).mean(0)[:max_rank],
            "that is the precision at rank r (the share of the top r that match). The CMC asks "
            "whether ANY of the top r entries has the probe's identity.",
        ),
        (
            torch.cat([want[1:], want[-1:]]),
            "your ranks are shifted by one: entry 0 is rank 1 (only the nearest entry).",
        ),
        (want * 4, "you returned counts of probes: divide by the number of probes."),
    ]
    hint = ""
    for value, msg in mistakes:
        g = got.detach().to(torch.float64)
        if g.shape == value.shape and torch.allclose(g, value.to(torch.float64), atol=1e-6):
            hint = msg
            break
    expect_close(got, want, what, atol=1e-6, hint=hint)
    gen = torch.Generator().manual_seed(0)
    d2 = torch.rand(30, 20, generator=gen)
    pl2 = torch.randint(0, 10, (30,), generator=gen)
    gl2 = torch.arange(10).repeat(2)
    expect_close(
        fn(d2.clone(), pl2.clone(), gl2.clone(), 10),
        _cmc(d2, pl2, gl2, 10),
        "CMC of 30 random probes against a gallery of 20",
        atol=1e-6,
    )
