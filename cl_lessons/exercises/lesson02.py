"""Checks for lesson 02 (Siamese networks): shared weights, the L1 head, the threshold rule."""

from __future__ import annotations

import math

import torch
from torch import nn

from cl_lessons.exercises._core import (
    CheckFailed,
    describe,
    exercise_check,
    expect_close,
    learner_code,
    returned_tensor,
    same_values,
)
from cl_lessons.models import MLPEncoder, count_parameters

__all__ = ["check_l1_head", "check_siamese_forward", "check_verification_accuracy"]


def _encoder(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return MLPEncoder(4, 8, 3)


@exercise_check("A Siamese network shares one encoder")
def check_siamese_forward(siamese_cls) -> None:
    """Check ``siamese_cls(encoder)`` builds a module whose ``forward(x1, x2)`` returns
    ``(encoder(x1), encoder(x2))`` with **one** set of weights.

    Args:
        siamese_cls: the learner's ``nn.Module`` subclass, built as ``siamese_cls(encoder)``.
    """
    with torch.random.fork_rng(devices=[]):  # the learner's global random state stays as it was
        _check_siamese(siamese_cls)


def _check_siamese(siamese_cls) -> None:
    encoder = _encoder(0)
    n_one = count_parameters(encoder)  # before the learner's class can freeze it
    net = siamese_cls(encoder)
    if not isinstance(net, nn.Module):
        raise CheckFailed(f"siamese_cls(encoder) must build an nn.Module, got {type(net).__name__}")
    forward = learner_code(net)  # what the learner's forward raises is theirs
    gen = torch.Generator().manual_seed(1)
    x1, x2 = torch.randn(5, 4, generator=gen), torch.randn(5, 4, generator=gen)
    z1, z2 = _pair(forward(x1.clone(), x2.clone()))
    _check_parameter_count(net, encoder, n_one)
    with torch.no_grad():
        e1, e2 = encoder(x1), encoder(x2)
    if same_values(z2, e1, atol=1e-8, rtol=1e-5):
        raise CheckFailed("z2 equals encoder(x1): embed x2 for the second output.")
    expect_close(z1, e1, "z1 for a batch of 5 pairs", hint="z1 must be encoder(x1).")
    expect_close(z2, e2, "z2 for a batch of 5 pairs", hint="z2 must be encoder(x2).")
    # gradients from both branches reach the shared weights
    encoder.zero_grad(set_to_none=True)
    z1, z2 = _pair(forward(x1, x2))
    for name, z in (("z1", z1), ("z2", z2)):
        if not isinstance(z, torch.Tensor):
            raise CheckFailed(
                f"{name} is {describe(z)}: return the encoder's output tensors themselves, so "
                "that gradients flow back to the encoder."
            )
    if not (z1.requires_grad or z2.requires_grad):
        raise CheckFailed(
            "the embeddings carry no gradient: do not wrap forward in torch.no_grad() (or "
            "detach both outputs)."
        )
    for name, z in (("z1", z1), ("z2", z2)):
        if not z.requires_grad:
            raise CheckFailed(
                f"{name} carries no gradient but the other embedding does: that branch was "
                "detached (or computed under no_grad). Both branches must send their gradient "
                "to the shared encoder: return encoder(x1), encoder(x2) as they are."
            )
    returned_tensor(z1, "z1", "a float tensor")  # no complex or meta embeddings past here
    returned_tensor(z2, "z2", "a float tensor")
    (z1.sum() + 2 * z2.sum()).backward()
    w = next(encoder.parameters())
    if w.grad is None:
        raise CheckFailed(
            "no gradient reached the encoder's weights: compute z1 and z2 with the encoder "
            "you were given (do not detach)."
        )
    ref = _encoder(0)
    (ref(x1).sum() + 2 * ref(x2).sum()).backward()
    expect_close(
        w.grad,
        next(ref.parameters()).grad,
        "the gradient of the encoder's first weight",
        hint="both branches must add their gradient to the same weights (do not detach).",
    )


def _check_parameter_count(net: nn.Module, encoder: nn.Module, n_one: int) -> None:
    """One encoder and nothing else: tell a second encoder from an extra (shared) layer."""
    n_net = count_parameters(net)
    if n_net == n_one:
        return
    extra = n_net - n_one
    ids = {id(p) for p in net.parameters()}
    uses_encoder = all(id(p) in ids for p in encoder.parameters())
    if extra < 0:
        raise CheckFailed(
            f"your network has {n_net} trainable parameters but the encoder alone has {n_one}: "
            "use the encoder you were given, whole and trainable (no requires_grad_(False))."
        )
    if extra % n_one == 0 or not uses_encoder:
        raise CheckFailed(
            f"your network has {n_net} parameters but the encoder alone has {n_one}: you built "
            "two encoders (a second one, or a copy). A Siamese network keeps ONE encoder and "
            "calls it twice."
        )
    raise CheckFailed(
        f"your network has {extra} parameters besides the encoder's {n_one}: an extra layer "
        "(even one shared by both branches) changes the embeddings. Here forward(x1, x2) "
        "returns exactly (encoder(x1), encoder(x2)); a head goes on top of them later, outside "
        "this network."
    )


def _pair(out) -> tuple:
    """The two embeddings a Siamese forward returns, or a hint."""
    if isinstance(out, torch.Tensor) or not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(
            "forward(x1, x2) must return the pair (z1, z2): the two embeddings, not a distance "
            f"or a single tensor (got {describe(out)})."
        )
    return out[0], out[1]


@exercise_check("Koch et al.'s L1 head: p = sigmoid(w . |z1 - z2| + b)")
def check_l1_head(fn) -> None:
    """Check ``fn(z1, z2, w, b)`` returns the probability ``sigmoid(|z1 - z2| @ w + b)``.

    Args:
        fn: the learner's function taking ``z1, z2`` of shape ``(N, D)``, ``w`` of shape ``(D,)``
            and a float ``b``, returning ``(N,)`` probabilities.
    """
    z1 = torch.tensor([[1.0, 2.0, 0.0], [0.0, 0.0, 3.0]])
    z2 = torch.tensor([[3.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    w = torch.tensor([-1.0, 0.5, -0.25])
    b = 1.0
    want = torch.sigmoid((z1 - z2).abs() @ w + b)  # (2,)
    what = "probabilities for two pairs"
    got = returned_tensor(fn(z1.clone(), z2.clone(), w.clone(), b), what, "a tensor of shape (N,)")
    if got.ndim == 0:
        raise CheckFailed("you returned one number: keep one probability per pair, shape (N,).")
    if got.shape == (2, 3):
        raise CheckFailed("you returned one value per feature: take the dot product with w.")
    mistakes = [
        ((z1 - z2).abs() @ w + b, "These are logits: apply the sigmoid to get probabilities."),
        (
            torch.sigmoid((z1 - z2) @ w + b),
            "Take the absolute value |z1 - z2|: the head must not care which input is first.",
        ),
        (
            torch.sigmoid((z1 - z2) ** 2 @ w + b),
            "Koch et al. use the L1 component-wise distance |z1 - z2|, not its square.",
        ),
        (torch.sigmoid((z1 - z2).abs() @ w - b), "Add the bias b, do not subtract it."),
    ]
    hint = next((msg for value, msg in mistakes if same_values(got, value, rtol=1e-5)), "")
    expect_close(got, want, what, hint=hint)
    gen = torch.Generator().manual_seed(3)
    a, c = torch.randn(7, 5, generator=gen), torch.randn(7, 5, generator=gen)
    w2 = torch.randn(5, generator=gen)
    expect_close(
        fn(a.clone(), c.clone(), w2.clone(), -0.3),
        torch.sigmoid((a - c).abs() @ w2 - 0.3),
        "probabilities for 7 random pairs",
    )
    expect_close(
        fn(c.clone(), a.clone(), w2.clone(), -0.3),
        torch.sigmoid((a - c).abs() @ w2 - 0.3),
        "probabilities with the two inputs swapped",
        hint="The head must be symmetric: p(x1, x2) = p(x2, x1).",
    )


def _number(got, what: str) -> float:
    """The accuracy a learner returned as a finite float (a number or a one-element tensor)."""
    if got is None:
        raise CheckFailed("your function returned None; did you forget `return`?")
    if not isinstance(got, (int, float)):  # a tensor, an array, or not a number at all
        t = returned_tensor(got, what, "one number (the accuracy)")
        if t.numel() != 1:
            raise CheckFailed(
                f"return one number (the accuracy), got a tensor of shape {tuple(t.shape)}."
            )
        got = t.reshape(()).item()
    got = float(got)
    if not math.isfinite(got):
        raise CheckFailed(f"{what}: your accuracy is {got}; it must be a number in [0, 1].")
    return got


@exercise_check("Verification accuracy at a distance threshold")
def check_verification_accuracy(fn) -> None:
    """Check ``fn(distances, same, threshold)`` returns the share of pairs classified correctly
    when a pair is called "same" iff ``distance <= threshold``.

    Args:
        fn: the learner's function taking ``distances`` ``(N,)`` (float), ``same`` ``(N,)``
            (1 = same class, 0 = different) and a float threshold; returns a float in [0, 1].
    """
    d = torch.tensor([0.2, 0.5, 0.9, 1.4, 0.5, 2.0, 0.1])
    same = torch.tensor([1, 1, 0, 0, 1, 1, 0])
    t = 0.5
    # "same" where d <= 0.5: [1, 1, 0, 0, 1, 0, 1]; right: [1, 1, 1, 1, 1, 0, 0] -> 5/7.
    # Mistakes: d < t -> 3/7; d >= t -> 4/7; d > t (or labels read backwards) -> 2/7.
    want = 5 / 7
    got = _number(fn(d.clone(), same.clone(), t), "accuracy for 7 pairs")
    if abs(got - want) < 1e-6:
        pass
    elif abs(got - 2 / 7) < 1e-6 or abs(got - 4 / 7) < 1e-6:
        raise CheckFailed(
            "the direction is reversed: a SMALL distance means 'same', so predict same where "
            "distance <= threshold, and compare with same == 1."
        )
    elif abs(got - 3 / 7) < 1e-6:
        raise CheckFailed(
            "check the pairs whose distance equals the threshold: the rule is distance <= "
            "threshold (inclusive), the convention of cl.metrics."
        )
    elif abs(got - round(got)) < 1e-6 and got > 1:
        raise CheckFailed("you returned a count of correct pairs: divide by the number of pairs.")
    else:
        raise CheckFailed(f"accuracy for 7 pairs: expected {want:.4f}, got {got:.4f}.")
    # a second case: threshold between the classes gives a perfect score
    d2 = torch.tensor([0.1, 0.3, 1.2, 1.5])
    s2 = torch.tensor([1, 1, 0, 0])
    got2 = _number(fn(d2.clone(), s2.clone(), 1.0), "accuracy for 4 pairs")
    if abs(got2 - 1.0) > 1e-6:
        raise CheckFailed(f"with threshold 1.0 these 4 pairs are all right; you gave {got2:.3f}.")
