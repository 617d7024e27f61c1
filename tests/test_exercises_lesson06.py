import pytest
import torch

from cl_lessons import exercises as ex
from cl_lessons import losses, miners
from cl_lessons.exercises.lesson06 import _batch_hard, _mask_reference


def correct_batch_hard(z, labels, margin):
    d = torch.cdist(z, z)  # (B, B)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool)
    pos, neg = same & ~eye, ~same
    hardest_pos = d.masked_fill(~pos, float("-inf")).amax(1)
    hardest_neg = d.masked_fill(~neg, float("inf")).amin(1)
    valid = pos.any(1) & neg.any(1)
    return (hardest_pos - hardest_neg + margin).clamp_min(0)[valid].mean()


def correct_mask(labels):
    same = labels[:, None] == labels[None, :]
    pos = same & ~torch.eye(len(labels), dtype=torch.bool)
    return pos[:, :, None] & ~same[:, None, :]


def test_references_agree_with_the_package():
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(30, 4, generator=gen)
    labels = torch.randint(0, 5, (30,), generator=gen)
    torch.testing.assert_close(
        _batch_hard(z, labels, 0.2), losses.batch_triplet_loss(z, labels, 0.2, mining="hard")
    )
    assert torch.equal(_mask_reference(labels), miners.triplet_masks(labels))


def test_batch_hard_accepts_correct_solutions():
    assert ex.check_batch_hard(correct_batch_hard)
    assert ex.check_batch_hard(
        lambda z, y, m: losses.batch_triplet_loss(z, y, margin=m, mining="hard")
    )


def _wrong(**flags):
    return lambda z, y, m: _batch_hard(z, y, m, **flags)


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (_wrong(self_pos=True), "its own positive"),
        (_wrong(pos_min=True), "farthest"),
        (_wrong(neg_max=True), "closest"),
        (_wrong(neg_any=True), "another label"),
        (_wrong(neg_self=True), "anchor itself"),
        (_wrong(all_anchors=True), "must not count as zeros"),
        (lambda z, y, m: losses.batch_triplet_loss(z, y, m, mining="all"), "differ"),
        (lambda z, y, m: torch.tensor(_batch_hard(z, y, m).item()), "no gradient"),
        (lambda z, y, m: None, "return"),
    ],
    ids=["self", "pos_min", "neg_max", "neg_any", "neg_self", "mean", "batch_all", "item", "none"],
)
def test_batch_hard_rejects_typical_mistakes(fn, hint):
    result = ex.check_batch_hard(fn)
    assert not result
    assert hint in result.message, result.message


def test_mask_accepts_correct_solutions():
    assert ex.check_valid_triplet_mask(correct_mask)
    assert ex.check_valid_triplet_mask(miners.triplet_masks)


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (
            lambda y: (
                (y[:, None] == y[None, :])[:, :, None] & (y[:, None] != y[None, :])[:, None, :]
            ),
            "own positive",
        ),
        (lambda y: correct_mask(y).transpose(1, 2), "[a, n, p]"),
        (lambda y: correct_mask(y).float(), "boolean"),
        (lambda y: correct_mask(y)[0], "shape"),
        (
            lambda y: (
                correct_mask(y)
                | (y[:, None, None] != y[None, None, :])
                & torch.ones(len(y), len(y), len(y), dtype=torch.bool).tril(-1)
            ),
            "not a valid triplet",
        ),
        (lambda y: correct_mask(y) & (torch.arange(len(y)) > 0)[None, None, :], "should be True"),
    ],
    ids=["diagonal", "axes", "float", "shape", "extra", "missing"],
)
def test_mask_rejects_typical_mistakes(fn, hint):
    result = ex.check_valid_triplet_mask(fn)
    assert not result
    assert hint in result.message, result.message
