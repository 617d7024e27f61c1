"""Checks for lesson 07 (InfoNCE and SimCLR): NT-Xent, alignment and uniformity."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from cl_lessons.exercises._core import (
    CheckFailed,
    exercise_check,
    expect_close,
    returned_tensor,
    same_values,
)
from cl_lessons.losses import info_nce
from cl_lessons.metrics import alignment, uniformity

__all__ = ["check_alignment", "check_info_nce", "check_uniformity"]


def _close(got, want: Tensor) -> bool:
    """True when ``got`` is a tensor-like value of ``want``'s shape and value (no exception)."""
    return same_values(got, want, atol=1e-5, rtol=1e-4)


def _returned(got, what: str) -> Tensor:
    """The learner's value as a float64 tensor, or a hint when it is not a number."""
    return returned_tensor(got, what, "a scalar tensor").detach().to(torch.float64)


# ----------------------------------------------------------------------------- InfoNCE


def _nt_xent_variants(z1: Tensor, z2: Tensor, temperature: float) -> dict[str, Tensor]:
    """The right NT-Xent and the typical wrong ones, per anchor, in float64."""
    n = z1.shape[0]
    raw = torch.cat([z1, z2]).double()  # (2N, D)
    unit = F.normalize(raw, dim=1)  # (2N, D)
    eye = torch.eye(2 * n, dtype=torch.bool)
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])  # (2N,)
    rows = torch.arange(2 * n)

    def per_anchor(z: Tensor, tau: float, mask: bool = True) -> Tensor:
        logits = z @ z.T / tau  # (2N, 2N)
        if mask:
            logits = logits.masked_fill(eye, -math.inf)
        return torch.logsumexp(logits, 1) - logits[rows, partner]  # (2N,)

    right = per_anchor(unit, temperature)  # (2N,)
    return {
        "right": right,
        "no_mask": per_anchor(unit, temperature, mask=False),
        "no_normalise": per_anchor(raw, temperature),
        "tau_twice": per_anchor(unit, temperature**2),
        "no_tau": per_anchor(unit, 1.0),
    }


