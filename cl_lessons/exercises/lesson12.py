"""Checks for lesson 12 (pitfalls), part 1: the articles' broken code, fixed by the learner.

Each check accepts the fix and recognises the plausible half-fixes (the bug moved, not removed)
with a hint that names it. Part 2, the evaluation pitfalls, is in ``lesson12_eval.py``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_lessons.exercises._core import (
    CheckFailed,
    exercise_check,
    learner_code,
    returned_tensor,
    same_values,
)

__all__ = [
    "check_info_nce_numerator",
    "check_one_batch_overfit",
    "check_pair_bce_loss",
    "check_shared_siamese",
    "check_squared_triplet_loss",
]


def _scalar(got, what: str) -> Tensor:
    t = returned_tensor(got, what, "one number (a 0-d tensor)")
    if t.numel() != 1:
        raise CheckFailed(
            f"{what}: expected one number (the mean over the batch), got shape {tuple(t.shape)}."
        )
    t = t.detach().double().reshape(())
    if not torch.isfinite(t):
        raise CheckFailed(f"{what}: your loss is {t.item()}; it must be a finite number.")
    return t


def _match(got: Tensor, want: Tensor, wrong: list[tuple[Tensor, str]], what: str) -> None:
    """Raise the hint of the single half-fix ``got`` equals, or a generic message."""
    if same_values(got, want, atol=1e-6, rtol=1e-5):
        return
    hints = [h for value, h in wrong if same_values(got, value, atol=1e-6, rtol=1e-5)]
    if hints:
        raise CheckFailed(f"{what}: {hints[0]}")
    raise CheckFailed(f"{what}: expected {want.item():.6f}, got {got.item():.6f}.")


def _batch(seed: int, b: int = 6, d: int = 4) -> tuple[Tensor, Tensor, Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(b, d, generator=gen, dtype=torch.float64) for _ in range(3))


# ------------------------------------------------------------------ 1. the article-001 loss

_bce = F.binary_cross_entropy_with_logits


def _pair_variants(a: Tensor, p: Tensor, n: Tensor) -> tuple[Tensor, list[tuple[Tensor, str]]]:
    s_p, s_n = (a * p).sum(1), (a * n).sum(1)  # (B,) row-wise dot products
    one, zero = torch.ones_like(s_p), torch.zeros_like(s_p)
    want = (_bce(s_p, one) + _bce(s_n, zero)) / 2
    s_pn = (p * n).sum(1)
    wrong = [
        (
            (_bce(s_p, zero) + _bce(s_n, one)) / 2,
            "the labels are swapped: the positive pair gets 0 and the negative 1, which asks the "
            "model to push positives apart. Label 1 means 'similar' (the text's own goal).",
        ),
        (
            (_bce(s_pn, one) + _bce(s_pn, zero)) / 2,
            "both scores are dot(h_pos, h_neg), the same expression (the article's copy-paste): "
            "score the anchor with its positive, and the anchor with its negative.",
        ),
        (
            (_bce(s_p, one) + _bce(s_p, zero)) / 2,
            "your two scores are the same expression: the negative score must use h_n.",
        ),
        (
            (_bce(s_p, one) + _bce(s_n, zero)),
            "you added the two terms; the article averages them: divide by 2.",
        ),
        (
            (_bce(torch.sigmoid(s_p), one) + _bce(torch.sigmoid(s_n), zero)) / 2,
            "you applied the sigmoid twice: binary_cross_entropy_with_logits takes the raw "
            "scores (logits) and applies the sigmoid itself.",
        ),
        (
            F.cross_entropy(torch.stack([s_p, s_n], 1), torch.zeros(len(a), dtype=torch.long)),
            "that is a 2-way softmax (InfoNCE with one negative), a sound loss but not this one: "
            "score each pair on its own with binary cross-entropy.",
        ),
        (
            (_bce(F.cosine_similarity(a, p), one) + _bce(F.cosine_similarity(a, n), zero)) / 2,
            "you normalised the embeddings (cosine); this exercise keeps the raw dot product.",
        ),
        (
            torch.zeros((), dtype=a.dtype),
            "a loss of exactly 0: a cross-entropy over one logit is always 0 (log-softmax of a "
            "single number). Use binary cross-entropy on the score.",
        ),
    ]
    return want, wrong


@exercise_check("The article's contrastive forward, made to run and to mean what it says")
def check_pair_bce_loss(fn) -> None:
    """Check ``fn(h_a, h_p, h_n)`` returns ``(BCE(s_pos, 1) + BCE(s_neg, 0)) / 2``: ``s_pos`` the
    row-wise dot product of anchors and positives, ``s_neg`` of anchors and negatives, the binary
    cross-entropy with logits averaged over the batch.

    Args:
        fn: ``(B, D)``, ``(B, D)``, ``(B, D)`` float tensors -> a scalar.
    """
    for seed, b in ((0, 6), (1, 9)):
        a, p, n = _batch(seed, b)
        want, wrong = _pair_variants(a, p, n)
        what = f"the loss of a batch of {b} triplets"
        _match(_scalar(fn(a.clone(), p.clone(), n.clone()), what), want, wrong, what)


# ------------------------------------------------------------------ 2. squared triplet loss


@exercise_check("The article's triplet loss, sign and negative restored")
def check_squared_triplet_loss(fn) -> None:
    """Check ``fn(anchor, positive, negative, gamma)`` returns
    ``mean(max(||a - p||^2 - ||a - n||^2 + gamma, 0))`` (squared Euclidean, as FaceNet).

    Args:
        fn: three ``(B, D)`` float tensors and a float margin -> a scalar.
    """
    for seed, gamma in ((2, 0.5), (3, 2.0)):
        a, p, n = _batch(seed, 7, 3)
        d_ap, d_an = (a - p).pow(2).sum(1), (a - n).pow(2).sum(1)  # (B,)
        want = (d_ap - d_an + gamma).clamp_min(0).mean()
        wrong = [
            (
                (gamma + d_an - d_ap).clamp_min(0).mean(),
                "the sign is flipped (the article's max(0, g + d_neg - d_sim)): its zero-loss "
                "region is d_pos >= d_neg + g, the opposite of the goal.",
            ),
            (
                (gamma + a.pow(2).sum(1)).mean(),
                "this is the article's call triplet_loss(zeros, left): g + ||f(x)||^2 has no "
                "negative at all and is minimised by collapsing every embedding to 0.",
            ),
            (
                (gamma + d_ap).mean(),
                "there is no negative term: g + d(a, p) is minimised by collapse. Subtract "
                "d(a, n).",
            ),
            (
                (d_ap - d_an + gamma).mean(),
                "the hinge is missing: clamp each triplet's value at 0 (max(., 0)) before the "
                "mean.",
            ),
            (
                ((a - p).norm(dim=1) - (a - n).norm(dim=1) + gamma).clamp_min(0).mean(),
                "these are plain distances (lesson 05's version); this exercise squares them, as "
                "the article and FaceNet do.",
            ),
            (
                (d_ap - d_an + gamma).clamp_min(0).sum(),
                "you summed over the batch: take the mean.",
            ),
        ]
        what = f"7 triplets in 3-D, gamma = {gamma}"
        got = fn(a.clone(), p.clone(), n.clone(), gamma)
        _match(_scalar(got, what), want, wrong, what)


# ------------------------------------------------------------------ 3. InfoNCE


@exercise_check("InfoNCE with the positive in the numerator")
def check_info_nce_numerator(fn) -> None:
    """Check ``fn(z1, z2, temperature)`` returns ``cross_entropy(u1 @ u2.T / t, arange(N))`` with
    ``u = normalize(z)``: row i's positive is column i, the other columns its negatives.

    Args:
        fn: ``(N, D)``, ``(N, D)`` float tensors and a float temperature -> a scalar.
    """
    for seed, t in ((4, 0.1), (5, 0.5)):
        z1, z2, _ = _batch(seed, 5, 3)
        z1, z2 = 3 * z1, 3 * z2  # unnormalised on purpose
        u1, u2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
        s = u1 @ u2.T / t  # (N, N)
        y = torch.arange(len(s))
        logp = s.log_softmax(dim=1)
        off = ~torch.eye(len(s), dtype=torch.bool)
        wrong = [
            (
                -logp[off].sum() / len(s),
                "a negative is in the numerator (the article's formula): minimising it raises the "
                "probability of the negatives. The numerator is exp(s_ii / t), the positive.",
            ),
            (
                -logp[off].mean(),
                "you averaged -log p over the off-diagonal entries: those are the negatives. "
                "Take -log p of the diagonal (the positive) only.",
            ),
            (
                F.cross_entropy(z1 @ z2.T / t, y),
                "the embeddings are not normalised: raw dot products let the model win by growing "
                "the norms until exp overflows. L2-normalise z1 and z2 first.",
            ),
            (F.cross_entropy(u1 @ u2.T, y), "the temperature is missing: divide by t."),
            (F.cross_entropy(u1 @ u2.T * t, y), "divide the similarities by t, do not multiply."),
            (
                -(s.diag() - torch.logsumexp(s.masked_fill(~off, float("-inf")), 1)).mean(),
                "your denominator leaves the positive out; InfoNCE sums over every column, the "
                "positive included (it is a softmax over N candidates).",
            ),
            (
                F.cross_entropy(s.T, y),
                "rows must be z1's anchors: cross_entropy(u1 @ u2.T / t, arange(N)).",
            ),
        ]
        what = f"5 pairs in 3-D, temperature {t}"
        got = fn(z1.clone(), z2.clone(), t)
        _match(_scalar(got, what), F.cross_entropy(s, y), wrong, what)


# ------------------------------------------------------------------ 4. one shared encoder


@exercise_check("A Siamese network: one encoder, two inputs")
def check_shared_siamese(siamese_cls) -> None:
    """Check ``siamese_cls(in_dim, emb_dim)`` builds a module whose ``forward(x1, x2)`` returns
    ``(f(x1), f(x2))`` from **one** trainable encoder ``f``: ``d(x, x) = 0`` before *and after*
    training, different inputs give different embeddings, and swapping the inputs swaps them.

    Args:
        siamese_cls: the learner's ``nn.Module`` subclass.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = siamese_cls(5, 3)
        if not isinstance(net, nn.Module):
            raise CheckFailed(
                f"siamese_cls(5, 3) must build an nn.Module, got {type(net).__name__}"
            )
        if not [p for p in net.parameters() if p.requires_grad]:
            raise CheckFailed(
                "your network has no trainable parameters (the article's empty Encoder): "
                "torch.optim refuses an empty parameter list. Give the encoder layers."
            )
        forward = learner_code(net)
        gen = torch.Generator().manual_seed(1)
        x, y = torch.randn(4, 5, generator=gen), torch.randn(4, 5, generator=gen)
        _same_input_zero(forward, x, "at initialisation")
        zx, zy = _pair(forward(x, y))
        if same_values(zx, zy, atol=1e-7):
            raise CheckFailed(
                "different inputs give identical outputs: both branches see the same input (the "
                "article's call(self, inputs)). Embed x1 in one branch and x2 in the other."
            )
        zy2, zx2 = _pair(forward(y, x))
        if not (same_values(zx, zx2) and same_values(zy, zy2)):
            raise CheckFailed(
                "swapping the inputs does not swap the embeddings: each output must depend on "
                "its own input only, through the same function."
            )
        opt = torch.optim.SGD(net.parameters(), lr=0.5)
        z1, z2 = _pair(forward(x, y))
        (z1.pow(2).sum() - 3 * z2.sum()).backward()  # branches pulled in different directions
        opt.step()
        _same_input_zero(forward, x, "after one training step")


