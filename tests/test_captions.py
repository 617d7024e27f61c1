"""Captioned digits and the caption tokenizer (cl_lessons/data/captions.py)."""

from __future__ import annotations

import pytest
import torch

from cl_lessons.data import CaptionedDigits, CaptionTokenizer, compose_caption
from cl_lessons.data.captions import DIGIT_NAMES, FACTORS, PHRASES, caption_words


@pytest.fixture(scope="module")
def ds():
    return CaptionedDigits(copies=1, captions_per_image=3, seed=0)


def test_shapes_and_factors(ds):
    n = 1797
    assert ds.images.shape == (n, 1, 16, 16) and ds.images.dtype == torch.float32
    assert 0.0 <= float(ds.images.min()) and float(ds.images.max()) <= 1.0
    assert torch.equal(ds.labels, ds.factors["digit"])
    for name, values in FACTORS.items():
        assert set(ds.factors[name].unique().tolist()) == set(range(len(values))), name
    assert len(ds.captions) == n and all(len(c) == 3 for c in ds.captions)


def test_split_holds_out_sources_and_combinations(ds):
    train, test, novel = ds.mask("train"), ds.mask("test"), ds.mask("novel")
    assert not bool((train & test).any() or (train & novel).any() or (test & novel).any())
    # held-out images are handwriting never seen in training
    assert not set(ds.source[train].tolist()) & set(ds.source[test | novel].tolist())
    pairs = set(zip(ds.labels.tolist(), ds.factors["tilt"].tolist(), strict=True))
    train_pairs = set(
        zip(ds.labels[train].tolist(), ds.factors["tilt"][train].tolist(), strict=True)
    )
    novel_pairs = set(
        zip(ds.labels[novel].tolist(), ds.factors["tilt"][novel].tolist(), strict=True)
    )
    assert novel_pairs == ds.held_out_pairs and not train_pairs & ds.held_out_pairs
    assert train_pairs | ds.held_out_pairs == pairs  # every other combination is trained on
    # every digit and every tilt is still seen in training, just not every pair of them
    assert set(ds.labels[train].tolist()) == set(range(10))
    assert set(ds.factors["tilt"][train].tolist()) == {0, 1, 2}
    share = float(test.sum() + novel.sum()) / len(ds)
    assert 0.2 < share < 0.3


def test_same_seed_same_data_other_seed_other_data():
    a, b = CaptionedDigits(copies=1, seed=3), CaptionedDigits(copies=1, seed=3)
    c = CaptionedDigits(copies=1, seed=4)
    assert torch.equal(a.images, b.images) and a.captions == b.captions and a.split == b.split
    assert not torch.equal(a.images, c.images)


def test_factors_change_the_images(ds):
    ink = ds.images.sum((1, 2, 3))  # (N,)
    thick = ds.factors["stroke"] == 1
    assert float(ink[thick].mean()) > 1.2 * float(ink[~thick].mean())
    cols = torch.arange(16, dtype=torch.float32)
    centre_x = (ds.images.sum((1, 2)) * cols).sum(1) / ds.images.sum((1, 2, 3))  # (N,)
    pos = ds.factors["position"]
    means = [float(centre_x[pos == p].mean()) for p in range(3)]
    assert means[0] + 1.5 < means[1] < means[2] - 1.5  # left, centre, right


def test_captions_describe_their_image(ds):
    tok = CaptionTokenizer()
    for i in range(0, len(ds), 97):
        for caption in ds.captions[i]:
            words = tok.split(caption)
            digit = int(ds.labels[i])
            assert DIGIT_NAMES[digit] in words or str(digit) in words, caption
            assert tok.unknown_words(caption) == []
            tilt = PHRASES["tilt"][int(ds.factors["tilt"][i])]
            others = [p for j, g in enumerate(PHRASES["tilt"]) if j != ds.factors["tilt"][i]
                      for p in g]  # fmt: skip
            assert not any(p in caption for p in others if p not in tilt), caption


def test_compose_caption_phrasings_and_mentions():
    gen = torch.Generator().manual_seed(0)
    factors = {"digit": 7, "tilt": 0, "position": 2, "stroke": 1}
    captions = {compose_caption(factors, gen) for _ in range(300)}
    assert len(captions) > 50  # several phrasings and orders
    assert all("seven" in c or "7" in c for c in captions)
    assert {compose_caption(factors, gen, mention=0.0) for _ in range(50)} <= {
        f"{a} {n}" for a in ("a", "the") for n in
        ("seven", "7", "digit seven", "number seven", "handwritten seven")
    }  # fmt: skip
    with pytest.raises(ValueError, match="tilt"):
        compose_caption({**factors, "tilt": 3})
    with pytest.raises(ValueError, match="digit"):
        compose_caption({"tilt": 0, "position": 0, "stroke": 0})
    with pytest.raises(ValueError, match="mention"):
        compose_caption(factors, mention=1.5)


def test_tokenizer_pad_unk_and_round_trip():
    tok = CaptionTokenizer(length=8)
    assert tok.vocab[:2] == ["<pad>", "<unk>"] and tok.vocab_size == len(caption_words()) + 2
    ids = tok.encode(["A thick SEVEN, tilted left", "a photo of a seven"])
    assert ids.shape == (2, 8) and ids.dtype == torch.int64
    assert tok.decode(ids) == [
        "a thick seven tilted left",
        "a <unk> <unk> a seven",
    ]
    assert tok.unknown_words("a photo of a seven") == ["photo", "of"]
    assert int((ids[0] == 0).sum()) == 3  # padded with <pad> = 0
    assert tok.encode("one two three four five six seven eight nine").shape == (1, 8)  # cut


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: CaptionTokenizer().encode([]), "texts"),
        (lambda: CaptionTokenizer().encode(["..."]), r"texts\[0\]"),
        (lambda: CaptionTokenizer().encode([3]), "text"),
        (lambda: CaptionTokenizer(words="abc"), "words"),
        (lambda: CaptionTokenizer(length=0), "length"),
        (lambda: CaptionedDigits(copies=0), "copies"),
        (lambda: CaptionedDigits(size=8), "size"),
        (lambda: CaptionedDigits(test_fraction=1.0), "test_fraction"),
        (lambda: CaptionedDigits(seed=-1), "seed"),
        (lambda: CaptionedDigits(copies=1).mask("val"), "part"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