@exercise_check("InfoNCE / NT-Xent (SimCLR)")
def check_info_nce(fn) -> None:
    """Check ``fn(z1, z2, temperature)`` returns SimCLR's NT-Xent loss, as ``cl.losses.info_nce``.

    The ``2N`` views ``cat([z1, z2])`` are L2-normalised; view ``i``'s positive is its partner
    (``z1[k]`` and ``z2[k]``), the other ``2N - 2`` views are its negatives, the logits are cosine
    similarities divided by the temperature, and the loss is the mean over all ``2N`` anchors.

    Args:
        fn: the learner's function; two ``(N, D)`` tensors and a float -> a scalar tensor
            that carries the gradient (a training loop calls ``loss.backward()`` on it).
    """
    gen = torch.Generator().manual_seed(7)
    n, d, tau = 5, 4, 0.5
    scale = torch.linspace(0.5, 3.0, n).unsqueeze(1)  # rows of different lengths
    z1 = torch.randn(n, d, generator=gen) * scale  # (5, 4)
    z2 = (z1 + 0.8 * torch.randn(n, d, generator=gen)) * scale.flip(0)  # (5, 4) noisy partners
    what = "5 pairs of 4-D embeddings of different lengths, temperature 0.5"
    got = _returned(fn(z1.clone(), z2.clone(), tau), what)
    v = _nt_xent_variants(z1, z2, tau)
    want = v["right"].mean()
    if got.shape == (2 * n,):
        raise CheckFailed(
            f"{what}: you returned one loss per anchor (shape {tuple(got.shape)}); return their "
            "mean over all 2N anchors (a scalar)."
        )
    if got.shape == () and not bool(torch.isfinite(got)):
        raise CheckFailed(
            f"{what}: your loss is {got.item()}. Does your positive index point at the anchor "
            "itself (the masked diagonal)? The positive of view i < N is view i + N, and of view "
            "i >= N is view i - N."
        )
    mistakes = [
        (
            v["no_mask"].mean(),
            "the self-similarity is still in the denominator: every view is most similar to "
            "itself (cos = 1), so mask the diagonal of the (2N, 2N) logits with -inf before the "
            "softmax. The candidates of an anchor are the other 2N - 1 views.",
        ),
        (
            v["no_normalise"].mean(),
            "the embeddings are not normalised: InfoNCE in SimCLR uses cosine similarity, so "
            "L2-normalise the rows (F.normalize(z, dim=1)) before the dot products.",
        ),
        (
            v["tau_twice"].mean(),
            "the similarities are divided by the temperature twice (by temperature**2). Divide "
            "the cosine similarities by the temperature exactly once.",
        ),
        (
            v["no_tau"].mean(),
            "the temperature has no effect in your loss: divide the cosine similarities by "
            "`temperature` before the softmax.",
        ),
        (
            v["right"].sum() / n,
            "you divided the sum by N: there are 2N anchors (every view of both halves is an "
            "anchor once), so take the mean over 2N.",
        ),
        (
            v["right"][:n].mean(),
            "only the first views z1 are anchors in your loss: in SimCLR every one of the 2N "
            "views is an anchor, so average the loss of the z2 anchors in too.",
        ),
    ]
    for value, hint in mistakes:
        if _close(got, value) and not _close(got, want):
            raise CheckFailed(f"{what}: {hint}")
    if got.ndim != 0:
        raise CheckFailed(f"{what}: expected a scalar (0-d tensor), got shape {tuple(got.shape)}")
    expect_close(
        got,
        want,
        what,
        hint="Check the positive index (view i pairs with view i + N and i + N with i), the "
        "masked diagonal, the normalisation and the temperature.",
    )
    for n, d, tau in ((8, 16, 0.1), (3, 2, 2.0)):
        a = torch.randn(n, d, generator=gen)
        b = torch.randn(n, d, generator=gen)
        expect_close(
            fn(a.clone(), b.clone(), tau),
            info_nce(a, b, temperature=tau),
            f"{n} random {d}-D pairs, temperature {tau}",
        )
    out = fn(z1.clone().requires_grad_(True), z2.clone().requires_grad_(True), 0.5)
    if not isinstance(out, Tensor) or not out.requires_grad:
        raise CheckFailed(
            "your loss has the right value but carries no gradient, so loss.backward() cannot "
            "train the encoder: return the tensor itself (no .item(), float(), .tolist(), "
            ".detach() or NumPy on the way)."
        )


# ----------------------------------------------------------------------------- uniformity


def _uniformity_variants(z: Tensor, t: float) -> dict[str, Tensor]:
    raw = z.double()
    unit = F.normalize(raw, dim=1)
    n = z.shape[0]
    iu = torch.triu_indices(n, n, offset=1)

    def sq_dists(x: Tensor) -> Tensor:
        return torch.cdist(x, x).pow(2)  # (N, N)

    sq = sq_dists(unit)[iu[0], iu[1]]  # (N(N-1)/2,)
    return {
        "right": (-t * sq).exp().mean().log(),
        "no_normalise": (-t * sq_dists(raw)[iu[0], iu[1]]).exp().mean().log(),
        "mean_of_log": (-t * sq).mean(),
        "no_log": (-t * sq).exp().mean(),
        "not_squared": (-t * sq.sqrt()).exp().mean().log(),
        "with_diagonal": (-t * sq_dists(unit)).exp().mean().log(),
    }