def _pair(out) -> tuple[Tensor, Tensor]:
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed("forward(x1, x2) must return two embeddings, (z1, z2).")
    z1 = returned_tensor(out[0], "z1", "a (B, emb_dim) tensor")
    z2 = returned_tensor(out[1], "z2", "a (B, emb_dim) tensor")
    if z1.shape != (4, 3) or z2.shape != (4, 3):
        raise CheckFailed(
            f"for 4 inputs and emb_dim 3, expected two (4, 3) embeddings, got "
            f"{tuple(z1.shape)} and {tuple(z2.shape)}."
        )
    if not (torch.isfinite(z1).all() and torch.isfinite(z2).all()):
        raise CheckFailed("your embeddings contain NaN or Inf.")
    return z1, z2


def _same_input_zero(forward, x: Tensor, when: str) -> None:
    with torch.no_grad():
        z1, z2 = _pair(forward(x, x.clone()))
    d = (z1 - z2).norm(dim=1).max().item()
    if d > 1e-6:
        hint = (
            "the two branches have their own weights: apply ONE encoder module to both inputs"
            if when.startswith("at")
            else "your towers start as equal copies but are separate parameters: each gets its "
            "own gradient and they drift apart. Apply one module to both inputs"
        )
        raise CheckFailed(f"d(x, x) = {d:.3g} {when}, not 0: {hint}.")


