"""Lesson 13's checks accept right answers (the package's too) and name the usual mistakes."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from cl_lessons import exercises as ex
from cl_lessons.losses import info_nce
from cl_lessons.scale import info_nce_chunked


def chunked(z1, z2, t, chunk, normalize=True, exclude_self=True):
    z = torch.cat([z1, z2])
    if normalize:
        z = F.normalize(z, dim=1)
    n2 = len(z)
    partner = torch.arange(n2).roll(n2 // 2)
    out = []
    for s in range(0, n2, chunk):
        logits = z[s : s + chunk] @ z.T / t
        rows = torch.arange(len(logits))
        if exclude_self:
            logits[rows, rows + s] = -math.inf
        out.append(torch.logsumexp(logits, 1) - logits[rows, partner[s : s + chunk]])
    return torch.cat(out).mean()


def test_chunked_accepts_right_answers():
    assert ex.check_chunked_info_nce(chunked)
    assert ex.check_chunked_info_nce(lambda a, b, t, c: info_nce_chunked(a, b, t, c))
    assert ex.check_chunked_info_nce(lambda a, b, t, c: chunked(a, b, t, c).item())


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (lambda a, b, t, c: info_nce(a, b, t), "as large as the whole"),
        (lambda a, b, t, c: chunked(a, b, t, 10**6), "as large as the whole"),
        (lambda a, b, t, c: chunked(a, b, t, c, normalize=False), "L2-normalise"),
        (lambda a, b, t, c: chunked(a, b, t, c, exclude_self=False), "-inf"),
        (lambda a, b, t, c: chunked(a, b, t, c) * 2, "logsumexp"),
        (lambda a, b, t, c: torch.zeros(3), "one number"),
        (lambda a, b, t, c: None, "return"),
    ],
)
def test_chunked_names_the_mistake(fn, hint):
    result = ex.check_chunked_info_nce(fn)
    assert not result
    assert hint in result.message, result.message


def right_gather(grads, rank):
    rows = len(grads[0]) // len(grads)
    return torch.stack(grads).sum(0)[rank * rows : (rank + 1) * rows]


def test_gather_backward_accepts_right_answers():
    assert ex.check_gather_backward(right_gather)
    assert ex.check_gather_backward(lambda g, r: sum(g).chunk(len(g))[r])


@pytest.mark.parametrize(
    ("fn", "hint"),
    [
        (lambda g, r: g[r].chunk(len(g))[r], "only this process's own gradient"),
        (lambda g, r: (sum(g) / len(g)).chunk(len(g))[r], "you averaged"),
        (lambda g, r: sum(g).chunk(len(g))[0], "this rank's rows"),
        (lambda g, r: sum(g), "shape"),
        (lambda g, r: None, "return"),
    ],
)
def test_gather_backward_names_the_mistake(fn, hint):
    result = ex.check_gather_backward(fn)
    assert not result
    assert hint in result.message, result.message
