"""grad_cache_step: the parameter gradients of the full-batch step, one micro-batch at a time."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import cl_lessons as cl
from cl_lessons.scale import grad_cache_step, info_nce_chunked


def _data(n=24, d=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    return x + 0.2 * torch.randn(n, d, generator=g), x + 0.2 * torch.randn(n, d, generator=g)


def _full_step(encoder, x1, x2, loss_fn):
    encoder.zero_grad()
    loss = loss_fn(encoder(x1), encoder(x2))
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in encoder.parameters()]


def _cached_step(encoder, x1, x2, loss_fn, mb):
    encoder.zero_grad()
    loss = grad_cache_step(encoder, x1, x2, loss_fn, mb)
    return loss, [p.grad.clone() for p in encoder.parameters()]


@pytest.mark.parametrize("micro_batch", [1, 5, 24, 100])
@pytest.mark.parametrize(
    "loss_fn",
    [
        lambda a, b: cl.losses.info_nce(a, b, 0.2),
        lambda a, b: info_nce_chunked(a, b, 0.2, 7),
    ],
)
def test_gradients_equal_the_full_batch_step(micro_batch, loss_fn):
    torch.manual_seed(0)
    encoder = cl.models.MLPEncoder(10, [32, 16], 8)
    x1, x2 = _data()
    loss, grads = _full_step(encoder, x1, x2, loss_fn)
    got_loss, got = _cached_step(encoder, x1, x2, loss_fn, micro_batch)
    torch.testing.assert_close(got_loss, loss, rtol=1e-5, atol=1e-5)
    for a, b in zip(got, grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert not got_loss.requires_grad


def test_batch_norm_breaks_the_equality_as_documented():
    torch.manual_seed(0)
    encoder = cl.models.MLPEncoder(10, [32], 8, batch_norm=True)
    x1, x2 = _data()
    loss_fn = lambda a, b: cl.losses.info_nce(a, b, 0.2)  # noqa: E731
    _, grads = _full_step(encoder, x1, x2, loss_fn)  # BN statistics of 24 samples
    _, got = _cached_step(encoder, x1, x2, loss_fn, 4)  # of 4 samples
    assert max(float((a - b).abs().max()) for a, b in zip(got, grads, strict=True)) > 1e-3
    encoder.eval()  # with frozen statistics the equality is back
    _, grads = _full_step(encoder, x1, x2, loss_fn)
    _, got = _cached_step(encoder, x1, x2, loss_fn, 4)
    for a, b in zip(got, grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_dropout_masks_are_replayed():
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Linear(10, 32), nn.Dropout(0.5), nn.Linear(32, 8))
    x1, x2 = _data()
    loss_fn = lambda a, b: cl.losses.info_nce(a, b, 0.2)  # noqa: E731
    torch.manual_seed(5)
    _, got = _cached_step(encoder, x1, x2, loss_fn, 24)  # one micro-batch per view
    torch.manual_seed(5)  # the same draws, in the same order, without the cache
    _, want = _full_step(encoder, x1, x2, loss_fn)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_bad_arguments_name_themselves():
    enc = nn.Linear(10, 8)
    x1, x2 = _data()
    loss_fn = cl.losses.info_nce
    for args, name in [
        ((lambda x: x, x1, x2, loss_fn, 4), "encoder"),
        ((enc, x1, x2, "info_nce", 4), "loss_fn"),
        ((enc, x1[:5], x2, loss_fn, 4), "x1 and x2"),
        ((enc, x1[:0], x2[:0], loss_fn, 4), "x1"),
        ((enc, x1, x2, loss_fn, 0), "micro_batch"),
        ((enc, x1, x2, loss_fn, 2.5), "micro_batch"),
    ]:
        with pytest.raises(ValueError, match=name):
            grad_cache_step(*args)