# ------------------------------------------------------------------ 5. a test for label sense


def _overfit_batch() -> tuple[Tensor, Tensor, Tensor]:
    """32 pairs in 10-D whose same/different label is carried by 2 coordinates of 10."""
    gen = torch.Generator().manual_seed(7)
    centres = 3 * torch.randn(4, 2, generator=gen)
    c1 = torch.arange(32) % 4
    y = (torch.arange(32) % 2 == 0).float()
    c2 = torch.where(y.bool(), c1, (c1 + 1 + torch.arange(32) % 3) % 4)

    def draw(c):
        signal = centres[c] + 0.3 * torch.randn(32, 2, generator=gen)
        return torch.cat([signal, 3 * torch.randn(32, 8, generator=gen)], 1)

    return draw(c1), draw(c2), y


def _contrastive(z1, z2, y, margin=1.0):
    d = (z1 - z2).pow(2).sum(1).add(1e-9).sqrt()
    return (y * d**2 + (1 - y) * (margin - d).clamp_min(0) ** 2).mean()


def _bce_pairs(z1, z2, y):
    return _bce((z1 * z2).sum(1), y)


_PANEL = [
    (_contrastive, True, "the contrastive loss with y = 1 meaning similar"),
    (_bce_pairs, True, "binary cross-entropy on the dot product, y = 1 similar"),
    (lambda z1, z2, y: _contrastive(z1, z2, 1 - y), False, "the contrastive loss, labels swapped"),
    (lambda z1, z2, y: _bce_pairs(z1, z2, 1 - y), False, "the dot-product BCE, labels swapped"),
    (lambda z1, z2, y: (z1 - z2).sum() * 0 + 0.6931, False, "a constant loss (zero gradient)"),
]


