"""Tests for cl_lessons.models: shapes, weight sharing, heads, fusions, two-tower scoring."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cl_lessons.models import (
    ConvEncoder,
    DualStreamNetwork,
    MLPEncoder,
    ProjectionHead,
    PseudoSiameseNetwork,
    SiameseClassifier,
    SiameseNetwork,
    TwoTower,
    count_parameters,
    embedding_dim,
)


def _mlp(in_dim=6, out_dim=4, seed=0):
    torch.manual_seed(seed)
    return MLPEncoder(in_dim, hidden=8, out_dim=out_dim)


# ------------------------------------------------------------------------------- encoders
@pytest.mark.parametrize("size", [8, 16, 28, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_conv_encoder_sizes(size, channels):
    torch.manual_seed(0)
    enc = ConvEncoder(channels, size, out_dim=12, width=4)
    x = torch.rand(5, channels, size, size)
    z = enc(x)
    assert z.shape == (5, 12)
    assert torch.isfinite(z).all()
    z.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in enc.parameters())


@pytest.mark.parametrize("size", [8, 16])
def test_conv_encoder_accepts_flat_and_3d_grey_images(size):
    torch.manual_seed(0)
    enc = ConvEncoder(1, size, out_dim=6, width=4).eval()
    x = torch.rand(3, 1, size, size)
    ref = enc(x)
    torch.testing.assert_close(enc(x.reshape(3, -1)), ref)
    torch.testing.assert_close(enc(x.squeeze(1)), ref)


def test_conv_encoder_normalize_gives_unit_vectors():
    enc = ConvEncoder(1, 16, out_dim=8, width=4, normalize=True)
    z = enc(torch.rand(4, 1, 16, 16))
    torch.testing.assert_close(z.norm(dim=1), torch.ones(4))


def test_conv_encoder_rejects_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="image_size"):
        ConvEncoder(1, 4)
    with pytest.raises(ValueError, match="out_dim"):
        ConvEncoder(1, 16, out_dim=0)
    with pytest.raises(ValueError, match="dropout"):
        ConvEncoder(1, 16, dropout=1.5)
    enc = ConvEncoder(1, 16, out_dim=4, width=4)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 16, 16\)"):
        enc(torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match="floating-point"):
        enc(torch.zeros(2, 1, 16, 16, dtype=torch.long))


def test_mlp_encoder_flattens_and_checks_in_dim():
    torch.manual_seed(0)
    enc = MLPEncoder(16, hidden=(8, 8), out_dim=3)
    x = torch.rand(4, 1, 4, 4)
    torch.testing.assert_close(enc(x), enc(x.reshape(4, 16)))
    assert enc(x).shape == (4, 3)
    with pytest.raises(ValueError, match="in_dim=16"):
        enc(torch.rand(4, 15))
    linear = MLPEncoder(5, hidden=(), out_dim=2)
    assert sum(isinstance(m, nn.Linear) for m in linear.modules()) == 1
    unit = MLPEncoder(5, out_dim=3, normalize=True)
    torch.testing.assert_close(unit(torch.rand(6, 5)).norm(dim=1), torch.ones(6))


def test_projection_head_shapes_and_validation():
    head = ProjectionHead(10, out_dim=4, hidden_dim=7)
    assert head(torch.rand(3, 10)).shape == (3, 4)
    assert [m.out_features for m in head.modules() if isinstance(m, nn.Linear)] == [7, 4]
    with pytest.raises(ValueError, match=r"h must have shape \(N, 10\)"):
        head(torch.rand(3, 9))


def test_embedding_dim_reads_out_dim_and_sequential():
    assert embedding_dim(MLPEncoder(4, out_dim=7)) == 7
    assert embedding_dim(nn.Sequential(MLPEncoder(4, out_dim=7), ProjectionHead(7, 3))) == 3
    assert embedding_dim(nn.Sequential(nn.Linear(4, 9), nn.ReLU())) == 9
    with pytest.raises(ValueError, match="out_dim"):
        embedding_dim(nn.ReLU())


# ------------------------------------------------------------------------------- Siamese
def test_siamese_branches_are_the_same_parameters():
    enc = _mlp()
    net = SiameseNetwork(enc)
    assert [id(p) for p in net.parameters()] == [id(p) for p in enc.parameters()]
    assert count_parameters(net) == count_parameters(enc)
    x1, x2 = torch.rand(5, 6), torch.rand(5, 6)
    z1, z2 = net(x1, x2)
    torch.testing.assert_close(z1, enc(x1))
    torch.testing.assert_close(z2, enc(x2))
    torch.testing.assert_close(net.embed(x1), enc(x1))
    assert net.out_dim == 4


def test_siamese_gradients_of_both_branches_accumulate():
    enc = _mlp()
    net = SiameseNetwork(enc)
    x1, x2 = torch.rand(5, 6), torch.rand(5, 6)
    w = torch.randn(4)
    # gradient of each branch alone
    grads = []
    for x in (x1, x2):
        enc.zero_grad()
        (enc(x) @ w).sum().backward()
        grads.append([p.grad.clone() for p in enc.parameters()])
    enc.zero_grad()
    z1, z2 = net(x1, x2)
    ((z1 @ w).sum() + (z2 @ w).sum()).backward()
    for p, g1, g2 in zip(enc.parameters(), *grads, strict=True):
        torch.testing.assert_close(p.grad, g1 + g2)
        assert not torch.allclose(g1, torch.zeros_like(g1))


def test_siamese_rejects_mismatched_batches():
    with pytest.raises(ValueError, match="same number of samples"):
        SiameseNetwork(_mlp())(torch.rand(3, 6), torch.rand(4, 6))
    with pytest.raises(ValueError, match=r"nn\.Module"):
        SiameseNetwork(lambda x: x)


# ------------------------------------------------------------------------------- pseudo-Siamese
def test_pseudo_siamese_has_twice_the_parameters_and_no_sharing():
    enc = _mlp()
    pseudo = PseudoSiameseNetwork.from_encoder(enc)
    assert count_parameters(pseudo) == 2 * count_parameters(SiameseNetwork(enc))
    ids_a = {id(p) for p in pseudo.encoder_a.parameters()}
    assert not ids_a & {id(p) for p in pseudo.encoder_b.parameters()}
    assert not ids_a & {id(p) for p in enc.parameters()}
    x = torch.rand(3, 6)
    torch.testing.assert_close(pseudo.embed(x, "a"), pseudo.embed(x, "b"))  # same start


def test_pseudo_siamese_rejects_shared_encoders():
    enc = _mlp()
    with pytest.raises(ValueError, match="share parameters"):
        PseudoSiameseNetwork(enc, enc)
    with pytest.raises(ValueError, match="share parameters"):
        PseudoSiameseNetwork(enc, nn.Sequential(enc))
    with pytest.raises(ValueError, match="tower"):
        PseudoSiameseNetwork.from_encoder(enc).embed(torch.rand(2, 6), tower="c")


def test_pseudo_siamese_towers_diverge_in_training_siamese_does_not():
    torch.manual_seed(0)
    x1, x2 = torch.rand(32, 6), torch.rand(32, 6)
    y = (torch.arange(32) % 2).float()

    def train(net):
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        for _ in range(5):
            z1, z2 = net(x1, x2)
            d2 = ((z1 - z2) ** 2).sum(1)
            loss = (y * d2 + (1 - y) * (1.0 - d2.sqrt()).clamp_min(0) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

    pseudo = PseudoSiameseNetwork.from_encoder(_mlp())
    train(pseudo)
    gap = sum(
        (pa - pb).abs().sum().item()
        for pa, pb in zip(pseudo.encoder_a.parameters(), pseudo.encoder_b.parameters(), strict=True)
    )
    assert gap > 1e-3
    x = torch.rand(4, 6)
    assert not torch.allclose(pseudo.embed(x, "a"), pseudo.embed(x, "b"))

    siamese = SiameseNetwork(_mlp())
    train(siamese)
    z1, z2 = siamese(x, x)
    torch.testing.assert_close(z1, z2)  # one encoder: identical inputs, identical embeddings


def test_pseudo_siamese_from_encoder_reinit():
    pseudo = PseudoSiameseNetwork.from_encoder(_mlp(), same_init=False)
    x = torch.rand(3, 6)
    assert not torch.allclose(pseudo.embed(x, "a"), pseudo.embed(x, "b"))


# ------------------------------------------------------------------------------- classifier head
def test_siamese_classifier_matches_koch_formula():
    torch.manual_seed(0)
    enc = _mlp()
    clf = SiameseClassifier(enc)
    x1, x2 = torch.rand(5, 6), torch.rand(5, 6)
    z1, z2 = enc(x1), enc(x2)
    w, b = clf.head.weight.squeeze(0), clf.head.bias
    expected = (z1 - z2).abs() @ w + b  # (5,)
    torch.testing.assert_close(clf(x1, x2), expected)
    torch.testing.assert_close(clf(x2, x1), expected)  # symmetric
    torch.testing.assert_close(clf.predict_proba(x1, x2), torch.sigmoid(expected))
    torch.testing.assert_close(clf.logits_from_embeddings(z1, z2), expected)
    assert clf.predict_proba(x1, x2).requires_grad is False
    # the head has D weights and one bias on top of the encoder
    assert count_parameters(clf) == count_parameters(enc) + 4 + 1


def test_siamese_classifier_embedding_dim_and_validation():
    seq = nn.Sequential(nn.Flatten(), nn.ReLU())
    with pytest.raises(ValueError, match="embedding_dim"):
        SiameseClassifier(seq)
    clf = SiameseClassifier(seq, embedding_dim=6)
    assert clf(torch.rand(2, 6), torch.rand(2, 6)).shape == (2,)
    with pytest.raises(ValueError, match="z1 and z2"):
        clf.logits_from_embeddings(torch.rand(2, 5), torch.rand(2, 5))


# ------------------------------------------------------------------------------- dual stream
@pytest.mark.parametrize(
    "fusion,fused", [("concat", 9), ("product", 4), ("absdiff", 4), ("bilinear", 4)]
)
def test_dual_stream_fusions(fusion, fused):
    torch.manual_seed(0)
    ea = MLPEncoder(6, 8, out_dim=4)
    eb = MLPEncoder(3, 8, out_dim=5 if fusion in ("concat", "bilinear") else 4)
    net = DualStreamNetwork(ea, eb, fusion=fusion, out_dim=1)
    xa, xb = torch.rand(7, 6), torch.rand(7, 3)
    za, zb = ea(xa), eb(xb)
    h = net.fuse(za, zb)
    assert h.shape == (7, fused) == (7, net.fused_dim)
    if fusion == "concat":
        torch.testing.assert_close(h, torch.cat([za, zb], 1))
    elif fusion == "product":
        torch.testing.assert_close(h, za * zb)
    elif fusion == "absdiff":
        torch.testing.assert_close(h, (za - zb).abs())
    else:  # h_k = za^T W_k zb + c_k
        W, c = net.bilinear.weight, net.bilinear.bias
        torch.testing.assert_close(h, torch.einsum("ni,kij,nj->nk", za, W, zb) + c)
    out = net(xa, xb)
    assert out.shape == (7,)
    torch.testing.assert_close(out, net.head(h).squeeze(1))


def test_dual_stream_multi_output_and_candidates():
    torch.manual_seed(0)
    net = DualStreamNetwork(MLPEncoder(6, out_dim=4), MLPEncoder(3, out_dim=4), "concat", 3, 0)
    assert net(torch.rand(2, 6), torch.rand(2, 3)).shape == (2, 3)
    net1 = DualStreamNetwork(MLPEncoder(6, out_dim=4), MLPEncoder(3, out_dim=4), "product")
    q, cands = torch.rand(1, 6), torch.rand(5, 3)
    scores = net1.score_candidates(q, cands)
    looped = torch.stack([net1(q, cands[i : i + 1])[0] for i in range(5)])
    torch.testing.assert_close(scores, looped)
    with pytest.raises(ValueError, match="batch size 1"):
        net1.score_candidates(torch.rand(2, 6), cands)


@pytest.mark.parametrize("fusion", ["product", "absdiff"])
def test_dual_stream_equal_dims_required(fusion):
    with pytest.raises(ValueError, match="equal size"):
        DualStreamNetwork(MLPEncoder(6, out_dim=4), MLPEncoder(3, out_dim=5), fusion=fusion)


def test_dual_stream_rejects_unknown_fusion():
    with pytest.raises(ValueError, match="fusion must be one of"):
        DualStreamNetwork(MLPEncoder(6, out_dim=4), MLPEncoder(3, out_dim=4), fusion="sum")


# ------------------------------------------------------------------------------- two tower
@torch.no_grad()
def test_two_tower_scores_are_dot_products():
    torch.manual_seed(0)
    users, items = MLPEncoder(5, out_dim=4), MLPEncoder(7, out_dim=4)
    tt = TwoTower(users, items)
    u, it = torch.rand(3, 5), torch.rand(10, 7)
    S = tt.score(u, it)
    assert S.shape == (3, 10)
    looped = torch.tensor(
        [
            [float(users(u[a : a + 1])[0] @ items(it[b : b + 1])[0]) for b in range(10)]
            for a in range(3)
        ]
    )
    torch.testing.assert_close(S, looped)
    zi = tt.embed_items(it, batch_size=3)  # chunked == all at once
    torch.testing.assert_close(zi, items(it))
    torch.testing.assert_close(tt.score_embeddings(tt.embed_users(u), zi), S)
    torch.testing.assert_close(tt(u, it[:3]), S.diagonal())
    top = tt.recommend(u, zi, k=2)
    torch.testing.assert_close(top, S.topk(2, dim=1).indices)
    with pytest.raises(ValueError, match="k must be <="):
        tt.recommend(u, zi, k=11)


def test_two_tower_normalize_gives_cosine_scores():
    torch.manual_seed(0)
    tt = TwoTower(MLPEncoder(5, out_dim=4), MLPEncoder(7, out_dim=4), normalize=True)
    S = tt.score(torch.rand(3, 5), torch.rand(6, 7))
    assert S.abs().max() <= 1 + 1e-6
    with pytest.raises(ValueError, match="zu and zi"):
        tt.score_embeddings(torch.rand(2, 4), torch.rand(3, 5))
