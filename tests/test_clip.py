"""CLIP's loss (losses/clip.py) and the dual encoder (models/multimodal.py)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import cl_lessons as cl
from cl_lessons.losses import clip_loss, info_nce
from cl_lessons.models import BagOfWordsEncoder, DualEncoder, GRUTextEncoder, MLPEncoder


def looped_clip(img, txt, scale):
    """The loss written out pair by pair, as in CLIP's Fig. 3."""
    n = len(img)
    u = [x / x.norm() for x in img]
    v = [y / y.norm() for y in txt]
    total = 0.0
    for k in range(n):  # image k picks its caption among the N
        s = [scale * float(u[k] @ v[j]) for j in range(n)]
        total += 0.5 * (math.log(sum(math.exp(x) for x in s)) - s[k]) / n
    for k in range(n):  # caption k picks its image among the N
        s = [scale * float(v[k] @ u[j]) for j in range(n)]
        total += 0.5 * (math.log(sum(math.exp(x) for x in s)) - s[k]) / n
    return total


@pytest.mark.parametrize("n", [1, 2, 7])
@pytest.mark.parametrize("d", [2, 16])
@pytest.mark.parametrize("scale", [1.0, 1 / 0.07, 100.0])
def test_matches_looped_reference(n, d, scale):
    gen = torch.Generator().manual_seed(n * d)
    img = torch.randn(n, d, generator=gen, dtype=torch.float64) * 3
    txt = torch.randn(n, d, generator=gen, dtype=torch.float64)
    got = clip_loss(img, txt, scale)
    assert got.dtype == torch.float64
    assert float(got) == pytest.approx(looped_clip(img, txt, scale), rel=1e-9, abs=1e-12)


def test_closed_form_on_two_orthogonal_pairs():
    # matching pairs identical, the two pairs orthogonal: each row is softmax([s, 0])
    img = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    s = 3.0
    want = math.log(1 + math.exp(-s))
    assert float(clip_loss(img, img.clone(), s)) == pytest.approx(want, rel=1e-12)


def test_is_symmetric_and_not_one_directional():
    gen = torch.Generator().manual_seed(0)
    img, txt = torch.randn(6, 5, generator=gen), torch.randn(6, 5, generator=gen)
    torch.testing.assert_close(clip_loss(img, txt, 5.0), clip_loss(txt, img, 5.0))
    s = 5.0 * F.normalize(img, dim=1) @ F.normalize(txt, dim=1).T
    i2t = F.cross_entropy(s, torch.arange(6))
    t2i = F.cross_entropy(s.T, torch.arange(6))
    assert abs(float(i2t - t2i)) > 1e-3  # the two directions differ on this batch
    torch.testing.assert_close(clip_loss(img, txt, 5.0), (i2t + t2i) / 2)


@pytest.mark.parametrize("n", [2, 5])
def test_against_info_nce_pieces(n):
    """NT-Xent of the 2N views = CLIP's cross-modal term + the cost of the same-modality
    negatives: per anchor, log(cross + intra) - pos = (log(cross) - pos) + log(1 + intra/cross)."""
    gen = torch.Generator().manual_seed(n)
    img = torch.randn(n, 4, generator=gen, dtype=torch.float64)
    txt = torch.randn(n, 4, generator=gen, dtype=torch.float64)
    t = 0.5
    z = F.normalize(torch.cat([img, txt]), dim=1)  # (2N, 4)
    e = torch.exp(z @ z.T / t)  # (2N, 2N)
    same_modality = torch.block_diag(torch.ones(n, n), torch.ones(n, n)).bool()
    eye = torch.eye(2 * n, dtype=torch.bool)
    intra = torch.where(same_modality & ~eye, e, 0.0).sum(1)  # (2N,)
    cross = torch.where(~same_modality, e, 0.0).sum(1)  # (2N,)
    extra = torch.log1p(intra / cross).mean()
    torch.testing.assert_close(info_nce(img, txt, t), clip_loss(img, txt, 1 / t) + extra)
    assert float(extra) > 0  # NT-Xent always pays for its extra negatives