@exercise_check("A one-batch test that catches a backwards label convention")
def check_one_batch_overfit(test_fn) -> None:
    """Check ``test_fn(loss_fn, x1, x2, y)`` returns True for losses that learn the pairs' labels
    the right way round and False for swapped labels and a loss with no gradient.

    Args:
        test_fn: the learner's test: ``loss_fn(z1, z2, y)`` a pair loss (y = 1 similar),
            ``x1``, ``x2`` ``(B, D)`` pairs, ``y`` ``(B,)`` -> a bool.
    """
    x1, x2, y = _overfit_batch()
    for loss_fn, right, name in _PANEL:
        with torch.random.fork_rng(devices=[]):
            out = test_fn(loss_fn, x1.clone(), x2.clone(), y.clone())
        verdict = _verdict(out)
        if verdict == right:
            continue
        if right:
            raise CheckFailed(
                f"your test rejects {name}, a correct loss. Train a small encoder on the batch "
                "(a few hundred steps), then score pairs so that higher means 'same' (e.g. "
                "-distance) and require a high AUC (> 0.9)."
            )
        if "constant" in name:
            raise CheckFailed(
                f"your test accepts {name}: it must look at what training did to the pairs, "
                "measured after training, not at the loss value."
            )
        raise CheckFailed(
            f"your test accepts {name}. A falling loss proves nothing (the swapped loss falls "
            "too): measure whether same pairs end up closer than different pairs (AUC of "
            "-distance on the batch), and check the score's direction."
        )


def _verdict(out) -> bool:
    if isinstance(out, bool):
        return out
    if isinstance(out, Tensor) and out.numel() == 1 and out.dtype == torch.bool:
        return bool(out)
    if isinstance(out, np.bool_):
        return bool(out)
    raise CheckFailed(
        f"your test must return True or False (a bool), got {type(out).__name__}: e.g. "
        "`return auc > 0.9`."
    )