@exercise_check("Uniformity (Wang & Isola 2020)")
def check_uniformity(fn) -> None:
    """Check ``fn(z, t)`` returns ``log mean_{i<j} exp(-t ||z_i - z_j||^2)`` of normalised rows.

    Args:
        fn: the learner's function; an ``(N, D)`` tensor and a float -> a scalar tensor.
    """
    gen = torch.Generator().manual_seed(11)
    z = torch.randn(7, 3, generator=gen) * torch.linspace(0.3, 2.5, 7).unsqueeze(1)  # (7, 3)
    t = 2.0
    what = "7 embeddings of different lengths, t = 2"
    got = _returned(fn(z.clone(), t), what)
    v = _uniformity_variants(z, t)
    mistakes = [
        (
            v["no_normalise"],
            "the rows are not normalised: uniformity is defined on the unit hypersphere, so "
            "L2-normalise z first (F.normalize(z, dim=1)).",
        ),
        (
            v["mean_of_log"],
            "this is the mean of the logs, -t * mean ||z_i - z_j||^2: uniformity is the log of "
            "the mean of exp(-t ||z_i - z_j||^2) (a log-sum-exp, dominated by the closest pairs).",
        ),
        (v["no_log"], "the log is missing: take log(mean(exp(-t ||z_i - z_j||^2)))."),
        (
            v["not_squared"],
            "the distances are not squared: the Gaussian potential is exp(-t ||z_i - z_j||^2).",
        ),
        (
            v["with_diagonal"],
            "the pairs i == j (distance 0, exp(0) = 1) are in your mean: average over the "
            "N(N-1)/2 distinct pairs i < j only (torch.pdist gives exactly those).",
        ),
    ]
    for value, hint in mistakes:
        if _close(got, value) and not _close(got, v["right"]):
            raise CheckFailed(f"{what}: {hint}")
    if got.ndim != 0:
        raise CheckFailed(f"{what}: expected a scalar (0-d tensor), got shape {tuple(got.shape)}")
    expect_close(got, v["right"], what)
    x = torch.randn(12, 5, generator=gen)
    for t in (1.0, 5.0):
        got = _returned(fn(x.clone(), t), f"12 random 5-D embeddings, t = {t}")
        want = uniformity(x, t=t)
        if t != 2.0 and _close(got, uniformity(x, t=2.0).double()):
            raise CheckFailed(f"t = {t}: your function ignores its argument t and uses t = 2.")
        expect_close(got, want, f"12 random 5-D embeddings, t = {t}")


# ----------------------------------------------------------------------------- alignment


@exercise_check("Alignment (Wang & Isola 2020)")
def check_alignment(fn) -> None:
    """Check ``fn(z1, z2)`` returns ``mean_i ||z1_i - z2_i||^2`` of L2-normalised rows.

    Args:
        fn: the learner's function; two ``(N, D)`` tensors -> a scalar tensor.
    """
    gen = torch.Generator().manual_seed(3)
    z1 = torch.randn(6, 3, generator=gen) * torch.linspace(0.4, 3.0, 6).unsqueeze(1)  # (6, 3)
    z2 = torch.randn(6, 3, generator=gen) * 2.0  # (6, 3)
    what = "6 pairs of 3-D embeddings of different lengths"
    got = _returned(fn(z1.clone(), z2.clone()), what)
    u1, u2 = F.normalize(z1.double(), dim=1), F.normalize(z2.double(), dim=1)
    sq = (u1 - u2).pow(2).sum(1)  # (6,)
    want = sq.mean()
    if got.shape == (6,):
        raise CheckFailed(f"{what}: you returned one value per pair; return their mean.")
    mistakes = [
        (
            (z1.double() - z2.double()).pow(2).sum(1).mean(),
            "the rows are not normalised: alignment is measured on the unit hypersphere, so "
            "L2-normalise both z1 and z2 first.",
        ),
        (
            sq.sqrt().mean(),
            "these are plain distances: alignment with alpha = 2 averages the *squared* "
            "distances ||z1_i - z2_i||^2.",
        ),
        (
            sq.sum(),
            "you summed over the pairs: take the mean, so alignment does not grow with N.",
        ),
        (
            (u1 - u2).pow(2).mean(),
            "you averaged over every coordinate (N * D numbers): sum the squares over the "
            "features of each pair first, then average over the N pairs.",
        ),
        (
            (1 - (u1 * u2).sum(1)).mean(),
            "this is the mean cosine distance 1 - cos, half of the squared distance on the "
            "sphere: ||a - b||^2 = 2 - 2 cos for unit vectors.",
        ),
    ]
    for value, hint in mistakes:
        if _close(got, value) and not _close(got, want):
            raise CheckFailed(f"{what}: {hint}")
    if got.ndim != 0:
        raise CheckFailed(f"{what}: expected a scalar (0-d tensor), got shape {tuple(got.shape)}")
    expect_close(got, want, what)
    a, b = torch.randn(20, 8, generator=gen), torch.randn(20, 8, generator=gen)
    expect_close(fn(a.clone(), b.clone()), alignment(a, b), "20 random 8-D pairs")
