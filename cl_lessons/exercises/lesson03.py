"""Checks for lesson 03 (dual-stream networks): fusions and two-tower scoring."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from cl_lessons.exercises._core import (
    CheckFailed,
    exercise_check,
    expect_close,
    returned_tensor,
    same_values,
)

__all__ = ["check_fusion", "check_two_tower_scores"]


def _want_fusion(za: torch.Tensor, zb: torch.Tensor, fusion: str) -> torch.Tensor:
    if fusion == "concat":
        return torch.cat([za, zb], dim=1)  # (N, Da + Db)
    if fusion == "product":
        return za * zb  # (N, D)
    return (za - zb).abs()  # (N, D)


def _exactly(got, want) -> bool:
    """``torch.allclose``'s default tolerances, for any value (never raises)."""
    return same_values(got, want, atol=1e-8, rtol=1e-5)


@exercise_check("Fusing two embeddings: concat, product, absdiff")
def check_fusion(fn) -> None:
    """Check ``fn(za, zb, fusion)`` fuses two ``(N, D)`` batches row by row.

    ``"concat"`` gives ``[za, zb]`` of shape ``(N, 2D)``, ``"product"`` the element-wise product
    and ``"absdiff"`` the element-wise ``|za - zb|``, both ``(N, D)``.

    Args:
        fn: the learner's function ``(za, zb, fusion) -> (N, F)``.
    """
    za = torch.tensor([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
    zb = torch.tensor([[2.0, 1.0, 0.5], [-1.0, 4.0, 2.0]])
    for fusion in ("concat", "product", "absdiff"):
        want = _want_fusion(za, zb, fusion)
        what = f"fusion={fusion!r} on a batch of 2 pairs"
        got = returned_tensor(
            fn(za.clone(), zb.clone(), fusion), what, f"a tensor of shape {tuple(want.shape)}"
        )
        if fusion == "concat" and got.shape == (4, 3):
            raise CheckFailed(
                "concat stacked the batches (shape (2N, D)): concatenate the features, dim=1."
            )
        if fusion == "product" and got.shape == (2,):
            raise CheckFailed(
                "product returned one number per pair (a dot product): keep the element-wise "
                "product za * zb, shape (N, D); the head learns how to weigh it."
            )
        if fusion == "product" and got.shape == (2, 2):
            raise CheckFailed(
                "product returned an (N, N) matrix (za @ zb.T, every pair against every other): "
                "fuse row i of za with row i of zb only, element-wise."
            )
        hint = ""
        if fusion == "absdiff":
            if _exactly(got, za - zb) or _exactly(got, zb - za):
                hint = "Take the absolute value: |za - zb| does not depend on the order."
            elif _exactly(got, (za - zb) ** 2):
                hint = "absdiff is |za - zb|, not the squared difference."
        expect_close(got, want, what, hint=hint)
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, 5, generator=gen), torch.randn(6, 5, generator=gen)
    for fusion in ("concat", "product", "absdiff"):
        expect_close(
            fn(a.clone(), b.clone(), fusion),
            _want_fusion(a, b, fusion),
            f"fusion={fusion!r} on 6 random pairs",
        )


class _Counting(torch.Tensor):
    """A tensor that counts the torch operations applied to it (to spot Python loops)."""

    calls = 0

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        _Counting.calls += 1
        out = super().__torch_function__(func, types, args, kwargs or {})
        return out


def _plain(x):
    if isinstance(x, torch.Tensor) and type(x) is not torch.Tensor:
        return x.as_subclass(torch.Tensor)
    return x


@exercise_check("Two-tower scores: every user against every item")
def check_two_tower_scores(fn) -> None:
    """Check ``fn(user_emb, item_emb, normalize)`` returns the ``(N, M)`` score matrix.

    ``normalize=False`` gives dot products ``user_emb @ item_emb.T``; ``normalize=True`` gives
    cosine similarities (each row L2-normalised first). It must be vectorised: one matrix
    product, no Python loop over users or items.

    Args:
        fn: the learner's function ``(user_emb (N, D), item_emb (M, D), normalize) -> (N, M)``.
    """
    gen = torch.Generator().manual_seed(0)
    users = torch.randn(3, 4, generator=gen) * torch.tensor([[1.0], [3.0], [0.5]])
    items = torch.randn(5, 4, generator=gen) * torch.tensor([[2.0], [1.0], [0.2], [4.0], [1.0]])
    for normalize in (False, True):
        want = (
            F.normalize(users, dim=1) @ F.normalize(items, dim=1).T
            if normalize
            else users @ items.T
        )  # (3, 5)
        what = f"scores of 3 users x 5 items, normalize={normalize}"
        got = returned_tensor(
            _plain(fn(users.clone(), items.clone(), normalize)), what, "a tensor of shape (N, M)"
        )
        if got.shape == (5, 3):
            raise CheckFailed(
                "your scores have shape (M, N) = (items, users): transposed. Rows are users: "
                "user_emb @ item_emb.T."
            )
        if got.shape == (3,) or got.shape == (5,):
            raise CheckFailed(
                "you returned one score per row: score EVERY user against EVERY item, (N, M)."
            )
        hint = ""
        if normalize:
            close = functools.partial(same_values, got, atol=1e-5, rtol=1e-5)
            if close(users @ items.T):
                hint = "normalize=True asks for cosine similarities: L2-normalise both embeddings."
            elif close(F.normalize(users, dim=1) @ items.T) or close(
                users @ F.normalize(items, dim=1).T
            ):
                hint = "normalise BOTH the user and the item embeddings."
            elif close(F.normalize(users, dim=0) @ F.normalize(items, dim=0).T):
                hint = "normalise each row (dim=1), not each column."
        expect_close(got, want, what, hint=hint)
    # vectorised? count the torch operations on 40 users x 60 items
    u = torch.randn(40, 8, generator=gen).as_subclass(_Counting)
    it = torch.randn(60, 8, generator=gen).as_subclass(_Counting)
    _Counting.calls = 0
    got = fn(u, it, False)
    calls = _Counting.calls
    expect_close(
        _plain(got), _plain(u) @ _plain(it).T, "scores of 40 users x 60 items, normalize=False"
    )
    if calls > 20:
        raise CheckFailed(
            f"your function ran {calls} torch operations for 40 users x 60 items: a Python loop. "
            "One matrix product scores them all (and is what makes two towers fast)."
        )