def test_gradients_reach_embeddings_and_scale():
    gen = torch.Generator().manual_seed(3)
    img = torch.randn(4, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    txt = torch.randn(4, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    scale = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(clip_loss, (img, txt, scale))


def test_low_precision_is_computed_in_float32():
    x = torch.randn(3, 4).half()
    assert clip_loss(x, x.clone(), 10.0).dtype == torch.float32


@pytest.mark.parametrize(
    ("img", "txt", "scale", "match"),
    [
        (torch.zeros(3, 4), torch.zeros(4, 4), 1.0, "same shape"),
        (torch.zeros(3), torch.zeros(3), 1.0, "2-D"),
        (torch.zeros(0, 4), torch.zeros(0, 4), 1.0, "empty"),
        (torch.full((2, 2), math.nan), torch.ones(2, 2), 1.0, "NaN"),
        (torch.ones(2, 2), torch.ones(2, 2), 0.0, "logit_scale"),
        (torch.ones(2, 2), torch.ones(2, 2), -1.0, "logit_scale"),
        (torch.ones(2, 2), torch.ones(2, 2), math.inf, "logit_scale"),
        (torch.ones(2, 2), torch.ones(2, 2), torch.ones(2), "logit_scale"),
        (torch.ones(2, 2), torch.ones(2, 2), torch.tensor(-2.0), "logit_scale"),
        (torch.ones(2, 2, dtype=torch.long), torch.ones(2, 2), 1.0, "image_emb"),
        ([[1.0, 2.0]], torch.ones(1, 2), 1.0, "image_emb"),
    ],
)
def test_bad_input_is_loud(img, txt, scale, match):
    with pytest.raises(ValueError, match=match):
        clip_loss(img, txt, scale)


# ----------------------------------------------------------------------------- the models


def tiny_dual(text="gru", vocab=20):
    cl.seed_everything(0)
    image = MLPEncoder(16, [8], 8)
    tower = GRUTextEncoder(vocab, 8, 4, 6) if text == "gru" else BagOfWordsEncoder(vocab, 8, 4)
    return DualEncoder(image, tower, dim=5)


def test_dual_encoder_outputs_unit_vectors_and_clip_scale():
    model = tiny_dual()
    assert float(model.logit_scale.detach()) == pytest.approx(1 / 0.07, rel=1e-6)
    zi, zt = model(torch.randn(3, 16), torch.tensor([[2, 3, 0], [4, 0, 0], [5, 6, 7]]))
    assert zi.shape == zt.shape == (3, 5)
    torch.testing.assert_close(zi.norm(dim=1), torch.ones(3))
    torch.testing.assert_close(zt.norm(dim=1), torch.ones(3))


def test_logit_scale_is_learned_and_clamped_at_100():
    model = tiny_dual()
    loss = clip_loss(*model(torch.randn(4, 16), torch.randint(1, 20, (4, 3))), model.logit_scale)
    loss.backward()
    assert model.log_scale.grad is not None and float(model.log_scale.grad) != 0
    with torch.no_grad():
        model.log_scale.fill_(math.log(500.0))
    assert float(model.logit_scale.detach()) == 100.0
    with pytest.raises(ValueError, match="init_scale"):
        DualEncoder(MLPEncoder(4, [], 4), BagOfWordsEncoder(5, 4), 3, init_scale=200.0)


def test_padding_is_ignored_and_word_order_matters_only_to_the_gru():
    for kind in ("bow", "gru"):
        enc = tiny_dual(kind).text_encoder.eval()
        short, padded = torch.tensor([[3, 4, 5]]), torch.tensor([[3, 4, 5, 0, 0]])
        torch.testing.assert_close(enc(short), enc(padded))
        swapped = enc(torch.tensor([[5, 4, 3]]))
        differs = not torch.allclose(enc(short), swapped, atol=1e-6)
        assert differs == (kind == "gru"), kind


@pytest.mark.parametrize(
    ("tokens", "match"),
    [
        (torch.tensor([[1.0, 2.0]]), "integer"),
        (torch.tensor([1, 2]), "2-D"),
        (torch.tensor([[1, 25]]), r"\[0, 19\]"),
        (torch.tensor([[-1, 2]]), r"\[0, 19\]"),
    ],
)
def test_text_encoders_reject_bad_tokens(tokens, match):
    for kind in ("bow", "gru"):
        with pytest.raises(ValueError, match=match):
            tiny_dual(kind).text_encoder(tokens)


def test_dual_encoder_rejects_bad_arguments():
    with pytest.raises(ValueError, match="image_encoder"):
        DualEncoder("cnn", BagOfWordsEncoder(5, 4), 3)
    with pytest.raises(ValueError, match="dim"):
        DualEncoder(MLPEncoder(4, [], 4), BagOfWordsEncoder(5, 4), 0)
