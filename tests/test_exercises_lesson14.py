"""Lesson 14's checks accept the right answers and name each typical mistake."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import cl_lessons as cl
from cl_lessons.exercises import check_clip_loss, check_zero_shot_predict


def right_clip(img, txt, scale):
    img, txt = F.normalize(img, dim=1), F.normalize(txt, dim=1)
    s = scale * img @ txt.T  # (N, N)
    y = torch.arange(len(img))
    return (F.cross_entropy(s, y) + F.cross_entropy(s.T, y)) / 2


def _ce_both(img, txt, scale, normalise=True):
    if normalise:
        img, txt = F.normalize(img, dim=1), F.normalize(txt, dim=1)
    s = scale * img @ txt.T
    y = torch.arange(len(img))
    return F.cross_entropy(s, y), F.cross_entropy(s.T, y)


CLIP_MISTAKES = {
    "image->text direction": lambda i, t, s: _ce_both(i, t, s)[0],
    "text->image direction": lambda i, t, s: _ce_both(i, t, s)[1],
    "their mean": lambda i, t, s: sum(_ce_both(i, t, s)),
    "not normalised": lambda i, t, s: sum(_ce_both(i, t, s, False)) / 2,
    "multiply": lambda i, t, s: sum(_ce_both(i, t, 1 / s)) / 2,
    "no effect": lambda i, t, s: sum(_ce_both(i, t, 1.0)) / 2,
    "NT-Xent": lambda i, t, s: cl.losses.info_nce(i, t, 1 / float(s)),
    "no gradient": lambda i, t, s: right_clip(i, t, s).item(),
    "scalar": lambda i, t, s: torch.stack(_ce_both(i, t, s)),
}


def test_clip_loss_right_answers_pass():
    assert check_clip_loss(right_clip)
    assert check_clip_loss(cl.losses.clip_loss)


@pytest.mark.parametrize("hint", sorted(CLIP_MISTAKES))
def test_clip_loss_mistakes_are_named(hint):
    result = check_clip_loss(CLIP_MISTAKES[hint])
    assert not result and hint in result.message, result.message


def right_zero_shot(img, txt):
    cls = F.normalize(F.normalize(txt, dim=-1).mean(1), dim=1)  # (C, D)
    return (F.normalize(img, dim=1) @ cls.T).argmax(1)


ZERO_SHOT_MISTAKES = {
    "argmax": lambda i, t: (i @ F.normalize(F.normalize(t, dim=-1).mean(1), dim=1).T).argmin(1),
    "normalise each one first": lambda i, t: (i @ F.normalize(t.mean(1), dim=1).T).argmax(1),
    "normalise the class means again": lambda i, t: (i @ F.normalize(t, dim=-1).mean(1).T).argmax(
        1
    ),
    "only the first template": lambda i, t: (i @ F.normalize(t[:, 0], dim=1).T).argmax(1),
    "not over the images": lambda i, t: (i @ F.normalize(t.mean(1), dim=1).T).argmax(0),
    "not scores": lambda i, t: i @ F.normalize(t.mean(1), dim=1).T,
    "wrong class": lambda i, t: torch.zeros(len(i), dtype=torch.long),
}


def test_zero_shot_right_answers_pass():
    assert check_zero_shot_predict(right_zero_shot)
    # unnormalised images give the same argmax: not a mistake; float indices are accepted
    assert check_zero_shot_predict(
        lambda i, t: (i @ F.normalize(F.normalize(t, dim=-1).mean(1), dim=1).T).argmax(1).double()
    )


@pytest.mark.parametrize("hint", sorted(ZERO_SHOT_MISTAKES))
def test_zero_shot_mistakes_are_named(hint):
    result = check_zero_shot_predict(ZERO_SHOT_MISTAKES[hint])
    assert not result and hint in result.message, result.message


def test_the_zero_shot_mistakes_change_the_predictions_of_the_check_data():
    from cl_lessons.exercises.lesson14 import _ZERO_SHOT_HINTS, _predict

    gen = torch.Generator().manual_seed(0)
    img, txt = torch.randn(30, 6, generator=gen), torch.randn(4, 3, 6, generator=gen)
    right = _predict(img, txt)
    torch.testing.assert_close(right, right_zero_shot(img, txt))
    assert all(not torch.equal(_predict(img, txt, how), right) for how in _ZERO_SHOT_HINTS)
